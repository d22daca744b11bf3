/**
 * What a kind registers, once, in its file here (upstream's strategy.go plus its printer and
 * describer): its resource row, its defaults, its validation, the status a new object starts with,
 * its table columns and its describe section. Everything is optional but the resource row; a kind
 * without columns prints NAME AGE, without a describe section its fields as YAML.
 */

import type { Endpoints } from "../../proto/gen/api.js";
import type { KubeObject } from "../api/object.js";
import type { ResourceInfo } from "../api/resource-info.js";
import type { Causes } from "../api/validation/field.js";
import type { DescribeWriter } from "../printers/describe-writer.js";

/** The table of a kind, as `kctl get` prints it and the apiserver serves it. */
export interface KindColumns<T> {
  /** False for kinds whose rows are not keyed by name (events). Default true. */
  named?: boolean;
  /** Columns after NAME. */
  headers: readonly string[];
  /** Columns `-o wide` adds: after the others, unless `wideOrder` places them. */
  wideHeaders?: readonly string[];
  /** Every column under `-o wide`, in order, for a kind whose wide columns go between the others (events). */
  wideOrder?: readonly string[];
  cells(obj: T, now: number): string[];
  wideCells?(obj: T, now: number): string[];
}

/** What a describe section may need besides the object. */
export interface DescribeContext {
  /** For a Service: its Endpoints object, when there is one. */
  endpoints?: Endpoints | undefined;
}

export interface Kind<T> {
  resource: ResourceInfo;
  /** Fills absent fields of a freshly decoded object in place; must be idempotent. */
  defaults?(obj: T): void;
  /**
   * The kind's own field rules (metadata is checked for every kind before); with `old`, the stored
   * object, also what an update may not change. Adds every problem to `c`; never throws.
   */
  validate?(c: Causes, obj: T, old: T | undefined): void;
  /**
   * The status a created object starts with. Default: none for kinds whose status its owners
   * (controllers, agents) write later (`resource.hasStatus`), what the client sent otherwise.
   */
  initialStatus?(obj: T): unknown;
  columns?: KindColumns<T>;
  /** The lines after the common metadata and before the object's Events. */
  describe?(w: DescribeWriter, obj: T, ctx: DescribeContext): void;
}

/** A registered kind, its object type erased so the registry can hold every kind in one list. */
export type RegisteredKind = Kind<KubeObject>;

/** Registers `kind`; the type parameter is the kind's generated message type (Pod, Service, ...). */
export function defineKind<T>(kind: Kind<T>): RegisteredKind {
  return kind as unknown as RegisteredKind;
}
