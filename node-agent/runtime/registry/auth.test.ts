/** Unit tests of challenge parsing and the token cache, against a fake token issuer on port 0. */
import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Authorizer, parseChallenges } from "./auth.js";
import type { Endpoint } from "./registry-config.js";

describe("parseChallenges", () => {
  it("parses bearer parameters, quoted or not, and several challenges", () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push", Basic realm=x',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.example.com/token",
          service: "registry.example.com",
          scope: "repository:a/b:pull,push",
        },
      },
      { scheme: "basic", params: { realm: "x" } },
    ]);
    expect(parseChallenges('Basic realm="a \\"quoted\\" realm"')).toEqual([
      { scheme: "basic", params: { realm: 'a "quoted" realm' } },
    ]);
    expect(parseChallenges("")).toEqual([]);
  });
});

describe("Authorizer", () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((r) => server?.close(r));
  });

  it("caches a token per scope until shortly before it expires", async () => {
    const asked: string[] = [];
    server = createServer((req, res) => {
      asked.push(`${req.url} ${req.headers.authorization ?? "-"}`);
      res.end(JSON.stringify({ access_token: `t${asked.length}`, expires_in: 60 }));
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const realm = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`;
    let now = 1_000_000;
    const auth = new Authorizer(
      () => ({ username: "u", password: "p" }),
      5_000,
      () => now,
    );
    const endpoint: Endpoint = {
      base: "https://r.example",
      registry: "r.example",
      ca: undefined,
      mirror: false,
    };
    const challenge = `Bearer realm="${realm}",service="svc"`;
    const pull = ["repository:a:pull"];

    expect(auth.cached(endpoint, pull)).toBeUndefined();
    expect(await auth.authorize(endpoint, challenge, pull, {})).toBe("Bearer t1");
    expect(auth.cached(endpoint, pull)).toBe("Bearer t1");
    expect(auth.cached(endpoint, ["repository:a:pull,push"])).toBeUndefined();
    expect(asked).toEqual([
      `/token?service=svc&scope=repository%3Aa%3Apull Basic ${Buffer.from("u:p").toString("base64")}`,
    ]);
    now += 54_000;
    expect(auth.cached(endpoint, pull)).toBe("Bearer t1");
    now += 2_000;
    expect(auth.cached(endpoint, pull)).toBeUndefined();
  });

  it("never serves a token got with one identity to a request with other credentials or none", async () => {
    let issued = 0;
    server = createServer((_req, res) => res.end(JSON.stringify({ token: `t${++issued}` })));
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const realm = `http://127.0.0.1:${(server.address() as { port: number }).port}/token`;
    let creds: { username: string; password: string } | undefined = { username: "a", password: "secret" };
    const auth = new Authorizer(() => creds, 5_000);
    const endpoint: Endpoint = {
      base: "https://r.example",
      registry: "r.example",
      ca: undefined,
      mirror: false,
    };
    const pull = ["repository:private/app:pull"];
    expect(await auth.authorize(endpoint, `Bearer realm="${realm}"`, pull, {})).toBe("Bearer t1");
    expect(auth.cached(endpoint, pull)).toBe("Bearer t1");
    creds = undefined;
    expect(auth.cached(endpoint, pull)).toBeUndefined();
    creds = { username: "a", password: "guess" };
    expect(auth.cached(endpoint, pull)).toBeUndefined();
  });

  it("exchanges an identity token (OAuth2 refresh token) by POST", async () => {
    const posted: string[] = [];
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => {
        body += d.toString();
      });
      req.on("end", () => {
        posted.push(`${req.method} ${req.url} ${req.headers["content-type"]} ${body}`);
        res.end(JSON.stringify({ access_token: "from-refresh", expires_in: 300 }));
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const realm = `http://127.0.0.1:${(server.address() as { port: number }).port}/oauth2/token`;
    const auth = new Authorizer(() => ({ identityToken: "refresh-me" }), 5_000);
    const endpoint: Endpoint = {
      base: "https://r.example",
      registry: "r.example",
      ca: undefined,
      mirror: false,
    };
    const header = await auth.authorize(
      endpoint,
      `Bearer realm="${realm}",service="svc"`,
      ["repository:a:pull"],
      {},
    );
    expect(header).toBe("Bearer from-refresh");
    expect(posted).toEqual([
      "POST /oauth2/token application/x-www-form-urlencoded " +
        "grant_type=refresh_token&refresh_token=refresh-me&client_id=kctl&scope=repository%3Aa%3Apull&service=svc",
    ]);
  });

  it("refuses a challenge it cannot answer, naming the endpoint", async () => {
    const auth = new Authorizer(() => undefined, 5_000);
    const endpoint: Endpoint = {
      base: "https://r.example",
      registry: "r.example",
      ca: undefined,
      mirror: false,
    };
    await expect(auth.authorize(endpoint, undefined, [], {})).rejects.toThrow(
      "https://r.example: 401 with no usable challenge (WWW-Authenticate: missing)",
    );
    await expect(auth.authorize(endpoint, 'Basic realm="x"', [], {})).rejects.toThrow(
      "asks for Basic credentials and none are configured for r.example",
    );
  });
});
