// Edits of a workflow definition, as the designer makes them. Each returns a new definition
// and never changes its argument, so undo is keeping the previous value.
import {childScopes, stepType} from "./graph.js";

const clone = (value) => JSON.parse(JSON.stringify(value));

/** Every step of a list and of the scopes nested in it, depth first, with its list. */
export function* walkSteps(steps) {
  for (let i = 0; i < (steps || []).length; i += 1) {
    const step = steps[i];
    yield {step, list: steps, index: i};
    for (const child of childScopes(step)) yield* walkSteps(child.steps);
  }
}

/** The step with this id at any depth, with the list that holds it; null if none. */
export function findStep(definition, id) {
  for (const found of walkSteps(definition.steps)) if (found.step.id === id) return found;
  return null;
}

/** An id not used by any step yet: base, base_2, base_3, … */
export function uniqueId(definition, base) {
  const used = new Set([...walkSteps(definition.steps)].map((x) => x.step.id));
  const slug = String(base).toLowerCase().replace(/[^a-z0-9_.-]+/g, "_").replace(/^[^a-z0-9]+/, "") || "step";
  if (!used.has(slug)) return slug;
  for (let n = 2; ; n += 1) if (!used.has(`${slug}_${n}`)) return `${slug}_${n}`;
}

/** A new step of a type with the fields it needs to be valid. */
export function newStep(definition, type, id) {
  const stepId = uniqueId(definition, id || type);
  const leaf = (suffix) => ({id: uniqueId({steps: [{id: stepId}, ...(definition.steps || [])]},
    `${stepId}_${suffix}`), type: "action", action: "log", with: {message: suffix}});
  switch (type) {
    case "action": return {id: stepId, type, action: "log", with: {message: "hello"}};
    case "condition": return {id: stepId, type, branches: [{when: "true", next: "$end"}]};
    case "loop": return {id: stepId, type, for_each: "input.items", steps: [leaf("item")]};
    case "parallel": {
      const first = leaf("a");
      const second = {...leaf("b"), id: uniqueId({steps: [{id: stepId}, first, ...(definition.steps || [])]}, `${stepId}_b`)};
      return {id: stepId, type, branches: [{name: "a", steps: [first]}, {name: "b", steps: [second]}]};
    }
    case "subprocess": return {id: stepId, type, workflow_id: "hello"};
    case "wait": return {id: stepId, type, duration: 60};
    default: throw new Error(`unknown step type ${type}`);
  }
}

/** The list a scope key names ("$", a loop id, "<parallel id>[i]"), inside `definition`. */
export function scopeList(definition, scope) {
  if (scope === "$" || !scope) return definition.steps;
  const match = /^(.*)\[(\d+)\]$/.exec(scope);
  const owner = findStep(definition, match ? match[1] : scope);
  if (!owner) return null;
  if (match) return owner.step.branches?.[Number(match[2])]?.steps ?? null;
  return stepType(owner.step) === "loop" ? owner.step.steps : null;
}

/** Adds a step of `type` at the end of `scope` (default top level); returns [definition, id]. */
export function addStep(definition, type, {scope = "$", id} = {}) {
  const next = clone(definition);
  next.steps = next.steps || [];
  const list = scopeList(next, scope);
  if (!list) throw new Error(`no scope ${scope}`);
  const step = newStep(next, type, id);
  list.push(step);
  return [next, step.id];
}

function dropReferences(step, id) {
  if (step.next === id) delete step.next;
  if (step.default === id) delete step.default;
  if (stepType(step) === "condition" && Array.isArray(step.branches)) {
    step.branches = step.branches.filter((branch) => branch.next !== id);
  }
  if (step.on_error && typeof step.on_error === "object" && step.on_error.goto === id) {
    delete step.on_error;
  }
  if (Array.isArray(step.depends_on)) step.depends_on = step.depends_on.filter((d) => d !== id);
}

/** Removes a step (and the steps nested in it) and every jump that named it. */
export function removeStep(definition, id) {
  const next = clone(definition);
  const found = findStep(next, id);
  if (!found) return next;
  found.list.splice(found.index, 1);
  const gone = new Set([id, ...[...walkSteps(childScopes(found.step).flatMap((c) => c.steps))]
    .map((x) => x.step.id)]);
  for (const {step} of walkSteps(next.steps)) for (const dead of gone) dropReferences(step, dead);
  if (gone.has(next.start_at)) delete next.start_at;
  if (next.on_error && typeof next.on_error === "object" && gone.has(next.on_error.goto)) {
    delete next.on_error;
  }
  return next;
}

/** Moves a step up (delta -1) or down (+1) within its scope; the order sets the implied flow. */
export function moveStep(definition, id, delta) {
  const next = clone(definition);
  const found = findStep(next, id);
  const to = found ? found.index + delta : -1;
  if (!found || to < 0 || to >= found.list.length) return next;
  const [step] = found.list.splice(found.index, 1);
  found.list.splice(to, 0, step);
  return next;
}

/**
 * Connects two steps. kind: "next" (from.next = to), "branch" (a condition arm when `when`),
 * "default" (a condition's default), "error" (on_error goto), "depends" (to depends on from).
 */
export function connect(definition, from, to, kind, {when = "true"} = {}) {
  const next = clone(definition);
  const source = findStep(next, from)?.step;
  const target = findStep(next, to)?.step;
  if (!source || (!target && to !== "$end")) throw new Error(`no step ${source ? to : from}`);
  if (kind === "next") source.next = to;
  else if (kind === "branch" || kind === "default") {
    if (stepType(source) !== "condition") throw new Error(`${from} is not a condition step`);
    if (kind === "branch") source.branches = [...(source.branches || []), {when, next: to}];
    else source.default = to;
  } else if (kind === "error") source.on_error = {action: "goto", goto: to};
  else if (kind === "depends") {
    target.depends_on = [...new Set([...(target.depends_on || []), from])];
  } else throw new Error(`unknown connection ${kind}`);
  return next;
}

/** Removes one edge of toGraph(definition) (a "flow" edge is implicit: it ends the step). */
export function disconnect(definition, edge) {
  const next = clone(definition);
  const source = findStep(next, edge.kind === "depends" ? edge.to : edge.from)?.step;
  if (!source) return next;
  if (edge.kind === "next") delete source.next;
  else if (edge.kind === "flow") source.next = "$end";
  else if (edge.kind === "branch") source.branches.splice(edge.index, 1);
  else if (edge.kind === "default") delete source.default;
  else if (edge.kind === "error") delete source.on_error;
  else if (edge.kind === "depends") source.depends_on = source.depends_on.filter((d) => d !== edge.from);
  return next;
}

/** Replaces a step's own fields (nested steps are kept); a new id is renamed everywhere. */
export function updateStep(definition, id, fields) {
  let next = clone(definition);
  const found = findStep(next, id);
  if (!found) throw new Error(`no step ${id}`);
  const kept = {};
  if ("steps" in found.step && stepType(found.step) === "loop") kept.steps = found.step.steps;
  const replaced = {...clone(fields), ...kept};
  if (stepType(found.step) === "parallel" && Array.isArray(replaced.branches)) {
    replaced.branches = replaced.branches.map((branch, i) => {
      const steps = branch.steps || found.step.branches?.[i]?.steps;
      // A new branch gets one step, since an empty scope is not a valid definition.
      return {...branch, steps: steps || [newStep(next, "action", `${replaced.id}_${branch.name}`)]};
    });
  }
  found.list[found.index] = replaced;
  if (replaced.id !== id) next = renameStep(next, id, replaced.id);
  return next;
}

function renameStep(definition, from, to) {
  const swap = (value) => (value === from ? to : value);
  for (const {step} of walkSteps(definition.steps)) {
    if (step.next !== undefined) step.next = swap(step.next);
    if (step.default !== undefined) step.default = swap(step.default);
    if (stepType(step) === "condition" && Array.isArray(step.branches)) {
      for (const branch of step.branches) branch.next = swap(branch.next);
    }
    if (step.on_error && typeof step.on_error === "object" && step.on_error.goto) {
      step.on_error.goto = swap(step.on_error.goto);
    }
    if (Array.isArray(step.depends_on)) step.depends_on = step.depends_on.map(swap);
  }
  if (definition.start_at !== undefined) definition.start_at = swap(definition.start_at);
  if (definition.on_error && typeof definition.on_error === "object" && definition.on_error.goto) {
    definition.on_error.goto = swap(definition.on_error.goto);
  }
  return definition;
}
