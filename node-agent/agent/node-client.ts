/**
 * The agent's typed client of NodeService over mutual TLS. Unary calls return promises; errors
 * come back as the ApiError the control plane threw (its reason travels in the gRPC details), so the
 * agent handles NotFound or Conflict the same way whichever side raised them.
 */
import {
  type ClientDuplexStream,
  type ClientReadableStream,
  credentials,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { ApiError, type Reason } from "../../foundation/api/errors.js";
import { controlPlaneServerName } from "../../foundation/pki/pki.js";
import type {
  NodeServiceTypes,
  ObjectEvent,
  TunnelFrame,
  WatchObjectsRequest,
  WatchPodsRequest,
} from "../../proto/gen/node.js";
import { nodeServiceDefinition } from "../../proto/node-service.js";

export interface NodeClientOptions {
  /**
   * host:port of the control plane's NodeService, or several (`10.0.0.5:6444,10.0.0.6:6444`, one
   * per control plane): grpc-js's pick_first, over the list shuffled per client, then keeps one
   * connection and, when it fails, moves to the next address that accepts.
   */
  address: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** TLS server name to verify; by default the name every control plane's certificate carries. */
  serverName?: string;
}

/**
 * The gRPC target for one address (as is) or several: grpc-js's `ipv4:` scheme takes a list of
 * IPv4 addresses; other lists (names, IPv6) keep only the first.
 */
export function nodeServiceTarget(address: string): string {
  const list = address.split(",").filter(Boolean);
  if (list.length < 2) return address;
  return list.every((a) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(a)) ? `ipv4:${list.join(",")}` : list[0]!;
}

type UnaryMethod = Exclude<keyof NodeServiceTypes, "WatchPods" | "WatchObjects" | "Tunnel">;

const ServiceClient = makeGenericClientConstructor(nodeServiceDefinition, "NodeService");

export class NodeClient {
  private client: InstanceType<typeof ServiceClient>;

  constructor(private opts: NodeClientOptions) {
    this.client = NodeClient.connect(opts);
  }

  private static connect(opts: NodeClientOptions): InstanceType<typeof ServiceClient> {
    const creds = credentials.createSsl(
      Buffer.from(opts.caPem),
      Buffer.from(opts.keyPem),
      Buffer.from(opts.certPem),
    );
    return new ServiceClient(nodeServiceTarget(opts.address), creds, {
      // A control plane cut off (not killed) sends no reset: only a missed ping tells, and it must
      // tell within the fence (10 s by default, node-timing.ts) for pick_first to move to the next
      // address before the agent stops its pods. The server enforces no ping rate.
      "grpc.keepalive_time_ms": 2_000,
      "grpc.keepalive_timeout_ms": 2_000,
      "grpc.keepalive_permit_without_calls": 1,
      "grpc.ssl_target_name_override": opts.serverName ?? controlPlaneServerName,
      // Each agent tries the control planes in its own random order, so one control plane's death
      // takes a share of the agents' streams, not every agent's at once.
      "grpc.service_config": JSON.stringify({
        loadBalancingConfig: [{ pick_first: { shuffleAddressList: true } }],
      }),
    });
  }

  /**
   * Uses a renewed certificate (same key) for every call and stream started from now on, and closes
   * the client of the old one; the agent's mirrors and tunnel open their streams again through
   * this client, so they move to the new certificate when their old streams end.
   */
  useCertificate(certPem: string): void {
    const old = this.client;
    this.opts = { ...this.opts, certPem };
    this.client = NodeClient.connect(this.opts);
    old.close();
  }

  call<M extends UnaryMethod>(
    method: M,
    request: Partial<NodeServiceTypes[M]["request"]>,
    timeoutMs = 10_000,
  ): Promise<NodeServiceTypes[M]["response"]> {
    return new Promise((resolve, reject) => {
      const fn = this.client[method] as unknown as (
        req: unknown,
        opts: { deadline: number },
        cb: (err: ServiceError | null, res: NodeServiceTypes[M]["response"]) => void,
      ) => void;
      fn.call(this.client, request, { deadline: Date.now() + timeoutMs }, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve(res),
      );
    });
  }

  watchPods(request: WatchPodsRequest): ClientReadableStream<ObjectEvent> {
    return (
      this.client.WatchPods as unknown as (req: WatchPodsRequest) => ClientReadableStream<ObjectEvent>
    ).call(this.client, request);
  }

  watchObjects(request: WatchObjectsRequest): ClientReadableStream<ObjectEvent> {
    return (
      this.client.WatchObjects as unknown as (req: WatchObjectsRequest) => ClientReadableStream<ObjectEvent>
    ).call(this.client, request);
  }

  tunnel(): ClientDuplexStream<TunnelFrame, TunnelFrame> {
    return (this.client.Tunnel as unknown as () => ClientDuplexStream<TunnelFrame, TunnelFrame>).call(
      this.client,
    );
  }

  close(): void {
    this.client.close();
  }
}

const grpcReasons: Record<number, Reason> = {
  4: "Timeout",
  14: "ServiceUnavailable",
  16: "Unauthorized",
  7: "Forbidden",
  5: "NotFound",
};

/** Turns a gRPC error back into the control plane's ApiError (the reason rides in `details`). */
export function fromServiceError(err: ServiceError): ApiError {
  const match = /^([A-Za-z]+): ([\s\S]*)$/.exec(err.details ?? "");
  if (match) return new ApiError(match[1] as Reason, match[2]!);
  return new ApiError(grpcReasons[err.code] ?? "InternalError", err.details || err.message);
}
