import assert from "node:assert/strict";
import {readFileSync} from "node:fs";
import {test} from "node:test";
import {COLUMN, fromGraph, stepType, toGraph} from "../../projections/ui/js/graph.js";

const TEMPLATES = JSON.parse(readFileSync(new URL("../../projections/ui/templates.json", import.meta.url), "utf8"));
const template = (id) => TEMPLATES.find((t) => t.definition.id === id).definition;
const edges = (graph, kind) => graph.edges.filter((e) => e.kind === kind).map((e) => `${e.from}->${e.to}`);

test("every example workflow survives definition -> graph -> definition unchanged", () => {
  assert.ok(TEMPLATES.length >= 10);
  for (const {definition} of TEMPLATES) {
    assert.deepEqual(fromGraph(toGraph(definition)), definition, definition.id);
  }
});

test("a node per step, depth first, and an edge per jump of a condition", () => {
  const graph = toGraph(template("expense-approval"));
  assert.deepEqual(graph.nodes.map((n) => n.id), ["route", "ask_manager", "wait_decision", "decide", "approve", "reject"]);
  assert.deepEqual(edges(graph, "branch"), ["route->approve", "route->reject", "decide->approve"]);
  assert.deepEqual(edges(graph, "default"), ["route->ask_manager", "decide->reject"]);
  assert.deepEqual(edges(graph, "error"), ["wait_decision->reject"]);
  // A condition with a default never falls through; `next: $end` draws nothing.
  assert.deepEqual(edges(graph, "flow"), ["ask_manager->wait_decision", "wait_decision->decide"]);
  assert.deepEqual(edges(graph, "next"), []);
  assert.deepEqual(graph.edges.find((e) => e.kind === "branch").label, "input.amount <= 100.0");
});

const NESTED = {
  kind: "workflow", id: "nested", name: "Nested",
  steps: [
    {id: "each", type: "loop", for_each: "input.items", steps: [
      {id: "inner", type: "action", action: "log"},
      {id: "inner2", type: "wait", duration: 5}]},
    {id: "fan", type: "parallel", branches: [
      {name: "left", steps: [{id: "l1", action: "log"}]},
      {name: "right", steps: [{id: "r1", workflow_id: "hello"}]}]},
    {id: "done", type: "action", action: "log", next: "$end"},
  ],
};

test("loop bodies and parallel branches are scopes one column to the right", () => {
  const graph = toGraph(NESTED);
  const node = (id) => graph.nodes.find((n) => n.id === id);
  assert.deepEqual(graph.nodes.map((n) => [n.id, n.scope, n.depth]), [
    ["each", "$", 0], ["inner", "each", 1], ["inner2", "each", 1], ["fan", "$", 0],
    ["l1", "fan[0]", 1], ["r1", "fan[1]", 1], ["done", "$", 0]]);
  assert.equal(node("inner").x, COLUMN);
  assert.ok(node("inner2").y > node("inner").y);
  assert.deepEqual(edges(graph, "contains"), ["each->inner", "fan->l1", "fan->r1"]);
  assert.deepEqual(graph.edges.filter((e) => e.kind === "contains").map((e) => e.label), ["body", "left", "right"]);
  // Flow stays inside a scope: the last step of a body does not flow to the next top-level step.
  assert.deepEqual(edges(graph, "flow"), ["each->fan", "inner->inner2", "fan->done"]);
  assert.equal(stepType(node("r1").step), "subprocess");
  assert.deepEqual(fromGraph(graph), NESTED);
});

test("parallel and hybrid modes draw dependencies instead of top-level flow", () => {
  const definition = {id: "dag", name: "Dag", execution_mode: "hybrid", steps: [
    {id: "a", action: "log"}, {id: "b", action: "log"}, {id: "c", action: "log", depends_on: ["a", "b"]}]};
  const graph = toGraph(definition);
  assert.deepEqual(edges(graph, "flow"), []);
  assert.deepEqual(edges(graph, "depends"), ["a->c", "b->c"]);
});

test("graph size grows with rows and nesting; an empty definition is an empty graph", () => {
  const graph = toGraph(NESTED);
  assert.equal(graph.width, 2 * COLUMN);
  assert.equal(toGraph({id: "x", name: "x"}).nodes.length, 0);
  assert.deepEqual(fromGraph(toGraph({id: "x", name: "x"})), {id: "x", name: "x", steps: []});
});

test("edges routed beside the nodes never share a lane where their rows overlap", async () => {
  const {assignLanes} = await import("../../projections/ui/js/pages/canvas.js");
  const graph = toGraph(template("expense-approval"));
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const lanes = assignLanes(graph.edges, byId);
  const spans = [...lanes].map(([edge, lane]) => {
    const ys = [byId.get(edge.from).y, byId.get(edge.to).y];
    return {lane, top: Math.min(...ys), bottom: Math.max(...ys)};
  });
  for (const p of spans) {
    for (const q of spans) {
      if (p !== q && p.lane === q.lane) assert.ok(p.bottom < q.top || q.bottom < p.top, "overlap in one lane");
    }
  }
  assert.ok(Math.max(...spans.map((s) => s.lane)) >= 2, "the condition's arms spread over lanes");
});
