/**
 * Which Services select a pod, and which pods live in a namespace: the two lookups the endpoints
 * controller's event handlers and sync need, kept from informer events so neither scans the whole
 * cluster. A pod event then wakes only the Services whose selector matches it, and a sync reads only
 * the pods of its Service's namespace.
 */
import { objectKey } from "../../../foundation/api/object.js";
import type { DeepReadonly } from "../../client/index.js";

type Labels = DeepReadonly<Record<string, string>> | undefined;

/** An equality selector (a Service's `spec.selector`) matches labels that carry every pair. */
export function selectorMatches(selector: DeepReadonly<Record<string, string>>, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

interface Named {
  metadata: DeepReadonly<{ namespace?: string; name?: string }>;
}

/** Service selectors by namespace; Services without a selector are not in it. */
export class ServiceSelectorIndex {
  private readonly byNamespace = new Map<string, Map<string, DeepReadonly<Record<string, string>>>>();

  /** Records `service`'s selector (or forgets the Service when it has none). */
  set(service: Named, selector: DeepReadonly<Record<string, string>> | undefined): void {
    const ns = service.metadata.namespace ?? "";
    const name = service.metadata.name ?? "";
    let services = this.byNamespace.get(ns);
    if (!selector || Object.keys(selector).length === 0) {
      services?.delete(name);
      return;
    }
    if (!services) {
      services = new Map();
      this.byNamespace.set(ns, services);
    }
    services.set(name, selector);
  }

  remove(service: Named): void {
    const ns = service.metadata.namespace ?? "";
    const services = this.byNamespace.get(ns);
    services?.delete(service.metadata.name ?? "");
    if (services?.size === 0) this.byNamespace.delete(ns);
  }

  /** Keys (`namespace/name`) of the Services in `namespace` selecting any of `labelSets`. */
  matching(namespace: string, ...labelSets: Labels[]): Set<string> {
    const keys = new Set<string>();
    for (const [name, selector] of this.byNamespace.get(namespace) ?? []) {
      if (labelSets.some((labels) => selectorMatches(selector, labels))) keys.add(`${namespace}/${name}`);
    }
    return keys;
  }
}

/** Pod keys by namespace. */
export class NamespaceIndex {
  private readonly byNamespace = new Map<string, Set<string>>();

  add(obj: Named): void {
    const ns = obj.metadata.namespace ?? "";
    let keys = this.byNamespace.get(ns);
    if (!keys) {
      keys = new Set();
      this.byNamespace.set(ns, keys);
    }
    keys.add(objectKey(obj));
  }

  remove(obj: Named): void {
    const ns = obj.metadata.namespace ?? "";
    const keys = this.byNamespace.get(ns);
    keys?.delete(objectKey(obj));
    if (keys?.size === 0) this.byNamespace.delete(ns);
  }

  keys(namespace: string): readonly string[] {
    return [...(this.byNamespace.get(namespace) ?? [])];
  }
}
