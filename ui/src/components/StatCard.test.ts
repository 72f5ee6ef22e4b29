import { describe, expect, it } from "vitest";

import { change } from "./StatCard";

describe("trend against the previous period", () => {
  it("reads counts as percentages and rates as points", () => {
    expect(change(150, 100, "count")).toEqual({ text: "+50 % vs previous period", direction: "up" });
    expect(change(0.9, 0.95, "rate")).toEqual({ text: "-5.0 pts vs previous period", direction: "down" });
    expect(change(5, 0, "count")?.text).toBe("new this period");
    expect(change(null, 3, "count")).toBeNull();
  });
});
