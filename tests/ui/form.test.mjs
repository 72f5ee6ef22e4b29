import assert from "node:assert/strict";
import {test} from "node:test";
import {fieldText, readFields, specFor} from "../../projections/ui/js/form-spec.js";
import {STEP_TYPES} from "../../projections/ui/js/graph.js";

test("each step type's form has id, its own fields and the common ones", () => {
  for (const type of STEP_TYPES) {
    const keys = specFor(type).map((s) => s.key);
    assert.equal(keys[0], "id");
    assert.ok(keys.includes("next") && keys.includes("timeout"), type);
  }
  assert.ok(specFor("wait").some((s) => s.key === "signal"));
  assert.ok(specFor("loop").some((s) => s.key === "while"));
});

test("texts become typed fields; blanks remove a field; other fields are kept", () => {
  const step = {id: "w", type: "wait", duration: 5, description: "kept"};
  const out = readFields("wait", step, {id: "w2", duration: "", signal: "go", timeout: "30", event: "", output: "{\"a\": 1}"});
  assert.deepEqual(out, {id: "w2", type: "wait", signal: "go", timeout: 30, output: {a: 1}, description: "kept"});
});

test("bad JSON or numbers name the field", () => {
  assert.throws(() => readFields("action", {id: "a"}, {with: "{oops"}), /^Error: with:/);
  assert.throws(() => readFields("wait", {id: "a"}, {duration: "soon"}), /duration: not a number/);
});

test("parallel branch names round-trip and keep each branch's steps", () => {
  const step = {id: "p", type: "parallel", branches: [{name: "a", steps: [{id: "x"}]}, {name: "b", steps: [{id: "y"}]}]};
  const spec = specFor("parallel").find((s) => s.key === "branches");
  assert.equal(fieldText(spec, step), "a, b");
  const out = readFields("parallel", step, {branches: "a, renamed, c"});
  assert.deepEqual(out.branches, [{name: "a", steps: [{id: "x"}]}, {name: "renamed", steps: [{id: "y"}]}, {name: "c"}]);
});

test("a condition's branch rows become its branches; a row without a condition is dropped", () => {
  const step = {id: "c", type: "condition", branches: [{when: "x", next: "a"}], default: "b"};
  const spec = specFor("condition").find((s) => s.key === "branches");
  assert.deepEqual(fieldText(spec, step), [{when: "x", next: "a"}]);
  const out = readFields("condition", step, {branches: [{when: " y ", next: "a"}, {when: "", next: "b"}, {when: "z", next: ""}]});
  assert.deepEqual(out.branches, [{when: "y", next: "a"}, {when: "z", next: "$end"}]);
  assert.equal(out.default, "b");
});
