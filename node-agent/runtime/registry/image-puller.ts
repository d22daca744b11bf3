/**
 * The node's side of `imagePullPolicy`, for the pod worker's image hook: makes sure the image a
 * container names is in the store, pulling it when the policy says so, with the pod's pull secrets
 * and the node's registry config, and backs off failed pulls as the kubelet does (10 s doubling to
 * 5 min per pod and image). It says what happened in words the kubelet uses for events and waiting reasons.
 */
import { createHash } from "node:crypto";
import type { Clock } from "../../../foundation/util/clock.js";
import { ImageError, isImageNotFound } from "../images/errors.js";
import type { ImageStore, ResolvedImage } from "../images/image-store.js";
import { parseReference } from "../images/reference.js";
import { type Credentials, parseDockerConfig, type SecretKind } from "./docker-config.js";
import type { RegistryConfig } from "./registry-config.js";

export type PullPolicy = "Always" | "IfNotPresent" | "Never";

/** Upstream's default: `:latest` or no tag (and no digest) means Always, anything else IfNotPresent. */
export function defaultPullPolicy(image: string): PullPolicy {
  const ref = parseReference(image);
  return ref.digest === undefined && ref.tag === "latest" ? "Always" : "IfNotPresent";
}

/** A pull secret's value as the agent reads it: the type and the data key it holds. */
export interface PullSecret {
  /** `namespace/name`, for error messages. */
  name: string;
  kind: SecretKind;
  value: string;
}

/** Credentials per registry host from a pod's pull secrets, the first secret naming a host winning. */
export function credentialsFromSecrets(secrets: readonly PullSecret[]): Map<string, Credentials> {
  const out = new Map<string, Credentials>();
  for (const s of secrets) {
    for (const [host, creds] of parseDockerConfig(s.value, s.kind, `secret ${s.name}`)) {
      if (!out.has(host)) out.set(host, creds);
    }
  }
  return out;
}

/**
 * A digest of the credentials a pull runs with, so the store shares an in-flight pull only between
 * callers holding the same ones: a pod without a secret never rides on another pod's.
 */
function credentialsIdentity(credentials: ReadonlyMap<string, Credentials>): string {
  const entries = [...credentials].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(JSON.stringify(entries)).digest("hex");
}

/** Why an image is not there, as the container's waiting reason. */
export type PullFailureReason =
  | "ErrImagePull"
  | "ImagePullBackOff"
  | "ErrImageNeverPull"
  | "InvalidImageName";

export class ImagePullError extends Error {
  constructor(
    readonly reason: PullFailureReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "ImagePullError";
  }
}

export interface EnsuredImage {
  image: ResolvedImage;
  /** Set when a pull ran: bytes it downloaded (0 when every layer was present) and how long it took. */
  pulled?: { bytes: number; ms: number };
}

export interface PullerEvents {
  /** `Pulling`: a pull starts. */
  pulling(image: string): void;
  /** `Pulled`: a pull ended, or the image was present and not pulled (`pulled` undefined). */
  pulled(image: string, result: EnsuredImage): void;
  /** `Failed`: a pull failed (`reason` ErrImagePull) or was not tried. */
  failed(image: string, reason: PullFailureReason, message: string): void;
}

export interface ImagePullerOptions {
  store: ImageStore;
  clock: Clock;
  config?: RegistryConfig;
  events?: PullerEvents;
  /** Back-off after a failed pull: first delay and cap. The kubelet's 10 s and 300 s by default. */
  backoff?: { baseMs: number; maxMs: number };
}

/** One call's part: whose pull it is, with what, told to whom. */
export interface PullRequest {
  /** The pod's pull secrets, used for this pull only. */
  secrets?: readonly PullSecret[];
  /** The pod's events, instead of the puller's own. */
  events?: PullerEvents | undefined;
  /**
   * Who asks (the pod's UID): back-off is kept per asker and image, as the kubelet's, so a pod with
   * wrong credentials does not hold back another pod's pull of the same image.
   */
  owner?: string;
}

interface Failure {
  until: number;
  delayMs: number;
  message: string;
}

export class ImagePuller {
  private readonly failures = new Map<string, Failure>();

  constructor(private readonly opts: ImagePullerOptions) {}

  /**
   * Makes sure `image` is in the store under `policy` (the container's, or the default for the
   * name), pulling with the request's secrets. Throws `ImagePullError` with the waiting reason.
   */
  async ensure(
    image: string,
    policy: PullPolicy | undefined,
    request: PullRequest = {},
  ): Promise<EnsuredImage> {
    const { store } = this.opts;
    const { secrets = [], events = this.opts.events } = request;
    let key: string;
    try {
      key = `${request.owner ?? ""}\0${parseReference(image).text}`;
    } catch (err) {
      const message = (err as Error).message;
      events?.failed(image, "InvalidImageName", message);
      throw new ImagePullError("InvalidImageName", message, { cause: err });
    }
    const effective = policy ?? defaultPullPolicy(image);
    if (effective !== "Always") {
      try {
        const resolved = await store.resolve(image);
        events?.pulled(image, { image: resolved });
        return { image: resolved };
      } catch (err) {
        if (!isImageNotFound(err)) throw this.fail(image, key, err, events);
        if (effective === "Never") {
          const message = `container image "${image}" is not present with pull policy of Never`;
          events?.failed(image, "ErrImageNeverPull", message);
          throw new ImagePullError("ErrImageNeverPull", message, { cause: err });
        }
      }
    }
    const backing = this.failures.get(key);
    if (backing && this.opts.clock.now() < backing.until) {
      const message = `Back-off pulling image "${image}": ${backing.message}`;
      events?.failed(image, "ImagePullBackOff", message);
      throw new ImagePullError("ImagePullBackOff", message);
    }
    events?.pulling(image);
    const started = this.opts.clock.now();
    let bytes = 0;
    try {
      let credentials: Map<string, Credentials>;
      try {
        credentials = credentialsFromSecrets(secrets);
      } catch (err) {
        throw new ImageError("Invalid", (err as Error).message, { cause: err });
      }
      await store.pull(image, {
        ...(this.opts.config ? { config: this.opts.config } : {}),
        credentials: (host) => credentials.get(host),
        identity: credentialsIdentity(credentials),
        onProgress: (e) => {
          if (e.state === "done") bytes += e.size;
        },
      });
      const resolved = await store.resolve(image);
      this.failures.delete(key);
      const result = { image: resolved, pulled: { bytes, ms: this.opts.clock.now() - started } };
      events?.pulled(image, result);
      return result;
    } catch (err) {
      throw this.fail(image, key, err, events);
    }
  }

  private fail(image: string, key: string, err: unknown, events: PullerEvents | undefined): ImagePullError {
    const message = `failed to pull image "${image}": ${(err as Error).message.split("\n")[0]}`;
    const { baseMs, maxMs } = this.opts.backoff ?? { baseMs: 10_000, maxMs: 300_000 };
    const now = this.opts.clock.now();
    // As the kubelet's back-off GC: an entry quiet for twice the cap is forgotten (its pod is
    // likely gone, the keys are per pod), and a later failure starts from the first delay again.
    for (const [k, f] of this.failures) if (f.until + 2 * maxMs < now) this.failures.delete(k);
    const prev = this.failures.get(key);
    const delayMs = prev ? Math.min(prev.delayMs * 2, maxMs) : baseMs;
    this.failures.set(key, { until: now + delayMs, delayMs, message });
    events?.failed(image, "ErrImagePull", message);
    return new ImagePullError("ErrImagePull", message, { cause: err });
  }
}
