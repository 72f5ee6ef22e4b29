import createClient from "openapi-fetch";

import { getToken } from "../auth/token";
import { ApiError } from "./errors";
import type { paths } from "./types";

/** The typed API client: every path, parameter and body is checked against schema.d.ts. */
export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
});

api.use({
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
});

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The body of a successful call, or an ApiError with the API's detail and errors. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "the API cannot be reached");
  }
  if (!result.response.ok) throw ApiError.from(result.response.status, result.error);
  return result.data as T;
}

/** POST to a path the generated types do not know yet (an endpoint owned by another part of
 * the project that may not be merged): the same token and error handling as `api`. */
export async function postUntyped<T>(path: string, body: unknown): Promise<T> {
  return callUntyped<T>("POST", path, body);
}

/** GET a path the generated types do not know yet (see `postUntyped`). */
export async function getUntyped<T>(path: string): Promise<T> {
  return callUntyped<T>("GET", path);
}

async function callUntyped<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "the API cannot be reached");
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep the text */
  }
  if (!response.ok) throw ApiError.from(response.status, parsed);
  return parsed as T;
}
