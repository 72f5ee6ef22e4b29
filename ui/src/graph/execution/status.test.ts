import { describe, expect, it } from "vitest";

import { definitionGraph } from "./definitionGraph";
import { nodeStatuses } from "./status";

const step = (path: string, status: string, attempts = 1, error?: string) => ({
  path, status, attempts: Array.from({ length: attempts }, () => ({})),
  errors: error ? [{ code: error, message: `${error} happened` }] : [],
});

describe("nodeStatuses", () => {
  const graph = definitionGraph({
    steps: [
      { id: "each", type: "loop", steps: [{ id: "v" }] },
      { id: "fan", type: "parallel", branches: [{ name: "a", steps: [{ id: "x" }] }] },
      { id: "ask", type: "wait", signal: "go" },
    ],
  });

  it("sums a loop body's iterations up, the failed one shown with its error", () => {
    const s = nodeStatuses(graph, {
      "each/0/v": step("each/0/v", "completed"),
      "each/1/v": step("each/1/v", "failed", 3, "boom"),
      "each/2/v": step("each/2/v", "completed"),
    });
    expect(s.get("each/v")).toEqual({ status: "failed", attempts: 3, runs: 3, error: { code: "boom", message: "boom happened" } });
  });

  it("shows a branch by its steps and a held wait step as waiting", () => {
    const s = nodeStatuses(graph, { "fan/0/x": step("fan/0/x", "running"), ask: step("ask", "running") }, { ask: "signal go" });
    expect(s.get("fan/a")?.status).toBe("running");
    expect(s.get("ask")?.status).toBe("waiting");
  });
});
