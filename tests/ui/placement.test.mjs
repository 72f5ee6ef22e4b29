import assert from "node:assert/strict";
import {test} from "node:test";
import {fieldLabel, locate, parsePath, placeErrors} from "../../projections/ui/js/placement.js";

const DEF = {
  id: "w", name: "W",
  steps: [
    {id: "route", type: "condition", branches: [{when: "x", next: "nowhere"}]},
    {id: "fan", type: "parallel", branches: [{name: "a", steps: [{id: "fetch", action: "http", with: {url: "x", steps: [{id: "not-a-step"}]}}]}]},
    {id: "each", type: "loop", for_each: "xs", steps: [{id: "body", action: "log"}]},
  ],
};

test("JSONPath parts: members, indexes and quoted keys", () => {
  assert.deepEqual(parsePath("$.steps[2].with[\"content-type\"].x"), ["steps", 2, "with", "content-type", "x"]);
  assert.deepEqual(parsePath("$"), []);
  assert.equal(fieldLabel(["branches", 0, "next"]), "branches[0].next");
});

test("a problem lands on the deepest step its path goes through", () => {
  assert.deepEqual(locate(DEF, "$.steps[0].branches[0].next"), {step: "route", field: "branches[0].next"});
  assert.deepEqual(locate(DEF, "$.steps[1].branches[0].steps[0].with.url"), {step: "fetch", field: "with.url"});
  assert.deepEqual(locate(DEF, "$.steps[2].steps[0].action"), {step: "body", field: "action"});
  assert.deepEqual(locate(DEF, "$.steps[2].max_iterations"), {step: "each", field: "max_iterations"});
  // A "steps" list inside an action's configuration is data, not a scope.
  assert.deepEqual(locate(DEF, "$.steps[1].branches[0].steps[0].with.steps[0].id"), {step: "fetch", field: "with.steps[0].id"});
});

test("problems outside any step are the workflow's", () => {
  const placed = placeErrors(DEF, [
    {path: "$.name", code: "empty_value", message: "m1"},
    {path: "$.steps[7]", code: "x", message: "no such index"},
    {path: "$.steps[0].branches[0].next", code: "unknown_step", message: "m2"},
    {path: "$.steps[0]", code: "unreachable_step", message: "m3"},
  ]);
  assert.deepEqual(placed.workflow.map((p) => p.message), ["m1", "no such index"]);
  assert.deepEqual(placed.steps.route.map((p) => [p.field, p.code]), [["branches[0].next", "unknown_step"], ["", "unreachable_step"]]);
  assert.deepEqual(placeErrors(DEF, undefined), {steps: {}, workflow: []});
});
