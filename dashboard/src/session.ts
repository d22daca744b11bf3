/**
 * The login: a bearer token kept in this tab's sessionStorage (gone when the tab closes, never sent
 * anywhere but this server's API). A token is accepted when the server authenticates it.
 */
import { ApiClient, ApiRequestError } from "./api";

const KEY = "kctl-dashboard-token";

export function storedToken(): string | undefined {
  return sessionStorage.getItem(KEY) ?? undefined;
}

/** Checks the token against the API (discovery needs one); stores it when accepted. */
export async function logIn(token: string): Promise<ApiClient> {
  const trimmed = token.trim();
  if (!trimmed) throw new Error("Enter a bearer token.");
  const api = new ApiClient(trimmed);
  try {
    await api.get("/api");
  } catch (err) {
    if (err instanceof ApiRequestError && err.status === 401)
      throw new Error("The server did not accept this token.");
    throw err;
  }
  sessionStorage.setItem(KEY, trimmed);
  return api;
}

export function logOut(): void {
  sessionStorage.removeItem(KEY);
}
