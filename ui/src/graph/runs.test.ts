import { describe, expect, it } from "vitest";

import { toFlow } from "./convert";
import { fromExecution, stepOfPath } from "./runs";
import { laneId, type WorkflowDef } from "./steps";

const view = (path: string, status: string, attempts = 1, error?: string) => ({
  path, status, attempts: Array.from({ length: attempts }, () => ({})),
  errors: error ? [{ code: error, message: `${error} happened` }] : [],
});

describe("an execution on the graph", () => {
  const def: WorkflowDef = {
    id: "w", name: "W",
    steps: [
      { id: "each", type: "loop", for_each: "input.items", steps: [{ id: "v", action: "log" }] },
      { id: "fan", type: "parallel", branches: [{ name: "a", steps: [{ id: "x", action: "log" }] }, { name: "b", steps: [{ id: "y", action: "log" }] }] },
      { id: "ask", type: "wait", signal: "go" },
    ],
  };
  const parallels = new Set(["fan"]);

  it("names a step by the last part of its path", () => {
    expect(stepOfPath("each/3/v")).toBe("v");
    expect(stepOfPath("fan/1/y")).toBe("y");
    expect(stepOfPath("ask")).toBe("ask");
  });

  it("sums a loop body's iterations up, the failed one shown with its error", () => {
    const run = fromExecution({
      "each/0/v": view("each/0/v", "completed"),
      "each/1/v": view("each/1/v", "failed", 3, "boom"),
      "each/2/v": view("each/2/v", "completed"),
    });
    expect(run.get("v")).toEqual({ status: "failed", attempts: 3, runs: 3, error: { code: "boom", message: "boom happened" } });
  });

  it("shows a lane by its steps and a held wait step as waiting, on the nodes the designer draws", () => {
    const run = fromExecution({ "fan/0/x": view("fan/0/x", "running"), "fan/1/y": view("fan/1/y", "completed"),
                                ask: view("ask", "running") }, { ask: "signal go" }, parallels);
    expect(run.get(laneId("fan", 0))?.status).toBe("running");
    expect(run.get(laneId("fan", 1))?.status).toBe("completed");
    expect(run.get("ask")?.status).toBe("waiting");
    const { nodes, edges } = toFlow(def, { run, selected: new Set(["ask"]) });
    const node = (id: string) => nodes.find((n) => n.id === id)!;
    expect((node("x").data as { run?: { status: string } }).run?.status).toBe("running");
    expect((node(laneId("fan", 0)).data as { run?: { status: string } }).run?.status).toBe("running");
    expect(node("ask").selected).toBe(true);
    // the path taken: both ends ran
    expect(edges.find((e) => e.source === "fan" && e.target === "ask")?.className ?? "").not.toContain("edge-taken");
  });
});
