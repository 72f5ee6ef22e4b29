// A workflow definition seen as a graph, and back. The definition stays the source of truth:
// the designer edits it (edit.js) and redraws toGraph(definition); fromGraph(toGraph(d)) == d.
//
// Scopes: the top-level steps, each loop body and each parallel branch. A node's `scope` is
// "$" (top), "<loop id>" (its body) or "<parallel id>[i]" (branch i).

export const STEP_TYPES = ["action", "condition", "loop", "parallel", "subprocess", "wait"];

// The same clues the server uses when a step leaves out `type` (schemas/definitions/steps.py).
const CLUES = [["action", "action"], ["for_each", "loop"], ["while", "loop"],
  ["default", "condition"], ["workflow_id", "subprocess"], ["duration", "wait"],
  ["until", "wait"], ["signal", "wait"], ["event", "wait"]];

export const COLUMN = 240;
export const ROW = 84;

/** A step's type: its `type`, else what its keys tell, else null. */
export function stepType(step) {
  if (step && typeof step.type === "string") return step.type;
  for (const [key, type] of CLUES) if (step && key in step) return type;
  return null;
}

/** The scopes nested in a step: [{key, steps}] (a loop's body, a parallel step's branches). */
export function childScopes(step) {
  const type = stepType(step);
  if (type === "loop" && Array.isArray(step.steps)) return [{key: step.id, steps: step.steps}];
  if (type === "parallel" && Array.isArray(step.branches)) {
    return step.branches.map((branch, i) => ({key: `${step.id}[${i}]`, steps: branch?.steps || [],
      name: branch?.name}));
  }
  return [];
}

/** The step without its nested steps (those become nodes of their own). */
function shallow(step) {
  const type = stepType(step);
  if (type === "loop") {
    const {steps, ...rest} = step;
    return {...rest, steps: undefined};
  }
  if (type === "parallel" && Array.isArray(step.branches)) {
    return {...step, branches: step.branches.map(({steps, ...rest}) => ({...rest}))};
  }
  return {...step};
}

function edgesOf(step, scope, following, mode) {
  const edges = [];
  const from = step.id;
  const type = stepType(step);
  const parallelTop = scope === "$" && mode !== "sequential";
  if (typeof step.next === "string" && step.next !== "$end" && !parallelTop) {
    edges.push({from, to: step.next, kind: "next"});
  } else if (step.next === undefined && following && !parallelTop &&
             !(type === "condition" && step.default)) {
    // A condition with a default never falls through to the following step.
    edges.push({from, to: following, kind: "flow"});
  }
  if (type === "condition") {
    (step.branches || []).forEach((branch, index) => {
      if (branch && branch.next && branch.next !== "$end") {
        edges.push({from, to: branch.next, kind: "branch", label: branch.when, index});
      }
    });
    if (step.default && step.default !== "$end") {
      edges.push({from, to: step.default, kind: "default", label: "default"});
    }
  }
  const goto = step.on_error && typeof step.on_error === "object" ? step.on_error.goto : null;
  if (goto && goto !== "$end") edges.push({from, to: goto, kind: "error", label: "on error"});
  for (const dependency of step.depends_on || []) {
    edges.push({from: dependency, to: from, kind: "depends"});
  }
  for (const child of childScopes(step)) {
    if (child.steps.length) {
      edges.push({from, to: child.steps[0].id, kind: "contains", label: child.name ?? "body"});
    }
  }
  return edges;
}

/**
 * The graph of a workflow definition.
 * @returns {{workflow: object, nodes: object[], edges: object[], width: number, height: number}}
 *   nodes in depth-first order with {id, type, label, scope, depth, x, y, step}.
 */
export function toGraph(definition) {
  const {steps, ...workflow} = definition || {};
  const nodes = [];
  const edges = [];
  const mode = workflow.execution_mode || "sequential";
  let row = 0;
  const walk = (list, scope, depth) => {
    list.forEach((step, i) => {
      const safe = step && typeof step === "object" ? step : {};
      const following = i + 1 < list.length ? list[i + 1]?.id : null;
      nodes.push({id: safe.id, type: stepType(safe), label: safe.name || safe.id, scope, depth,
        x: depth * COLUMN, y: row * ROW, step: shallow(safe)});
      row += 1;
      edges.push(...edgesOf(safe, scope, following, mode));
      for (const child of childScopes(safe)) walk(child.steps, child.key, depth + 1);
    });
  };
  walk(Array.isArray(steps) ? steps : [], "$", 0);
  const depth = nodes.reduce((most, node) => Math.max(most, node.depth), 0);
  return {workflow, nodes, edges, width: (depth + 1) * COLUMN, height: Math.max(1, row) * ROW};
}

/** The definition a graph shows: nodes put back in their scopes, in order. */
export function fromGraph(graph) {
  const byScope = new Map();
  for (const node of graph.nodes) {
    if (!byScope.has(node.scope)) byScope.set(node.scope, []);
    byScope.get(node.scope).push(node);
  }
  const build = (scope) => (byScope.get(scope) || []).map((node) => {
    const step = {...node.step};
    if (node.type === "loop") {
      step.steps = build(node.id);
    } else if (node.type === "parallel" && Array.isArray(step.branches)) {
      step.branches = step.branches.map((branch, i) => ({...branch, steps: build(`${node.id}[${i}]`)}));
    }
    for (const key of Object.keys(step)) if (step[key] === undefined) delete step[key];
    return step;
  });
  return {...graph.workflow, steps: build("$")};
}
