import type { IMember } from "etcd3";
import { describe, expect, it } from "vitest";
import { findMember, formatMembers, memberIdHex } from "./etcd.js";

const members: IMember[] = [
  {
    ID: "10276657743932975437",
    name: "cp1",
    peerURLs: ["https://10.0.0.5:2380"],
    clientURLs: ["https://10.0.0.5:2379"],
    isLearner: false,
  },
  { ID: "1", name: "", peerURLs: ["https://10.0.0.6:2380"], clientURLs: [], isLearner: false },
];

describe("kctl etcd member", () => {
  it("prints members as etcdctl does, IDs in hex", () => {
    expect(memberIdHex("10276657743932975437")).toBe("8e9e05c52164694d");
    const text = formatMembers(members);
    expect(text).toContain("8e9e05c52164694d");
    expect(text).toMatch(
      /8e9e05c52164694d\s+started\s+cp1\s+https:\/\/10\.0\.0\.5:2380\s+https:\/\/10\.0\.0\.5:2379\s+false/,
    );
    expect(text).toMatch(/^1\s+unstarted\s+https:\/\/10\.0\.0\.6:2380/m);
  });

  it("finds a member by name or hex ID and names the members when there is none", () => {
    expect(findMember(members, "cp1").ID).toBe("10276657743932975437");
    expect(findMember(members, "8E9E05C52164694D").name).toBe("cp1");
    expect(() => findMember(members, "cp7")).toThrow('etcd has no member "cp7" (members: cp1, 1)');
  });
});
