import { describe, expect, it } from "vitest";
import type { Secret } from "../../../proto/gen/api.js";
import { credentialsFromSecrets } from "./image-puller.js";
import { readPullSecrets } from "./pull-secrets.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const secret = (name: string, type: string, data: Record<string, string>): Secret => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: "team" },
  type,
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
});

describe("readPullSecrets", () => {
  const objects = new Map<string, Secret>([
    [
      "json",
      secret("json", "kubernetes.io/dockerconfigjson", {
        ".dockerconfigjson": JSON.stringify({ auths: { "r.example:5000": { auth: b64("a:1") } } }),
      }),
    ],
    [
      "cfg",
      secret("cfg", "kubernetes.io/dockercfg", {
        ".dockercfg": JSON.stringify({ "q.example": { auth: b64("b:2") } }),
      }),
    ],
    ["opaque", secret("opaque", "Opaque", { ".dockerconfigjson": "{}" })],
    ["empty", secret("empty", "kubernetes.io/dockerconfigjson", {})],
  ]);
  const lookup = { secret: async (_ns: string, name: string) => objects.get(name) };

  it("keeps docker config secrets and says why it skipped the others (missing, refused, other types)", async () => {
    const read = await readPullSecrets("team", ["json", "missing", "cfg", "opaque", "empty"], lookup);
    expect(read.secrets.map((s) => [s.name, s.kind])).toEqual([
      ["team/json", ".dockerconfigjson"],
      ["team/cfg", ".dockercfg"],
    ]);
    expect(read.skipped).toEqual([
      "secret team/missing not found",
      "secret team/opaque is of type Opaque, not kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg",
      "secret team/empty has no .dockerconfigjson key",
    ]);
    const refused = await readPullSecrets("team", ["other", "json"], {
      secret: async (ns, name) => {
        if (name === "other") throw new Error(`forbidden: no pod on this node uses secret ${ns}/${name}`);
        return objects.get(name);
      },
    });
    expect(refused.skipped).toEqual([
      "secret team/other could not be read: forbidden: no pod on this node uses secret team/other",
    ]);
    expect(refused.secrets.map((s) => s.name)).toEqual(["team/json"]);
    const creds = credentialsFromSecrets(read.secrets);
    expect(creds.get("r.example:5000")).toMatchObject({ username: "a", password: "1" });
    expect(creds.get("q.example")).toMatchObject({ username: "b", password: "2" });
  });
});
