import { describe, expect, it } from "vitest";

import { ApiError, describe as say } from "./errors";

describe("ApiError.from", () => {
  it("keeps the API's detail and its field errors", () => {
    const e = ApiError.from(422, { detail: "invalid definition", errors: [{ path: "$.steps[0].id", code: "missing", message: "required" }] });
    expect(e.status).toBe(422);
    expect(e.detail).toBe("invalid definition");
    expect(e.errors[0].path).toBe("$.steps[0].id");
  });

  it("reads FastAPI's own list of validation errors", () => {
    expect(ApiError.from(422, { detail: [{ msg: "field required" }, { msg: "bad int" }] }).detail).toBe("field required; bad int");
  });

  it("says the API cannot be reached for a network failure, and the status otherwise", () => {
    expect(ApiError.from(0, null).detail).toBe("the API cannot be reached");
    expect(ApiError.from(502, "").detail).toContain("HTTP 502");
    expect(say(new Error("boom"))).toBe("boom");
  });
});
