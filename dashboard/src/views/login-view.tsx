/** The login form: one bearer token (from `kctl dashboard`, or a user's or ServiceAccount's). */
import { useState } from "preact/hooks";
import type { ApiClient } from "../api";
import { logIn } from "../session";

export function LoginView({ onLogin }: { onLogin(api: ApiClient): void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      onLogin(await logIn(token));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <main class="login" aria-labelledby="login-title">
      <h1 id="login-title">kctl dashboard</h1>
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Bearer token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-describedby="token-help"
          aria-invalid={error ? "true" : "false"}
        />
        <p id="token-help">
          <code>kctl dashboard</code> prints one. What you may see and change is what this token's user may.
        </p>
        {error && <p role="alert">{error}</p>}
        <button type="submit" class="primary">
          Log in
        </button>
      </form>
    </main>
  );
}
