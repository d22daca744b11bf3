import { describe, expect, it } from "vitest";
import { CodedError } from "./coded-error.js";

class ThingError extends CodedError<"Invalid" | "Gone"> {}

describe("CodedError", () => {
  it("carries its code, message and cause, and is named after the subclass", () => {
    const cause = new Error("ENOENT");
    const err = new ThingError("Gone", "thing x: gone", { cause });
    expect(err).toBeInstanceOf(ThingError);
    expect(err).toBeInstanceOf(Error);
    expect([err.name, err.code, err.message, err.cause]).toEqual([
      "ThingError",
      "Gone",
      "thing x: gone",
      cause,
    ]);
  });
});
