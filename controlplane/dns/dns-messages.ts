/**
 * One DNS query message in, one response message out, for the cluster DNS: decoding and encoding
 * by dns-packet, answers from `ClusterRecords`. Authoritative for the cluster domain, REFUSED for
 * everything else (it never recurses), SERVFAIL while the caches are still filling. Knows nothing
 * of sockets; dns-server.ts carries the bytes.
 */
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from "dns-packet";
import type { ClusterRecords, DnsRecord, LookupResult } from "./cluster-records.js";

/** Response codes (RFC 1035 4.1.1), carried in the low four bits of the flags. */
const rcodes = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export type Rcode = keyof typeof rcodes;

/** The classic UDP limit without EDNS, and the largest EDNS payload we accept (the DNS flag day value). */
const plainUdpBytes = 512;
const maxEdnsUdpBytes = 1232;

export interface Reply {
  /** The encoded response, or undefined when the message deserves none (a response, or no header). */
  message: Buffer | undefined;
  rcode: Rcode;
}

export interface Responder {
  /** Answers one message; `udp` caps the size (larger answers come back truncated, TC set). */
  respond(query: Buffer, udp: boolean): Reply;
}

export function newResponder(records: ClusterRecords, ttlSeconds: number): Responder {
  const soa: Answer = {
    type: "SOA",
    name: records.domain,
    ttl: ttlSeconds,
    data: {
      mname: `ns.dns.${records.domain}`,
      rname: `hostmaster.${records.domain}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: ttlSeconds,
    },
  };

  const lookup = (q: Question): LookupResult =>
    (q.class ?? "IN") !== "IN" ? { kind: "refused" } : records.lookup(q.name, q.type);

  return {
    respond(query, udp) {
      let packet: DecodedPacket;
      try {
        packet = dnsPacket.decode(query);
      } catch {
        if (query.length < 2) return { message: undefined, rcode: "FORMERR" };
        return {
          message: encode({ id: query.readUInt16BE(0), type: "response", flags: rcodes.FORMERR }),
          rcode: "FORMERR",
        };
      }
      if (packet.type !== "query") return { message: undefined, rcode: "FORMERR" };
      const base = {
        id: packet.id ?? 0,
        type: "response" as const,
        questions: packet.questions ?? [],
      };
      const recursionDesired = (packet.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
      const opcode = (packet as DecodedPacket & { opcode?: string }).opcode;
      const reply = (rcode: Rcode, extra: Partial<Packet> = {}, authoritative = false): Reply => {
        const flags = rcodes[rcode] | recursionDesired | (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0);
        return { message: encode({ ...base, flags, ...extra }), rcode };
      };
      if (opcode !== "QUERY") return reply("NOTIMP");
      const question = packet.questions?.[0];
      if (!question || packet.questions!.length !== 1) return reply("FORMERR");

      const edns = packet.additionals?.find((a) => a.type === "OPT");
      const additionals: Answer[] = edns
        ? [
            {
              type: "OPT",
              name: ".",
              udpPayloadSize: maxEdnsUdpBytes,
              extendedRcode: 0,
              ednsVersion: 0,
              flags: 0,
              flag_do: false,
              options: [],
            },
          ]
        : [];
      const result = lookup(question);
      switch (result.kind) {
        case "refused":
          return reply("REFUSED", { additionals });
        case "unavailable":
          return reply("SERVFAIL", { additionals });
        case "nxdomain":
          return reply("NXDOMAIN", { authorities: [soa], additionals }, true);
        case "answer": {
          const answers = result.answers.map((r) => toAnswer(r, ttlSeconds));
          const withExtra = [...result.additionals.map((r) => toAnswer(r, ttlSeconds)), ...additionals];
          const full = reply(
            "NOERROR",
            answers.length > 0 ? { answers, additionals: withExtra } : { authorities: [soa], additionals },
            true,
          );
          const limit = edns
            ? Math.min(
                Math.max((edns as { udpPayloadSize?: number }).udpPayloadSize ?? 0, plainUdpBytes),
                maxEdnsUdpBytes,
              )
            : plainUdpBytes;
          if (!udp || full.message!.length <= limit) return full;
          // Too big for this datagram: say so (TC) and let the client ask again over TCP.
          const flags =
            rcodes.NOERROR | recursionDesired | dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.TRUNCATED_RESPONSE;
          return { message: encode({ ...base, flags, additionals }), rcode: "NOERROR" };
        }
      }
    },
  };
}

function toAnswer(record: DnsRecord, ttl: number): Answer {
  switch (record.type) {
    case "A":
      return { type: "A", name: record.name, ttl, data: record.ip };
    case "CNAME":
      return { type: "CNAME", name: record.name, ttl, data: record.target };
    case "SRV": {
      const { priority, weight, port, target } = record;
      return { type: "SRV", name: record.name, ttl, data: { priority, weight, port, target } };
    }
  }
}

function encode(packet: Packet): Buffer {
  return dnsPacket.encode(packet);
}
