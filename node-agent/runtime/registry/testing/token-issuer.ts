/**
 * A tiny token issuer for distribution's `auth: token:` mode, for tests: GET /token with Basic
 * credentials answers an RS256 JWT (with the signing certificate in `x5c`, which the registry checks
 * against its rootcertbundle) granting the scopes asked for to a known user, and 401 to anyone else.
 */
import { createPrivateKey, randomBytes, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { pemToDerBase64 } from "./certs.js";

export interface TokenIssuer {
  realm: string;
  service: string;
  issuer: string;
  /** Scope lists of the token requests answered so far, one entry per request. */
  requests: string[][];
  close(): Promise<void>;
}

/** The registry config's `auth:` section trusting `issuer`, whose certificate is `certFile`. */
export function tokenAuthConfig(issuer: TokenIssuer, certFile: string): string {
  return [
    "  token:",
    `    realm: ${issuer.realm}`,
    `    service: ${issuer.service}`,
    `    issuer: ${issuer.issuer}`,
    `    rootcertbundle: ${certFile}`,
  ].join("\n");
}

export async function startTokenIssuer(options: {
  cert: string;
  key: string;
  user: string;
  password: string;
  /** Token lifetime in seconds. */
  expiresIn?: number;
}): Promise<TokenIssuer> {
  const key = createPrivateKey(readFileSync(options.key));
  const x5c = [pemToDerBase64(options.cert)];
  const service = "kctl-test-registry";
  const issuer = "kctl-test-issuer";
  const requests: string[][] = [];
  const expected = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString("base64")}`;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (url.pathname !== "/token" || req.headers.authorization !== expected) {
      res.writeHead(401, { "Content-Type": "application/json" }).end('{"details":"bad credentials"}');
      return;
    }
    const scopes = url.searchParams.getAll("scope");
    requests.push(scopes);
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(":");
      const actions = rest.pop()!.split(",");
      return { type, name: rest.join(":"), actions };
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresIn ?? 300;
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const head = b64({ alg: "RS256", typ: "JWT", x5c });
    const claims = b64({
      iss: issuer,
      sub: options.user,
      aud: url.searchParams.get("service") ?? service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString("hex"),
      access,
    });
    const signature = sign("sha256", Buffer.from(`${head}.${claims}`), key).toString("base64url");
    res
      .writeHead(200, { "Content-Type": "application/json" })
      .end(JSON.stringify({ token: `${head}.${claims}.${signature}`, expires_in: expiresIn }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
