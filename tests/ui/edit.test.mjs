import assert from "node:assert/strict";
import {test} from "node:test";
import {addStep, connect, disconnect, findStep, removeStep, updateStep, walkSteps} from "../../projections/ui/js/edit.js";
import {STEP_TYPES, toGraph} from "../../projections/ui/js/graph.js";

function deepFreeze(value) {
  if (value && typeof value === "object") {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

const BASE = deepFreeze({
  kind: "workflow", id: "w", name: "W", start_at: "b", on_error: {action: "goto", goto: "c"},
  steps: [
    {id: "a", type: "condition", branches: [{when: "x", next: "c"}, {when: "y", next: "b"}], default: "c"},
    {id: "b", type: "action", action: "log", next: "c", on_error: {action: "goto", goto: "c"}},
    {id: "c", type: "loop", for_each: "input.xs", steps: [{id: "c1", type: "action", action: "log"}]},
    {id: "d", type: "action", action: "log", depends_on: ["c", "b"]},
  ],
});
const ids = (definition) => [...walkSteps(definition.steps)].map((x) => x.step.id);

test("every step type can be added, with a fresh id, without touching the input", () => {
  let definition = BASE;
  for (const type of STEP_TYPES) {
    const [next, id] = addStep(definition, type);
    assert.equal(findStep(next, id).step.type, type);
    definition = next;
  }
  const [again, id] = addStep(definition, "action");
  assert.equal(id, "action_2");
  assert.equal(new Set(ids(again)).size, ids(again).length, "ids stay unique, nested ones too");
  assert.deepEqual(ids(BASE), ["a", "b", "c", "c1", "d"]);
});

test("a step can be added inside a loop body or a parallel branch", () => {
  const [inLoop, id] = addStep(BASE, "wait", {scope: "c"});
  assert.deepEqual(findStep(inLoop, "c").step.steps.map((s) => s.id), ["c1", id]);
  const [withFan, fan] = addStep(BASE, "parallel");
  const [inBranch, leaf] = addStep(withFan, "action", {scope: `${fan}[1]`});
  assert.equal(findStep(inBranch, fan).step.branches[1].steps.at(-1).id, leaf);
  assert.throws(() => addStep(BASE, "action", {scope: "nope"}), /no scope/);
});

test("removing a step removes every jump to it, and its nested steps", () => {
  const next = removeStep(BASE, "c");
  assert.deepEqual(ids(next), ["a", "b", "d"]);
  const [a, b, d] = next.steps;
  assert.deepEqual(a.branches, [{when: "y", next: "b"}]);
  assert.equal(a.default, undefined);
  assert.equal(b.next, undefined);
  assert.equal(b.on_error, undefined);
  assert.deepEqual(d.depends_on, ["b"]);
  assert.equal(next.on_error, undefined);
  assert.equal(removeStep(BASE, "b").start_at, undefined);
  const graph = toGraph(next);
  assert.ok(graph.edges.every((e) => ids(next).includes(e.to)), "no edge to a missing step");
});

test("connect writes each kind of jump, and disconnect takes it back", () => {
  const cases = [
    ["b", "d", "next", (def) => findStep(def, "b").step.next, "d"],
    ["a", "d", "branch", (def) => findStep(def, "a").step.branches.at(-1), {when: "z", next: "d"}],
    ["a", "d", "default", (def) => findStep(def, "a").step.default, "d"],
    ["b", "d", "error", (def) => findStep(def, "b").step.on_error, {action: "goto", goto: "d"}],
    ["a", "d", "depends", (def) => findStep(def, "d").step.depends_on, ["c", "b", "a"]],
  ];
  for (const [from, to, kind, read, expected] of cases) {
    const next = connect(BASE, from, to, kind, {when: "z"});
    assert.deepEqual(read(next), expected, kind);
    const edge = toGraph(next).edges.find((e) => e.kind === kind && e.from === from && e.to === to
      && (kind !== "branch" || e.label === "z"));
    assert.ok(edge, `${kind} edge drawn`);
    const back = disconnect(next, edge);
    assert.ok(!toGraph(back).edges.some((e) => e.kind === kind && e.from === from && e.to === to && (kind !== "branch" || e.label === "z")), `${kind} removed`);
  }
  assert.throws(() => connect(BASE, "b", "d", "branch"), /not a condition/);
  assert.throws(() => connect(BASE, "b", "zz", "next"), /no step zz/);
});

test("disconnecting an implicit flow ends the step instead", () => {
  const plain = {id: "p", name: "P", steps: [{id: "x", action: "log"}, {id: "y", action: "log"}]};
  const edge = toGraph(plain).edges[0];
  assert.equal(edge.kind, "flow");
  assert.equal(disconnect(plain, edge).steps[0].next, "$end");
});

test("renaming a step renames every reference; a loop keeps its body", () => {
  const next = updateStep(BASE, "c", {id: "cc", type: "loop", while: "vars.more", max_iterations: 3});
  assert.deepEqual(next.steps[0].branches.map((b) => b.next), ["cc", "b"]);
  assert.equal(next.steps[0].default, "cc");
  assert.equal(next.steps[1].next, "cc");
  assert.equal(next.on_error.goto, "cc");
  assert.deepEqual(next.steps[3].depends_on, ["cc", "b"]);
  assert.deepEqual(findStep(next, "cc").step, {id: "cc", type: "loop", while: "vars.more", max_iterations: 3,
    steps: [{id: "c1", type: "action", action: "log"}]});
});

test("a new parallel branch gets a step of its own; existing branches keep theirs", () => {
  const [withFan, fan] = addStep(BASE, "parallel");
  const before = findStep(withFan, fan).step;
  const next = updateStep(withFan, fan, {...before, branches: [{name: "a"}, {name: "b"}, {name: "c"}]});
  const branches = findStep(next, fan).step.branches;
  assert.deepEqual(branches.slice(0, 2), before.branches);
  assert.equal(branches[2].steps.length, 1);
  assert.equal(new Set(ids(next)).size, ids(next).length);
});

test("moving a step changes its place in its own scope only", async () => {
  const {moveStep} = await import("../../projections/ui/js/edit.js");
  assert.deepEqual(moveStep(BASE, "b", -1).steps.map((s) => s.id), ["b", "a", "c", "d"]);
  assert.deepEqual(moveStep(BASE, "d", 1).steps.map((s) => s.id), ["a", "b", "c", "d"], "the last stays last");
  const [withTwo] = addStep(BASE, "action", {scope: "c", id: "c2"});
  assert.deepEqual(findStep(moveStep(withTwo, "c2", -1), "c").step.steps.map((s) => s.id), ["c2", "c1"]);
  const plain = {id: "p", name: "P", steps: [{id: "x", action: "log"}, {id: "y", action: "log"}, {id: "z", action: "log"}]};
  const flows = toGraph(moveStep(plain, "z", -1)).edges.filter((e) => e.kind === "flow").map((e) => `${e.from}->${e.to}`);
  assert.deepEqual(flows, ["x->z", "z->y"], "the implied flow follows the new order");
});
