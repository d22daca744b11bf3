import { describe, expect, it } from "vitest";
import { readDockerfile } from "./instructions.js";

const read = (text: string) => readDockerfile(text, "Dockerfile").instructions;

describe("readDockerfile", () => {
  it("reads every supported instruction", () => {
    const text = [
      "ARG BASE=busybox",
      "FROM --platform=linux/amd64 $BASE AS Build",
      "RUN --network=none echo hi",
      'RUN ["sh", "-c", "echo"]',
      'COPY --from=build --chown=1:2 --chmod=640 a "b c" /dst/',
      "ADD x.tar /",
      'ENV A=1 B="two words"',
      "ENV OLD value with spaces",
      'LABEL "com.x"=y',
      "ARG N M=2",
      "WORKDIR /w",
      "USER app:app",
      "EXPOSE 80 53/udp",
      'VOLUME ["/data"]',
      "ENTRYPOINT /bin/x",
      'CMD ["a"]',
      'SHELL ["/bin/sh", "-ec"]',
      "STOPSIGNAL SIGINT",
      "HEALTHCHECK --interval=5s CMD wget -q localhost",
      "MAINTAINER me",
    ].join("\n");
    expect(read(text)).toEqual([
      { line: 1, kind: "ARG", args: [{ name: "BASE", value: "busybox" }] },
      { line: 2, kind: "FROM", image: "$BASE", stage: "build", platform: "linux/amd64" },
      { line: 3, kind: "RUN", command: { shell: "echo hi" }, network: "none" },
      { line: 4, kind: "RUN", command: { exec: ["sh", "-c", "echo"] } },
      {
        line: 5,
        kind: "COPY",
        sources: ["a", '"b c"'],
        dest: "/dst/",
        from: "build",
        chown: "1:2",
        chmod: "640",
      },
      { line: 6, kind: "ADD", sources: ["x.tar"], dest: "/" },
      {
        line: 7,
        kind: "ENV",
        pairs: [
          ["A", "1"],
          ["B", '"two words"'],
        ],
      },
      { line: 8, kind: "ENV", pairs: [["OLD", "value with spaces"]] },
      { line: 9, kind: "LABEL", pairs: [['"com.x"', "y"]] },
      { line: 10, kind: "ARG", args: [{ name: "N" }, { name: "M", value: "2" }] },
      { line: 11, kind: "WORKDIR", value: "/w" },
      { line: 12, kind: "USER", value: "app:app" },
      { line: 13, kind: "EXPOSE", values: ["80", "53/udp"] },
      { line: 14, kind: "VOLUME", values: ["/data"] },
      { line: 15, kind: "ENTRYPOINT", command: { shell: "/bin/x" } },
      { line: 16, kind: "CMD", command: { exec: ["a"] } },
      { line: 17, kind: "SHELL", shell: ["/bin/sh", "-ec"] },
      { line: 18, kind: "STOPSIGNAL", value: "SIGINT" },
      {
        line: 19,
        kind: "HEALTHCHECK",
        test: ["CMD-SHELL", "wget -q localhost"],
        options: { interval: "5s" },
      },
      { line: 20, kind: "MAINTAINER", value: "me" },
    ]);
  });

  it.each([
    ["FROM a\nONBUILD RUN x", /^Dockerfile:2: ONBUILD: not supported/],
    ["FROM a\nFETCH x", /^Dockerfile:2: FETCH: unknown instruction/],
    ["FROM a\nRUN --mount=type=cache x", /^Dockerfile:2: RUN: flag --mount: not supported/],
    ["FROM a\nCOPY only", /^Dockerfile:2: COPY: needs at least one source/],
    ["FROM a\nCOPY --chmod=u+x a b", /^Dockerfile:2: COPY: --chmod=u\+x: must be an octal mode/],
    ["FROM a\nADD https://example.org/x /", /^Dockerfile:2: ADD: sources from URLs/],
    ["FROM a\nSHELL sh -c", /^Dockerfile:2: SHELL: must be a JSON list/],
    ["FROM a b c", /^Dockerfile:1: FROM: expected "FROM IMAGE \[AS NAME\]"/],
    ["RUN x\nFROM a", /^Dockerfile:1: RUN before the first FROM/],
    ["# just a comment\n", /^Dockerfile:1: no FROM instruction/],
    ['FROM a\nENV A="open', /^Dockerfile:2: ENV: unterminated " quote/],
    ["FROM a\nENV LONELY", /^Dockerfile:2: ENV: "LONELY" has no value/],
    ["FROM a\nRUN --network=bridge x", /^Dockerfile:2: RUN: --network=bridge: must be host, none or default/],
  ])("refuses %j", (text, error) => {
    expect(() => read(text)).toThrow(error);
  });
});
