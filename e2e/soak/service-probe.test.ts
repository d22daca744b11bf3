import { describe, expect, it } from "vitest";
import { endpointsInTable, unansweredFlows } from "./service-probe.js";

describe("failure diagnosis parsers", () => {
  it("reads a Service's endpoints from the host's nft table", () => {
    const table = [
      "table ip kctl {",
      "\tchain svc-1a2b3c4d-soak/web/TCP/http {",
      "\t\tip daddr 10.96.0.9 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade",
      "\t\tnumgen random mod 2 vmap { 0 : goto ep-1a2b3c4d-soak/web/TCP/http__10.244.3.2/8080, 1 : goto ep-1a2b3c4d-soak/web/TCP/http__10.244.1.6/8080 }",
      "\t}",
      "\tchain svc-99999999-soak/webby/TCP/http {",
      "\t\tnumgen random mod 1 vmap { 0 : goto ep-99999999-soak/webby/TCP/http__10.244.9.9/8080 }",
      "\t}",
      "}",
    ].join("\n");
    expect(endpointsInTable(table, "soak/web")).toEqual(["10.244.1.6:8080", "10.244.3.2:8080"]);
    expect(endpointsInTable(table, "soak/api")).toEqual([]);
  });

  it("lists the unanswered and reset connections to the ClusterIP, newest first", () => {
    const conntrack = [
      "tcp      6 110 SYN_SENT src=10.100.0.14 dst=10.96.0.9 sport=40000 dport=80 [UNREPLIED] src=10.244.1.2 dst=10.100.0.14 sport=8080 dport=40000 mark=0 use=1",
      "tcp      6 116 SYN_SENT src=10.100.0.14 dst=10.96.0.9 sport=40002 dport=80 [UNREPLIED] src=10.244.3.2 dst=10.100.0.14 sport=8080 dport=40002 mark=0 use=1",
      "tcp      6 100 TIME_WAIT src=10.100.0.14 dst=10.96.0.9 sport=40001 dport=80 src=10.244.3.2 dst=10.100.0.14 sport=8080 dport=40001 [ASSURED] mark=0 use=1",
      "tcp      6 116 SYN_SENT src=10.100.0.14 dst=10.96.0.7 sport=40003 dport=80 [UNREPLIED] src=10.244.5.5 dst=10.100.0.14 sport=8080 dport=40003 mark=0 use=1",
    ].join("\n");
    expect(unansweredFlows(conntrack, "10.96.0.9")).toEqual([
      "SYN_SENT 10.244.3.2:8080 116",
      "SYN_SENT 10.244.1.2:8080 110",
    ]);
  });
});
