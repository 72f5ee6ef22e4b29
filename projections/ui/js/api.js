// The one place that talks to the API: every request carries the bearer token from the
// token field, and every error comes back as the API's {detail, errors} body.
import {SseParser} from "./sse.js";

const TOKEN_KEY = "headwater.token";

export function getToken() {
  try { return globalThis.localStorage?.getItem(TOKEN_KEY) || ""; } catch { return ""; }
}

export function setToken(token) {
  try {
    if (token) globalThis.localStorage.setItem(TOKEN_KEY, token);
    else globalThis.localStorage.removeItem(TOKEN_KEY);
  } catch { /* private mode: the token lives for this page only */ }
}

/** An HTTP error with the API's body: detail and errors [{path, code, message}]. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }
}

/** Encodes one path segment: ids come from data and may hold "/" or "?". */
export const seg = (value) => encodeURIComponent(String(value));

function headers(extra) {
  const out = {Accept: "application/json", ...extra};
  const token = getToken();
  if (token) out.Authorization = `Bearer ${token}`;
  return out;
}

function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Calls the API: call("POST", `/executions/${seg(id)}/cancel`, {body, query}). */
export async function call(method, path, {body, query, signal} = {}) {
  const init = {method, headers: headers(body === undefined ? {} : {"Content-Type": "application/json"}),
    signal};
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(withQuery(path, query), init);
  const text = await response.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = {detail: text}; }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

/**
 * Follows a server-sent event stream: stream(`/events`, {onEvent}) until abort() or the end.
 * Reconnects after a drop, resuming after the last event id where the endpoint supports it.
 */
export function stream(path, {onEvent, onState, query} = {}) {
  const controller = new AbortController();
  const parser = new SseParser();
  const run = async () => {
    while (!controller.signal.aborted) {
      try {
        const extra = parser.lastEventId ? {"Last-Event-ID": parser.lastEventId} : {};
        const response = await fetch(withQuery(path, query),
          {headers: headers({Accept: "text/event-stream", ...extra}), signal: controller.signal});
        if (!response.ok) { onState?.(`error ${response.status}`); return; }
        onState?.("live");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          for (const event of parser.push(value)) {
            if (onEvent?.(event) === "stop") { controller.abort(); return; }
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
      }
      onState?.("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  };
  run();
  return {abort: () => controller.abort()};
}

/** Fetches a static file of the UI itself (relative to index.html), as JSON. */
export async function asset(name) {
  const response = await fetch(new URL(name, globalThis.document.baseURI));
  if (!response.ok) throw new ApiError(response.status, {detail: `${name}: HTTP ${response.status}`});
  return response.json();
}
