import { describe, expect, it } from "vitest";

import { definitionGraph, pathKey, type WorkflowDef } from "./definitionGraph";

const edgesOf = (d: WorkflowDef) =>
  definitionGraph(d).edges.map((e) => `${e.source}>${e.target}:${e.kind}`).sort();

describe("definitionGraph", () => {
  it("links a sequence in order and ends after the last step", () => {
    expect(edgesOf({ steps: [{ id: "a" }, { id: "b" }] })).toEqual(["$start>a:next", "a>b:follow", "b>$end:follow"]);
  });

  it("draws a condition's branches and default, and an end for no match without a default", () => {
    const d: WorkflowDef = {
      steps: [
        { id: "route", type: "condition", branches: [{ when: "input.x > 1", next: "big" }] },
        { id: "big", next: "$end" },
      ],
    };
    expect(edgesOf(d)).toEqual(["$start>route:next", "big>$end:next", "route>$end:default", "route>big:branch"]);
    expect(definitionGraph(d).edges.find((e) => e.kind === "branch")?.label).toBe("input.x > 1");
  });

  it("puts loop bodies and parallel branches inside their containers", () => {
    const g = definitionGraph({
      steps: [
        { id: "each", type: "loop", steps: [{ id: "v" }, { id: "u" }] },
        { id: "fan", type: "parallel", branches: [{ name: "left", steps: [{ id: "x" }] }, { name: "right", steps: [{ id: "y" }] }] },
      ],
    });
    const parent = Object.fromEntries(g.nodes.map((n) => [n.key, n.parent]));
    expect(parent["each/v"]).toBe("each");
    expect(parent["fan/left"]).toBe("fan");
    expect(parent["fan/left/x"]).toBe("fan/left");
    expect(g.edges.some((e) => e.source === "each/v" && e.target === "each/u")).toBe(true);
    expect(g.edges.some((e) => e.source === "each" && e.target === "fan")).toBe(true);
  });

  it("draws an on_error goto and hybrid dependencies", () => {
    const d: WorkflowDef = {
      execution_mode: "hybrid",
      steps: [{ id: "a", on_error: { action: "goto", goto: "c" } }, { id: "b" }, { id: "c", depends_on: ["a", "b"] }],
    };
    const e = edgesOf(d);
    expect(e).toContain("a>c:error");
    expect(e).toContain("a>c:depends");
    expect(e).toContain("b>c:depends");
    expect(e).toContain("$start>a:next");
    expect(e).not.toContain("$start>c:next");
  });

  it("maps an execution's step paths to graph keys (loop iterations and branch indices)", () => {
    const g = definitionGraph({
      steps: [
        { id: "each", type: "loop", steps: [{ id: "v" }] },
        { id: "fan", type: "parallel", branches: [{ name: "left", steps: [{ id: "x" }] }, { name: "right", steps: [{ id: "y" }] }] },
      ],
    });
    expect(pathKey("each/3/v", g)).toBe("each/v");
    expect(pathKey("fan/1/y", g)).toBe("fan/right/y");
    expect(pathKey("each", g)).toBe("each");
  });
});
