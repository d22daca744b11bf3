/**
 * Services beyond ClusterIP on a three-host lab: headless DNS (the Service's A records and per-pod
 * `hostname.subdomain` names) and an ExternalName CNAME resolved from a pod with busybox nslookup,
 * EndpointSlices through stock kubectl, a LoadBalancer address answering the lab gateway (outside
 * the pod network) and moving to another host when its announcer is cut off, and
 * `externalTrafficPolicy: Local` showing the gateway its own address, and the ingress of
 * manifests/ingress-haproxy.yaml (its HAProxy image pushed to the lab registry) routing hosts and a
 * TLS host through its LoadBalancer address. Bad input is refused naming the field. Short failure
 * detection (6 s grace) so failover fits the test.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { componentsFor } from "../kctl/lab/components.js";
import { runCommand } from "../kctl/lab/run-command.js";
import { kctlMain } from "./support/kctl-process.js";
import {
  downLab,
  eventually,
  isRoot,
  type LabCluster,
  startLabCluster,
  withControlPlaneFlags,
  withLoadBalancerPool,
} from "./support/lab-cluster.js";

const image = "kctl.local/busybox:debian";

/** busybox httpd on 8080 answering its pod name at / and the client's address at /cgi-bin/ip. */
const echoServer = [
  "sh",
  "-c",
  [
    "mkdir -p /www/cgi-bin",
    'echo "$POD_NAME" > /www/index.html',
    `printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho "$REMOTE_ADDR"\\n' > /www/cgi-bin/ip`,
    "chmod +x /www/cgi-bin/ip",
    "exec httpd -f -p 8080 -h /www",
  ].join(" && "),
];

function deployment(name: string, replicas: number): object {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "svc" },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "httpd",
              image,
              imagePullPolicy: "IfNotPresent",
              command: echoServer,
              env: [{ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
              ports: [{ name: "http", containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

/** A pod named by `hostname` under the headless Service `peers` (as a StatefulSet's would be). */
function peer(name: string): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "svc", labels: { app: "peers" } },
    spec: {
      hostname: name,
      subdomain: "peers",
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "httpd",
          image,
          imagePullPolicy: "IfNotPresent",
          command: echoServer,
          env: [{ name: "POD_NAME", value: name }],
          ports: [{ name: "http", containerPort: 8080 }],
        },
      ],
    },
  };
}

function service(name: string, spec: object): object {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "svc" }, spec };
}

const kubectlPath = "/usr/bin/kubectl";

describe.skipIf(!isRoot)("Services on a three-host lab", { timeout: 300_000 }, () => {
  let lab: LabCluster;
  let pool: string[];

  const json = async <T>(...args: string[]): Promise<T> =>
    JSON.parse((await lab.kctl(...args, "-o", "json")).stdout) as T;
  const podIP = async (name: string) =>
    (await json<{ status?: { podIP?: string } }>("get", "pod", name, "-n", "svc")).status?.podIP;
  /** Runs in the lab namespace: the gateway, outside the pod network. */
  const fromGateway = (...argv: string[]) =>
    runCommand(["ip", "netns", "exec", lab.state.labNamespace!, ...argv]);
  const gatewayGet = (url: string) => fromGateway("timeout", "3", "busybox", "wget", "-q", "-O-", url);
  const lbAddress = (name: string) =>
    eventually(`${name} gets an address`, async () => {
      const svc = await json<{ status?: { loadBalancer?: { ingress?: { ip: string }[] } } }>(
        "get",
        "service",
        name,
        "-n",
        "svc",
      );
      return svc.status?.loadBalancer?.ingress?.[0]?.ip;
    });
  /** The hosts whose interface holds `ip` (the announcer). */
  const announcers = async (ip: string) => {
    const holders: string[] = [];
    for (const n of lab.state.nodes) {
      if ((await lab.onNode(n.name, "ip", "-4", "-o", "addr", "show")).stdout.includes(` ${ip}/32 `))
        holders.push(n.name);
    }
    return holders;
  };

  beforeAll(async () => {
    const base = withControlPlaneFlags(
      componentsFor("all"),
      "--node-monitor-grace-period",
      "6",
      "--pod-eviction-timeout",
      "4",
    );
    // Addresses on the hosts' segment, above the hosts' own (.11-.13): the gateway reaches them by
    // ARP. The control plane starts with them (--load-balancer-pool), which writes the pool ConfigMap.
    const poolOf = (gateway: string) => {
      const prefix = gateway.split(".").slice(0, 3).join(".");
      return [`${prefix}.200`, `${prefix}.201`, `${prefix}.202`];
    };
    const rangeOf = (addresses: string[]) => `${addresses[0]}-${addresses.at(-1)}`;
    const components = withLoadBalancerPool(base, (gateway) => rangeOf(poolOf(gateway)));
    lab = await startLabCluster("svc", 3, components);
    pool = poolOf(lab.state.addresses!.gateway);
    const seeded = await json<{ data: Record<string, string> }>(
      "get",
      "configmap",
      "load-balancer-pool",
      "-n",
      "kube-system",
    );
    expect(seeded.data).toEqual({ addresses: rangeOf(pool) });
    const manifests = [
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "svc" } },
      deployment("web", 3),
      deployment("one", 1),
      peer("alpha"),
      peer("beta"),
      service("peers", {
        clusterIP: "None",
        selector: { app: "peers" },
        ports: [{ name: "http", port: 80, targetPort: 8080 }],
      }),
      service("upstream", { type: "ExternalName", externalName: "db.example.com" }),
      service("web-lb", {
        type: "LoadBalancer",
        selector: { app: "web" },
        ports: [{ port: 80, targetPort: 8080 }],
      }),
      service("one-local", {
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        selector: { app: "one" },
        ports: [{ port: 80, targetPort: 8080 }],
      }),
    ];
    const applied = await lab.apply(manifests.map((m) => JSON.stringify(m)).join("\n---\n"));
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    await eventually(
      "every pod Running",
      async () => {
        const pods = await json<{ items: { status?: { phase?: string } }[] }>("get", "pods", "-n", "svc");
        return pods.items.length === 6 && pods.items.every((p) => p.status?.phase === "Running")
          ? true
          : undefined;
      },
      120_000,
    );
  }, 280_000);
  afterAll(downLab(() => lab));

  const nslookup = (name: string) => lab.kctl("exec", "alpha", "-n", "svc", "--", "nslookup", name);

  it("resolves a headless Service to its pods and each pod by hostname.subdomain, from a pod", async () => {
    const [alpha, beta] = [await podIP("alpha"), await podIP("beta")];
    const all = await eventually("peers has both pods", async () => {
      const out = (await nslookup("peers.svc.svc.cluster.local")).stdout;
      return out.includes(alpha!) && out.includes(beta!) ? out : undefined;
    });
    expect(all).toContain(alpha);
    const one = await nslookup("beta.peers.svc.svc.cluster.local");
    expect(one.stdout).toContain(beta);
    expect(one.stdout).not.toContain(alpha);
    // A pod's own name under the subdomain, asked from that very pod.
    expect((await nslookup("alpha.peers.svc.svc.cluster.local")).stdout).toContain(alpha);
  });

  it("answers an ExternalName Service with a CNAME", async () => {
    const out = await nslookup("upstream.svc.svc.cluster.local");
    expect(out.stdout).toMatch(/canonical name = db\.example\.com/);
  });

  it.skipIf(!existsSync(kubectlPath))("lists EndpointSlices through stock kubectl", async () => {
    const out = await eventually("web's slice has 3 endpoints", async () => {
      const res = await new Promise<string>((resolve) =>
        execFile(
          kubectlPath,
          [
            "--kubeconfig",
            lab.config,
            "get",
            "endpointslices",
            "-n",
            "svc",
            "-l",
            "kubernetes.io/service-name=web-lb",
          ],
          { timeout: 30_000 },
          (_err, stdout, stderr) => resolve(stdout + stderr),
        ),
      );
      return /IPv4\s+8080\s+\S+,\S+,\S+/.test(res) ? res : undefined;
    });
    expect(out).toMatch(/NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE/);
    expect(out).toMatch(/^web-lb-[b-z2-9]{5}\s+IPv4/m);
  });

  it("keeps the client's address with externalTrafficPolicy Local", async () => {
    const ip = await lbAddress("one-local");
    const seen = await eventually("one-local answers the gateway", async () => {
      const res = await gatewayGet(`http://${ip}/cgi-bin/ip`);
      return res.code === 0 ? res.stdout.trim() : undefined;
    });
    // busybox httpd writes IPv4 clients as mapped IPv6 addresses.
    expect(seen.replace(/^\[::ffff:(.*)\]$/, "$1")).toBe(lab.state.addresses!.gateway);
    // Announced by the one host running the pod.
    const pods = await json<{ items: { spec: { nodeName: string } }[] }>(
      "get",
      "pods",
      "-n",
      "svc",
      "-l",
      "app=one",
    );
    const home = pods.items[0]!.spec.nodeName;
    expect(await announcers(ip)).toEqual([home]);
    // Its healthCheckNodePort answers on every host: 200 where the pod runs, 503 elsewhere.
    const svc = await json<{ spec: { healthCheckNodePort: number } }>(
      "get",
      "service",
      "one-local",
      "-n",
      "svc",
    );
    const port = svc.spec.healthCheckNodePort;
    for (const n of lab.state.nodes) {
      const res = await fromGateway(
        "timeout",
        "3",
        "busybox",
        "wget",
        "-S",
        "-q",
        "-O-",
        `http://${n.address}:${port}/healthz`,
      );
      const want = n.name === home ? "200 OK" : "503";
      expect(res.stderr, n.name).toContain(`HTTP/1.1 ${want}`);
      if (n.name === home) {
        expect(JSON.parse(res.stdout)).toEqual({
          service: { namespace: "svc", name: "one-local" },
          localEndpoints: 1,
          serviceProxyHealthy: true,
        });
      }
    }
  });

  it("routes two hosts and a TLS host through the ingress's LoadBalancer address, without a failed request through a rolling update", {
    timeout: 420_000,
  }, async () => {
    // The HAProxy image, built from Debian's haproxy on this host and pushed to the lab registry.
    const scratch = await mkdtemp(join(tmpdir(), "kctl-e2e-ingress-"));
    try {
      const kctlHere = (...argv: string[]) => runCommand([process.execPath, kctlMain, ...argv]);
      expect((await kctlHere("image", "haproxy", "--state-dir", scratch)).stderr).toBe("");
      const remote = `${lab.state.registry}/kctl/haproxy:debian`;
      const pushed = await kctlHere(
        "image",
        "push",
        "kctl.local/haproxy:debian",
        remote,
        "--plain-http",
        "--state-dir",
        scratch,
      );
      expect(pushed.stderr).toBe("");
      const manifest = await readFile(
        join(import.meta.dirname, "..", "manifests", "ingress-haproxy.yaml"),
        "utf8",
      );
      const installed = await lab.apply(
        manifest.replace("image: kctl.local/haproxy:debian", `image: ${remote}`),
      );
      expect(installed.stderr).toBe("");

      // A certificate for secure.example, which the client below trusts.
      const [key, crt] = [join(scratch, "tls.key"), join(scratch, "tls.crt")];
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-keyout",
          key,
          "-out",
          crt,
          "-subj",
          "/CN=secure.example",
          "-addext",
          "subjectAltName=DNS:secure.example",
        ],
        { stdio: "ignore" },
      );
      const b64 = async (f: string) => (await readFile(f)).toString("base64");
      const rule = (host: string, svc: string) => ({
        host,
        http: {
          paths: [
            { path: "/", pathType: "Prefix", backend: { service: { name: svc, port: { number: 80 } } } },
          ],
        },
      });
      const applied = await lab.apply(
        [
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: "secure-tls", namespace: "svc" },
            type: "kubernetes.io/tls",
            data: { "tls.crt": await b64(crt), "tls.key": await b64(key) },
          },
          {
            apiVersion: "networking.k8s.io/v1",
            kind: "Ingress",
            metadata: { name: "front", namespace: "svc" },
            spec: {
              tls: [{ hosts: ["secure.example"], secretName: "secure-tls" }],
              rules: [
                rule("web.example", "web-lb"),
                rule("one.example", "one-local"),
                rule("secure.example", "web-lb"),
              ],
            },
          },
        ]
          .map((m) => JSON.stringify(m))
          .join("\n---\n"),
      );
      expect(applied.stderr).toBe("");

      const ip = await eventually(
        "the Ingress shows the ingress's address",
        async () => {
          const ing = await json<{ status?: { loadBalancer?: { ingress?: { ip: string }[] } } }>(
            "get",
            "ingress",
            "front",
            "-n",
            "svc",
          );
          return ing.status?.loadBalancer?.ingress?.[0]?.ip;
        },
        120_000,
      );
      expect(pool).toContain(ip);
      const curl = (...argv: string[]) =>
        fromGateway(
          "curl",
          "-s",
          "--max-time",
          "3",
          "--cacert",
          crt,
          "--resolve",
          `secure.example:443:${ip}`,
          ...argv,
        );
      const answer = async (...argv: string[]) => {
        const res = await curl(...argv);
        return res.code === 0 ? res.stdout.trim() : undefined;
      };
      // The controller renders each Ingress as it sees it, and the pods read the config from a
      // ConfigMap volume that refreshes on its own period: wait until both hosts are served.
      for (const [host, pod] of [
        ["web.example", "web-"],
        ["one.example", "one-"],
      ] as const) {
        await eventually(
          `${host} reaches ${pod}* through the ingress`,
          async () =>
            (await answer("-H", `Host: ${host}`, `http://${ip}/`))?.startsWith(pod) ? true : undefined,
          180_000,
        );
      }
      // The load balancer may have sent every request above to one of the controller's two pods,
      // and each pod's config volume refreshes on its own: wait until each pod itself serves both.
      const proxies = await json<{ items: { status: { podIP?: string } }[] }>(
        "get",
        "pods",
        "-n",
        "ingress-haproxy",
        "-l",
        "app=haproxy",
      );
      const client = (
        await json<{ items: { metadata: { name: string } }[] }>("get", "pods", "-n", "svc", "-l", "app=web")
      ).items[0]!.metadata.name;
      for (const proxy of proxies.items.map((p) => p.status.podIP!))
        for (const [host, pod] of [
          ["web.example", "web-"],
          ["one.example", "one-"],
        ] as const)
          await eventually(
            `ingress pod ${proxy} routes ${host}`,
            async () => {
              const res = await lab.kctl(
                "exec",
                "-n",
                "svc",
                client,
                "--",
                "wget",
                "-q",
                "-O-",
                "--header",
                `Host: ${host}`,
                `http://${proxy}/`,
              );
              return res.code === 0 && res.stdout.startsWith(pod) ? true : undefined;
            },
            60_000,
          );
      expect(await answer("-H", "Host: one.example", `http://${ip}/`)).toMatch(/^one-/);
      expect(await answer("-H", "Host: web.example", `http://${ip}/`)).toMatch(/^web-/);
      // TLS: the certificate for the SNI name verifies against the CA the client was given.
      expect(
        await eventually("secure.example over TLS", () => answer("https://secure.example/"), 60_000),
      ).toMatch(/^web-/);
      // An unknown host gets the built-in 404.
      const other = await curl(
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "Host: other.example",
        `http://${ip}/`,
      );
      expect(other.stdout).toBe("404");

      // A rolling update of web under steady requests through the ingress: none fails.
      const load = fromGateway(
        "sh",
        "-c",
        `for i in $(seq 400); do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 5 -H 'Host: web.example' http://${ip}/; sleep 0.05; done`,
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect((await lab.kctl("rollout", "restart", "deployment/web", "-n", "svc")).code).toBe(0);
      const rolled = await lab.kctl("rollout", "status", "deployment/web", "-n", "svc", "--timeout", "180s");
      expect(rolled.code).toBe(0);
      const codes = (await load).stdout.trim().split("\n");
      expect(codes.length).toBe(400);
      expect(codes.filter((c) => c !== "200")).toEqual([]);

      // An Ingress naming a missing Service: the controller says so on it, and its host answers 503.
      const broken = await lab.apply(
        JSON.stringify({
          apiVersion: "networking.k8s.io/v1",
          kind: "Ingress",
          metadata: { name: "broken", namespace: "svc" },
          spec: { rules: [rule("broken.example", "nowhere")] },
        }),
      );
      expect(broken.code).toBe(0);
      await eventually("a ServiceNotFound event on the Ingress", async () => {
        const events = (await lab.kctl("get", "events", "-n", "svc")).stdout;
        return /ServiceNotFound\s+ingress\/broken\s+Service svc\/nowhere not found/.test(events)
          ? true
          : undefined;
      });
      await eventually("broken.example answers 503", async () => {
        const res = await curl(
          "-o",
          "/dev/null",
          "-w",
          "%{http_code}",
          "-H",
          "Host: broken.example",
          `http://${ip}/`,
        );
        return res.stdout === "503" ? true : undefined;
      });
      // Bad input at the API: a path without a leading slash, named.
      const relative = await lab.apply(
        JSON.stringify({
          apiVersion: "networking.k8s.io/v1",
          kind: "Ingress",
          metadata: { name: "relative", namespace: "svc" },
          spec: {
            rules: [
              {
                http: {
                  paths: [
                    {
                      path: "cart",
                      pathType: "Prefix",
                      backend: { service: { name: "web-lb", port: { number: 80 } } },
                    },
                  ],
                },
              },
            ],
          },
        }),
      );
      expect(relative.code).not.toBe(0);
      expect(relative.stderr).toContain("spec.rules[0].http.paths[0].path");
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it("answers a LoadBalancer address from the gateway, and moves it when its host is cut off", async () => {
    const ip = await lbAddress("web-lb");
    expect(pool).toContain(ip);
    const [first, ...more] = await eventually("one host announces", async () => {
      const holders = await announcers(ip);
      return holders.length > 0 ? holders : undefined;
    });
    expect(more).toEqual([]);
    await eventually("the gateway reaches web-lb", async () =>
      (await gatewayGet(`http://${ip}/`)).code === 0 ? true : undefined,
    );

    // Cut the announcer off the segment: it goes NotReady, and another host takes the address.
    expect((await lab.onNode(first!, "ip", "link", "set", "eth0", "down")).code).toBe(0);
    const second = await eventually(
      "another host announces",
      async () => (await announcers(ip)).find((n) => n !== first),
      60_000,
    );
    expect(second).not.toBe(first);
    const answered = await eventually(
      "the gateway reaches web-lb again",
      async () => {
        const res = await gatewayGet(`http://${ip}/`);
        return res.code === 0 ? res.stdout.trim() : undefined;
      },
      60_000,
    );
    expect(answered).toMatch(/^web-/);
  });

  it("refuses what it cannot do, naming the field", async () => {
    const v6 = await lab.apply(
      JSON.stringify(
        service("v6", { ipFamilies: ["IPv6"], selector: { app: "web" }, ports: [{ port: 80 }] }),
      ),
    );
    expect(v6.code).not.toBe(0);
    expect(v6.stderr).toContain("spec.ipFamilies[0]");
    const alias = await lab.apply(
      JSON.stringify(service("alias", { type: "ExternalName", externalName: "not_a_name" })),
    );
    expect(alias.code).not.toBe(0);
    expect(alias.stderr).toContain("spec.externalName");
    const hc = await lab.apply(
      JSON.stringify(
        service("hc", {
          type: "NodePort",
          healthCheckNodePort: 30999,
          selector: { app: "web" },
          ports: [{ port: 80 }],
        }),
      ),
    );
    expect(hc.code).not.toBe(0);
    expect(hc.stderr).toContain("spec.healthCheckNodePort");
  });
});
