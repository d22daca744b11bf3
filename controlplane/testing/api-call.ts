/**
 * One HTTPS request to a test control plane's apiserver as a given identity (a bearer token or a
 * client certificate), for integration tests of authentication and authorization.
 */
import { request } from "node:https";
import type { KeyPair } from "../../foundation/pki/pki.js";

export interface Reply {
  status: number;
  body: { message?: string; [k: string]: unknown };
}

export type Who = { token: string } | { cert: KeyPair };

export function apiCall(
  target: { apiUrl: string; caPem: string },
  who: Who,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    request(
      `${target.apiUrl}${path}`,
      {
        method,
        ca: target.caPem,
        headers: {
          ...("token" in who ? { authorization: `Bearer ${who.token}` } : {}),
          ...(payload ? { "content-type": "application/json" } : {}),
        },
        ...("cert" in who ? { cert: who.cert.certPem, key: who.cert.keyPem } : {}),
      },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => {
          let parsed: Reply["body"] = {};
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON (/metrics)
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    )
      .on("error", reject)
      .end(payload);
  });
}
