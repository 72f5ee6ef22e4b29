import { describe, expect, it } from "vitest";

import type { WorkflowDef } from "../../graph/steps";
import { chunks, defaultMapping, mappingProblems, requestMapping, versionSteps } from "./migration";

const V1: WorkflowDef = {
  id: "approvals", name: "Approvals", steps: [
    { id: "hold", type: "wait", signal: "go" },
    { id: "each", type: "loop", for_each: "input.items", steps: [{ id: "ping", action: "log" }] },
    { id: "done", action: "transform" },
  ],
};
const V2: WorkflowDef = {
  id: "approvals", name: "Approvals", steps: [
    { id: "held", type: "wait", signal: "go" },
    { id: "each", type: "loop", for_each: "input.items", steps: [{ id: "ping", action: "log" }] },
    { id: "done", type: "wait", duration: "1m" },
    { id: "stamp", action: "transform" },
  ],
};

describe("a migration's step mapping", () => {
  const source = versionSteps(V1);
  const target = versionSteps(V2);

  it("lists the steps of every scope with their kind", () => {
    expect(source).toEqual([
      { id: "hold", kind: "wait", scope: "" }, { id: "each", kind: "loop", scope: "" },
      { id: "done", kind: "action", scope: "" }, { id: "ping", kind: "action", scope: "each" },
    ]);
  });

  it("starts with the same ids mapped to themselves and the others unmapped", () => {
    expect(defaultMapping(source, target)).toEqual({ hold: "", each: "each", done: "done", ping: "ping" });
  });

  it("names unmapped steps, a changed kind, an unknown target and a collision", () => {
    const problems = mappingProblems(source, target, defaultMapping(source, target), "2.0.0");
    expect(problems.map((p) => [p.step, p.code])).toEqual([["hold", "unmapped"], ["done", "step_type_changed"]]);
    expect(problems[0].message).toContain("hold has no step in 2.0.0");
    const wrong = mappingProblems(source, target, { hold: "held", each: "each", done: "held", ping: "nope" }, "2.0.0");
    expect(wrong.map((p) => [p.step, p.code])).toEqual([
      ["done", "step_type_changed"], ["done", "mapping_collision"], ["ping", "unknown_target_step"]]);
  });

  it("is clean once every step maps onto one of its kind", () => {
    expect(mappingProblems(source, target, { hold: "held", each: "each", done: "stamp", ping: "ping" }, "2.0.0")).toEqual([]);
  });

  it("sends only the renames", () => {
    expect(requestMapping({ hold: "held", each: "each", done: "" })).toEqual({ hold: "held" });
  });

  it("splits ids into requests the API takes", () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 2)).toEqual([]);
  });
});
