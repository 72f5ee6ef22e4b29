import type { ErrorItem } from "./types";

/** A request the API refused or could not answer, in the API's one error shape
 * `{"detail", "errors": [{"path", "code", "message"}]}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly detail: string;
  readonly errors: ErrorItem[];

  constructor(status: number, detail: string, errors: ErrorItem[] = []) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.errors = errors;
  }

  /** Build one from whatever a failed response carried (JSON or text or nothing). */
  static from(status: number, body: unknown, fallback = "request failed"): ApiError {
    if (body && typeof body === "object") {
      const b = body as { detail?: unknown; errors?: unknown };
      const errors = Array.isArray(b.errors) ? (b.errors as ErrorItem[]) : [];
      let detail = typeof b.detail === "string" ? b.detail : "";
      if (!detail && Array.isArray(b.detail)) {
        // FastAPI's own validation errors: a list of {loc, msg}
        detail = (b.detail as { msg?: string }[]).map((d) => d.msg ?? "").join("; ");
      }
      return new ApiError(status, detail || errors[0]?.message || fallback, errors);
    }
    if (typeof body === "string" && body.trim()) return new ApiError(status, body.trim().slice(0, 300));
    return new ApiError(status, status === 0 ? "the API cannot be reached" : `${fallback} (HTTP ${status})`);
  }
}

/** A short sentence for any thrown value. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) return error.detail;
  if (error instanceof Error) return error.message;
  return String(error);
}
