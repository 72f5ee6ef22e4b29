import { describe, expect, it } from "vitest";

import { toFlow } from "./convert";
import { addStep, canConnect, connect, disconnect, newStep, pasteSteps, removeSteps, renameStep, updateStep } from "./edit";
import { autoLayout } from "./elkLayout";
import { laneId, placeSteps, scopeEdges, scopes, stepKind, type WorkflowDef } from "./steps";
import { byStep, locate, placeProblems } from "./problems";
import { foldEvents } from "./runs";

const flow = (): WorkflowDef => ({
  id: "orders", name: "Orders",
  steps: [
    { id: "fetch", action: "http", with: { url: "https://x" } },
    { id: "big", type: "condition", default: "small", branches: [{ when: "steps.fetch.output.total > 100", next: "fan" }] },
    { id: "fan", type: "parallel", next: "$end", branches: [
      { name: "a", steps: [{ id: "a1", action: "log" }, { id: "a2", action: "log" }] },
      { name: "b", steps: [{ id: "b1", type: "wait", duration: "1h" }] }] },
    { id: "small", type: "loop", for_each: "input.items", steps: [{ id: "each", action: "transform" }] },
  ],
});

describe("definition → graph", () => {
  it("makes a node per step, lanes per branch, children inside their container", () => {
    const { nodes } = toFlow(flow());
    const byId = new Map(nodes.map((n) => [n.id, n]));
    expect([...byId.keys()].sort()).toEqual(
      ["a1", "a2", "b1", "big", "each", "fan", "fetch", laneId("fan", 0), laneId("fan", 1), "small"].sort());
    expect(byId.get("a1")!.parentId).toBe(laneId("fan", 0));
    expect(byId.get(laneId("fan", 1))!.parentId).toBe("fan");
    expect(byId.get("each")!.parentId).toBe("small");
    expect(byId.get("fan")!.type).toBe("parallel");
    // a parent always comes before its children (React Flow needs it)
    const order = nodes.map((n) => n.id);
    for (const n of nodes) if (n.parentId) expect(order.indexOf(n.parentId)).toBeLessThan(order.indexOf(n.id));
  });

  it("draws next (implicit too), branches, default and error paths; $end draws nothing", () => {
    const def = flow();
    def.steps[0].on_error = { action: "goto", goto: "small" };
    const { edges } = toFlow(def);
    const seen = edges.map((e) => `${e.source}:${e.sourceHandle}:${e.target}`).sort();
    expect(seen).toEqual([
      "a1:next:a2", "big:branch-0:fan", "big:default:small", "fetch:error:small", "fetch:next:big",
    ].sort());
    expect(edges.find((e) => e.source === "fetch" && e.sourceHandle === "next")!.className).toContain("edge-implicit");
  });

  it("lays problems and a run over the nodes", () => {
    const def = flow();
    const placed = placeProblems(def, [{ path: "$.steps[2].branches[0].steps[1].with", code: "x", message: "m" }], []);
    const run = foldEvents(new Map(), [{ type: "step_started", step_id: "fetch", attempt: 2 }, { type: "step_completed", step_id: "fetch", output: 1 }]);
    const { nodes } = toFlow(def, { problems: byStep(placed), run });
    const a2 = nodes.find((n) => n.id === "a2")!.data as { problems: unknown[] };
    expect(a2.problems).toHaveLength(1);
    expect((nodes.find((n) => n.id === "fetch")!.data as { run: unknown }).run).toEqual({ status: "completed", attempts: 2, input: undefined, error: null, output: 1 });
  });
});

describe("problem paths", () => {
  it("finds the innermost step and the field inside it", () => {
    const def = flow();
    expect(locate(def, "$.steps[1].branches[0].when")).toEqual({ step: "big", field: "branches[0].when" });
    expect(locate(def, "$.steps[2].branches[1].steps[0].duration")).toEqual({ step: "b1", field: "duration" });
    expect(locate(def, "$.steps[3].steps[0]")).toEqual({ step: "each", field: "" });
    expect(locate(def, "$.outputs.total")).toEqual({ step: undefined, field: "outputs.total" });
    expect(locate(def, "$.steps[9].next")).toEqual({ step: undefined, field: "steps[9].next" });
  });
});

describe("edits", () => {
  it("adds a step unconnected, keeping the last step's end", () => {
    const def = addStep(flow(), "", newStep(flow(), "action", "http"), { x: 10, y: 20 });
    expect(def.steps[4]).toMatchObject({ id: "http", action: "http" });
    expect(def.steps[3].next).toBe("$end");
    expect(scopeEdges(def, scopes(def)[0]).some((e) => e.target === def.steps[4].id)).toBe(false);
    expect(def.layout!.nodes![def.steps[4].id]).toEqual({ x: 10, y: 20 });
  });

  it("connects and disconnects through the field each handle stands for", () => {
    let def = addStep(flow(), laneId("fan", 1).slice(5), newStep(flow(), "wait"), { x: 0, y: 0 });
    def = connect(def, "b1", "next", "wait");
    expect(placeSteps(def).get("b1")!.step.next).toBeUndefined(); // the following step: implicit
    def = connect(def, "big", "branch-0", "small");
    expect(def.steps[1].branches![0].next).toBe("small");
    def = connect(def, "fetch", "error", "small");
    expect(def.steps[0].on_error).toEqual({ action: "goto", goto: "small" });
    def = disconnect(def, "fetch", "next", "big");
    expect(def.steps[0].next).toBe("$end");
    def = disconnect(def, "big", "default", "small");
    expect(def.steps[1].default).toBeUndefined();
  });

  it("refuses what the validator would refuse, and says why", () => {
    const def = flow();
    expect(canConnect(def, "fetch", "next", "fetch")).toMatch(/itself/);
    expect(canConnect(def, "a1", "next", "b1")).toMatch(/outside this parallel branch/);
    expect(canConnect(def, "each", "next", "fetch")).toMatch(/another scope/);
    expect(canConnect(def, "big", "default", "fetch")).toMatch(/cycle/);
    expect(canConnect(def, "fetch", "next", "small")).toBeNull();
    expect(canConnect(def, "a2", "next", "a1")).toMatch(/cycle/);
  });

  it("removes steps and what pointed at them; renames with every reference", () => {
    let def = removeSteps(flow(), ["small"]);
    expect(def.steps.map((s) => s.id)).toEqual(["fetch", "big", "fan"]);
    expect(def.steps[1].default).toBeUndefined();
    def = renameStep(flow(), "fan", "fanout");
    expect(def.steps[1].branches![0].next).toBe("fanout");
    expect(renameStep(flow(), "fan", "fetch").steps[2].id).toBe("fan"); // taken: no change
  });

  it("updates a step's own fields and keeps what it contains", () => {
    const def = updateStep(flow(), "fan", { id: "fan", type: "parallel", branches: [{ name: "x" }, { name: "y" }, { name: "z" }] });
    expect(def.steps[2].branches!.map((b) => [b.name, (b.steps ?? []).length])).toEqual([["x", 2], ["y", 1], ["z", 0]]);
    expect(stepKind(def.steps[2])).toBe("parallel");
  });

  it("pastes copies with fresh ids and their links among themselves", () => {
    const [def, ids] = pasteSteps(flow(), [{ id: "p", action: "log", next: "q" }, { id: "q", action: "log", next: "fetch" }], "");
    expect(ids).toEqual(["p", "q"]);
    const [again, ids2] = pasteSteps(def, [{ id: "p", action: "log", next: "q" }, { id: "q", action: "log" }], "");
    expect(ids2).toEqual(["p_2", "q_2"]);
    expect(placeSteps(again).get("p_2")!.step.next).toBe("q_2");
    expect(placeSteps(def).get("q")!.step.next).toBe("$end"); // fetch was not copied
  });
});

describe("auto layout", () => {
  it("places every step inside its container without overlaps in a scope", async () => {
    const positions = await autoLayout(flow());
    expect(Object.keys(positions).sort()).toEqual(["a1", "a2", "b1", "big", "each", "fan", "fetch", "small"]);
    expect(positions.a2.y).toBeGreaterThan(positions.a1.y);
    expect(positions.big.y).toBeGreaterThan(positions.fetch.y);
  }, 30_000); // elkjs (1.5 MB) loads on first use: slow on a loaded machine
});

describe("moving a step between containers", () => {
  it("takes a step out of a parallel branch to the top level, unlinked from what it left", async () => {
    const { moveStep } = await import("./move");
    const def = flow();
    def.steps[2].branches![0].steps![0].next = "a2";
    const moved = moveStep(def, "a2", "", { x: 500, y: 600 });
    const placed = placeSteps(moved);
    expect(placed.get("a2")!.scope.key).toBe("");
    expect(moved.steps.map((s) => s.id)).toEqual(["fetch", "big", "fan", "small", "a2"]);
    // a1 named it: it now ends its branch; the step that ran off the end now runs into it
    expect(placed.get("a1")!.step.next).toBe("$end");
    expect(placed.get("small")!.step.next).toBeUndefined();
    expect(scopeEdges(moved, placed.get("a2")!.scope).some((e) => e.source === "small" && e.target === "a2")).toBe(true);
    expect(moved.layout!.nodes!.a2).toEqual({ x: 500, y: 600 });
    expect(def.steps[2].branches![0].steps!.map((s) => s.id)).toEqual(["a1", "a2"]); // input untouched
  });

  it("puts a top-level step into a lane and a loop, with what it holds; never into itself", async () => {
    const { canMove, moveStep } = await import("./move");
    let def = flow();
    def.steps[0].next = "big";
    def = moveStep(def, "small", "fan/1", { x: 16, y: 120 });
    const placed = placeSteps(def);
    expect(placed.get("small")!.scope.key).toBe("fan/1");
    expect(placed.get("each")!.scope.key).toBe("small"); // the loop took its body along
    expect(scopeEdges(def, placed.get("b1")!.scope).map((e) => `${e.source}>${e.target}`)).toEqual(["b1>small"]);
    expect(canMove(def, "fan", "fan/0")).toContain("inside itself");
    expect(canMove(def, "fan", "small")).toContain("inside itself"); // the loop is inside fan now
    expect(moveStep(def, "fan", "small", { x: 0, y: 0 })).toBe(def);
    // the condition linked to small by default: that link is gone, not pointing across scopes
    expect(placed.get("big")!.step.default).toBeUndefined();
  });
});

describe("putting a step on an edge", () => {
  it("puts a step on a condition's branch: the branch leads to it, it leads on to the branch's target", async () => {
    const { insertOnEdge } = await import("./move");
    const before = addStep(flow(), "", { id: "audit", action: "log" }, { x: 0, y: 900 });
    const def = insertOnEdge(before, "audit", "big", "branch-0", "fan", { x: 300, y: 200 });
    const placed = placeSteps(def);
    expect(placed.get("big")!.step.branches![0].next).toBe("audit");
    const edges = scopeEdges(def, placed.get("audit")!.scope).map((e) => `${e.source}>${e.handle}>${e.target}`);
    expect(edges).toContain("audit>next>fan");
    expect(edges).toContain("big>branch-0>audit");
    expect(edges.filter((e) => e.endsWith(">audit"))).toEqual(["big>branch-0>audit"]); // small no longer runs into it
    expect(def.layout!.nodes!.audit).toEqual({ x: 300, y: 200 });
  });

  it("takes a step off its old path first, and brings one in from a branch", async () => {
    const { insertOnEdge } = await import("./move");
    // fetch → big; moving fetch onto big's default edge: the workflow now starts at big
    const def = insertOnEdge(flow(), "fetch", "big", "default", "small", { x: 0, y: 0 });
    expect(def.steps[0].id).toBe("big");
    expect(def.steps[def.steps.length - 1].id).toBe("fetch");
    const placed = placeSteps(def);
    expect(placed.get("big")!.step.default).toBe("fetch");
    expect(scopeEdges(def, placed.get("fetch")!.scope).filter((e) => e.source === "fetch").map((e) => e.target)).toEqual(["small"]);
    // a1, from branch a, onto big → fan: it is a top-level step now
    const moved = insertOnEdge(flow(), "a1", "big", "branch-0", "fan", { x: 0, y: 0 });
    expect(placeSteps(moved).get("a1")!.scope.key).toBe("");
    expect(placeSteps(moved).get("big")!.step.branches![0].next).toBe("a1");
    expect(insertOnEdge(flow(), "big", "big", "default", "small", { x: 0, y: 0 })).toEqual(flow()); // its own edge
  });
});
