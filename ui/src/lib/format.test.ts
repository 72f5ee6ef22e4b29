import { describe, expect, it } from "vitest";

import { duration, executionDuration } from "./format";

describe("durations", () => {
  it("reads at every scale", () => {
    expect(duration(850)).toBe("850 ms");
    expect(duration(12_400)).toBe("12.4 s");
    expect(duration(185_000)).toBe("3 min 05 s");
    expect(duration(null)).toBe("—");
  });

  it("gives a failed execution its real duration, not 0 (the recorded one, or end minus start)", () => {
    const failed = { status: "failed", started_at: "2026-01-01T00:00:00Z", ended_at: "2026-01-01T00:00:07.5Z", duration_ms: null };
    expect(executionDuration(failed)).toBe(7500);
    expect(executionDuration({ ...failed, duration_ms: 7400 })).toBe(7400);
    const running = { started_at: "2026-01-01T00:00:00Z", ended_at: null };
    expect(executionDuration(running, Date.parse("2026-01-01T00:01:00Z"))).toBe(60_000);
  });
});
