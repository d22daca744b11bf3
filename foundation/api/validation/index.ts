/**
 * Object validation rules, one file per kind group: meta.ts (metadata, every kind), pod.ts (Pod and
 * pod templates), apps.ts (ReplicaSet, Deployment), service.ts (Service, Endpoints), config.ts
 * (ConfigMap, Secret), cluster.ts (Node, Lease, Event), subresources.ts (Scale and Binding bodies);
 * field.ts holds the shared checks and the cause builders. Each kind registers its own rules in
 * foundation/kinds, where `validateObject` runs the metadata checks and then the kind's.
 */

export { validateBinding, validateScale } from "./subresources.js";
