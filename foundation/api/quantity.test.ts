import { describe, expect, it } from "vitest";
import {
  formatQuantity,
  isQuantity,
  quantityError,
  quantityIntValue,
  quantityMilliValue,
  quantityValue,
} from "./quantity.js";

describe("quantity parsing", () => {
  it.each([
    ["500m", 0.5, 500],
    ["100m", 0.1, 100],
    ["1", 1, 1000],
    ["0.1", 0.1, 100],
    [".5", 0.5, 500],
    ["2.", 2, 2000],
    ["1.5", 1.5, 1500],
    ["250n", 250e-9, 1],
    ["128Mi", 134217728, 134217728000],
    ["1Ki", 1024, 1024000],
    ["1.5Gi", 1610612736, 1610612736000],
    ["2Ti", 2 * 2 ** 40, 2 * 2 ** 40 * 1000],
    ["1k", 1000, 1e6],
    ["250M", 250e6, 250e9],
    ["1G", 1e9, 1e12],
    ["1e3", 1000, 1e6],
    ["1E3", 1000, 1e6],
    ["5e-3", 0.005, 5],
    ["1E", 1e18, 1e21],
    ["-1", -1, -1000],
    ["+2", 2, 2000],
  ])("%s = %d (milli %d)", (text, value, milli) => {
    expect(isQuantity(text)).toBe(true);
    expect(quantityValue(text)).toBeCloseTo(value, 12);
    expect(quantityMilliValue(text)).toBe(milli);
  });

  it("accepts plain numbers", () => {
    expect(quantityValue(2)).toBe(2);
    expect(quantityMilliValue(0.25)).toBe(250);
  });

  it("rounds up to whole units", () => {
    expect(quantityIntValue("1500m")).toBe(2);
    expect(quantityIntValue("128Mi")).toBe(134217728);
  });

  it.each(["", "abc", "1.2.3", "12Mb", "1 Mi", "Mi", "1mi", "1KiB", "--1", "1e", "0x10", "1e3.5", "."])(
    "rejects %j",
    (text) => {
      expect(isQuantity(text)).toBe(false);
      expect(quantityError(text)).toContain("quantities must match the regular expression");
      expect(() => quantityValue(text)).toThrow(`invalid quantity "${text}"`);
    },
  );
});

describe("formatQuantity", () => {
  it.each([
    [134217728, "binary", "128Mi"],
    [1024, "binary", "1Ki"],
    [1536, "binary", "1536"],
    [1000, "binary", "1000"],
    [0, "binary", "0"],
    [0.5, "decimal", "500m"],
    [0.1, "decimal", "100m"],
    [2000, "decimal", "2k"],
    [1, "decimal", "1"],
    [3e9, "decimal", "3G"],
    [2.5e-7, "decimal", "250n"],
    [1500, "decimal", "1500"],
  ] as const)("%d as %s → %s", (value, format, text) => {
    expect(formatQuantity(value, format)).toBe(text);
    expect(quantityValue(text)).toBeCloseTo(value, 12);
  });
});
