/**
 * The dashboard's only way to the apiserver: same-origin fetches carrying the user's bearer token,
 * so RBAC judges every read and write as it judges kctl's. Errors are `ApiRequestError`s carrying
 * the server's Status message, the HTTP status and the request.
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    serverMessage: string,
  ) {
    super(`${method} ${path}: ${serverMessage} (HTTP ${status})`);
    this.name = "ApiRequestError";
  }
}

/** The server's Status message of a failed response, else its text. */
async function failure(res: Response, method: string, path: string): Promise<ApiRequestError> {
  const text = await res.text().catch(() => "");
  let message = text || res.statusText;
  try {
    const status = JSON.parse(text) as { message?: string };
    if (status.message) message = status.message;
  } catch {
    // Not a Status: keep the text.
  }
  return new ApiRequestError(res.status, method, path, message);
}

export class ApiClient {
  constructor(private readonly token: string) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { Authorization: `Bearer ${this.token}`, Accept: "application/json", ...extra };
  }

  async get<T>(path: string, signal?: AbortSignal): Promise<T> {
    const res = await fetch(path, { headers: this.headers(), ...(signal ? { signal } : {}) });
    if (!res.ok) throw await failure(res, "GET", path);
    return (await res.json()) as T;
  }

  /** A write; `body` is sent as JSON unless it is a string (YAML, for server-side apply). */
  async send<T>(
    method: "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    body: unknown,
    contentType: string,
  ) {
    const res = await fetch(path, {
      method,
      headers: this.headers({ "Content-Type": contentType }),
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    if (!res.ok) throw await failure(res, method, path);
    return (await res.json()) as T;
  }

  /**
   * Opens a stream (a watch, a followed log) and hands each chunk of text to `onText` until the
   * server ends it or `signal` aborts. A refused start is thrown as an ApiRequestError (410 for a
   * compacted resourceVersion).
   */
  async stream(path: string, onText: (text: string) => void, signal: AbortSignal): Promise<void> {
    const res = await fetch(path, { headers: this.headers(), signal });
    if (!res.ok || !res.body) throw await failure(res, "GET", path);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onText(value);
    }
  }
}
