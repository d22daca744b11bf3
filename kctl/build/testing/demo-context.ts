/**
 * The build context the builder's tests, its comparison with buildah and its benchmark share: a
 * multi-stage Dockerfile on a busybox base that compiles nothing but uses ARG (before and after
 * FROM), WORKDIR, COPY (context, glob, --from, --chown by name, --chmod), .dockerignore, RUN in
 * the busybox shell, ENV with a continuation, USER, EXPOSE, LABEL and CMD. Running the image
 * prints each effect: {@link DEMO_OUTPUT}.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export function demoDockerfile(base: string): string {
  return `# syntax=docker/dockerfile:1
ARG BASE=${base}
FROM $BASE AS builder
ARG GREETING=hello
WORKDIR /src
COPY app/ ./
RUN echo "$GREETING from $(cat name.txt)" > greeting.txt && rm name.txt
RUN echo "app:x:1234:1234::/home/app:/bin/sh" >> /etc/passwd

FROM \${BASE}
ARG PORT=8080
ENV PORT=$PORT \\
    MODE=production
COPY --from=builder /etc/passwd /etc/passwd
COPY --from=builder --chown=app --chmod=640 /src/greeting.txt /srv/
COPY app/*.conf /etc/app/
WORKDIR /srv
USER app
EXPOSE $PORT
LABEL org.example.title="demo app"
CMD ["sh", "-c", "cat greeting.txt; id -u; pwd; echo $PORT $MODE; ls /etc/app"]
`;
}

export const DEMO_OUTPUT = "hello from kctl\n1234\n/srv\n8080 production\na.conf\nb.conf\n";

/** Writes the context into `dir` (Dockerfile included) and returns the Dockerfile's text. */
export async function writeDemoContext(dir: string, base: string): Promise<string> {
  await mkdir(join(dir, "app"), { recursive: true });
  await writeFile(join(dir, "app", "name.txt"), "kctl\n");
  await writeFile(join(dir, "app", "a.conf"), "a\n");
  await writeFile(join(dir, "app", "b.conf"), "b\n");
  await writeFile(join(dir, "app", "secret.conf"), "do not copy\n");
  await writeFile(join(dir, ".dockerignore"), "app/secret.conf\n");
  const dockerfile = demoDockerfile(base);
  await writeFile(join(dir, "Dockerfile"), dockerfile);
  return dockerfile;
}
