// The API's bearer token, kept in this browser's localStorage (the API's tokens are long-lived
// and set by an operator; there is no login flow to hold it in a cookie).
const KEY = "headwater.token";
const listeners = new Set<() => void>();

export function getToken(): string {
  try {
    return localStorage.getItem(KEY) ?? "";
  } catch {
    return "";
  }
}

export function setToken(token: string): void {
  const value = token.trim();
  if (value) localStorage.setItem(KEY, value);
  else localStorage.removeItem(KEY);
  listeners.forEach((f) => f());
}

/** Call `f` whenever the token changes; returns the unsubscribe. */
export function onTokenChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}
