import { describe, expect, it } from "vitest";

import { countPerMinute, percentile, perMinute, rates } from "./series";

const NOW = Date.parse("2026-01-01T10:30:30Z");

describe("monitoring series", () => {
  it("counts starts per minute and the p95 and failure rate of what ended in it", () => {
    const runs = [
      { started_at: "2026-01-01T10:30:01Z", ended_at: "2026-01-01T10:30:05Z", duration_ms: 4000, status: "completed" },
      { started_at: "2026-01-01T10:30:02Z", ended_at: "2026-01-01T10:30:09Z", duration_ms: 7000, status: "failed" },
      { started_at: "2026-01-01T10:29:59Z", ended_at: null, duration_ms: null, status: "running" },
      { started_at: "2026-01-01T08:00:00Z", ended_at: "2026-01-01T08:00:01Z", duration_ms: 1000, status: "failed" },
    ];
    const rows = perMinute(runs, NOW, 60);
    expect(rows).toHaveLength(60);
    expect(rows[59]).toMatchObject({ started: 2, p95: 7000, failure_rate: 50 });
    expect(rows[58]).toMatchObject({ started: 1, p95: null, failure_rate: null });
    expect(rows.reduce((n, r) => n + r.started, 0)).toBe(3);
  });

  it("computes percentiles by nearest rank", () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95)).toBe(10);
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([], 95)).toBeNull();
  });

  it("turns counter samples into rates and times into per-minute counts", () => {
    expect(rates([{ at: 0, value: 10 }, { at: 5000, value: 60 }]).map((r) => r.rate)).toEqual([10]);
    const c = countPerMinute(["2026-01-01T10:30:10Z", "2026-01-01T10:30:20Z", "2026-01-01T09:00:00Z"], NOW, 60);
    expect(c[59].count).toBe(2);
    expect(c.reduce((n, r) => n + r.count, 0)).toBe(2);
  });
});
