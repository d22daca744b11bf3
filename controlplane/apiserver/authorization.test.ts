import { describe, expect, it } from "vitest";
import { type Authorizer, type RequestAttributes, unionAuthorizer } from "./authorization.js";

const attrs: RequestAttributes = { user: "jane", groups: [], verb: "get", path: "/x" };

describe("the union authorizer", () => {
  it("allows what any allows, asking in order and stopping at the first yes", () => {
    const asked: string[] = [];
    const say =
      (name: string, allowed: boolean, reason?: string): Authorizer =>
      () => {
        asked.push(name);
        return reason === undefined ? { allowed } : { allowed, reason };
      };
    expect(unionAuthorizer(say("node", false), say("rbac", true), say("never", false))(attrs)).toEqual({
      allowed: true,
    });
    expect(asked).toEqual(["node", "rbac"]);
  });

  it("refuses with the first reason given, or none", () => {
    const no =
      (reason?: string): Authorizer =>
      () =>
        reason ? { allowed: false, reason } : { allowed: false };
    expect(unionAuthorizer(no(), no("no relationship"), no("later"))(attrs)).toEqual({
      allowed: false,
      reason: "no relationship",
    });
    expect(unionAuthorizer(no(), no())(attrs)).toEqual({ allowed: false });
  });
});
