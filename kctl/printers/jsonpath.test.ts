import { describe, expect, it } from "vitest";
import { JsonPathError, parseJsonPath, renderJsonPath } from "./jsonpath.js";

const list = {
  kind: "List",
  items: [
    {
      metadata: { name: "a", labels: { "app.kubernetes.io/name": "web" } },
      spec: { nodeName: "n1", containers: [{ name: "c", image: "kctl.local/busybox:debian" }] },
      status: {
        podIP: "10.244.0.2",
        conditions: [
          { type: "Ready", status: "True" },
          { type: "PodScheduled", status: "True" },
        ],
        containerStatuses: [{ restartCount: 0 }],
      },
    },
    {
      metadata: { name: "b" },
      spec: {
        containers: [
          { name: "c", image: "nginx" },
          { name: "d", image: "redis" },
        ],
      },
      status: { conditions: [{ type: "Ready", status: "False" }], containerStatuses: [{ restartCount: 3 }] },
    },
  ],
};

const render = (template: string, data: unknown = list) => renderJsonPath(parseJsonPath(template), data);

describe("-o jsonpath templates", () => {
  it.each([
    ["{.items[0].metadata.name}", "a"],
    ["{.items[*].metadata.name}", "a b"],
    ["{.items[-1].metadata.name}", "b"],
    ["{.items[0:1].metadata.name}", "a"],
    ["{$.kind}", "List"],
    ["name: {.items[1].metadata.name}\n", "name: b\n"],
    ["{.items[0].metadata.labels['app.kubernetes.io/name']}", "web"],
    ["{.items[*].spec.containers[*].image}", "kctl.local/busybox:debian nginx redis"],
    ['{.items[0].status.conditions[?(@.type=="Ready")].status}', "True"],
    ["{.items[?(@.spec.nodeName)].metadata.name}", "a"],
    ["{.items[?(@.status.containerStatuses[0].restartCount>0)].metadata.name}", "b"],
    ["{.items[0].metadata.labels}", '{"app.kubernetes.io/name":"web"}'],
    ["{.items[0].metadata.missing}", ""],
    ['{range .items[*]}{.metadata.name}{"\\t"}{.status.podIP}{"\\n"}{end}', "a\t10.244.0.2\nb\t\n"],
    ["{.items[0].spec.containers[0].*}", "c kctl.local/busybox:debian"],
  ])("%s", (template, out) => {
    expect(render(template)).toBe(out);
  });

  it.each([
    ["{.items", "the action at column 1 has no closing }"],
    ["{range .items[*]}{.a}", "{range} at column 1 has no {end}"],
    ["{.a}{end}", "{end} at column 5 closes no {range}"],
    ["{items}", '"items" at column 1: a path starts with . or ['],
    ["{.items[}", '".items[" at column 1: a [ has no closing ]'],
    ["{.items[?(@.a==b)]}", 'the filter compares with "b", not a string or number'],
  ])("refuses %j", (template, message) => {
    expect(() => parseJsonPath(template)).toThrow(JsonPathError);
    expect(() => parseJsonPath(template)).toThrow(message);
  });
});
