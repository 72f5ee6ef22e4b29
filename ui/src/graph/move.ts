// Moving placed steps, as the canvas does when a step is dragged: into or out of a loop's
// body or a parallel branch (`moveStep`), or onto an edge (`insertOnEdge`: the edge's source
// now leads to the step and the step on to the edge's target, which is how a step joins a
// condition's branch). Pure: each returns a new definition and leaves its input alone.
import { clone, connect, find, retarget, scopeIn, setPositions, withLayout } from "./edit";
import {
  END, errorGoto, isDag, placeSteps, scopes, stepKind,
  type Handle, type NodePosition, type StepDef, type WorkflowDef,
} from "./steps";

/** The container scopes a step holds, at any depth (a loop's body, a parallel's branches). */
function heldScopes(def: WorkflowDef, id: string): Set<string> {
  const placed = placeSteps(def);
  const inside = new Set<string>();
  for (const scope of scopes(def)) {  // outermost first: a holder's own scope is seen before
    const holder = scope.container;
    if (holder && (holder === id || inside.has(placed.get(holder)?.scope.key ?? ""))) inside.add(scope.key);
  }
  return inside;
}

/** Why a step cannot move into a scope, or null when it can. */
export function canMove(def: WorkflowDef, id: string, scopeKey: string): string | null {
  const placed = find(def, id);
  if (!placed) return "no such step";
  if (!scopeIn(def, scopeKey)) return "no such container";
  if (heldScopes(def, id).has(scopeKey)) return `${id} cannot go inside itself`;
  return null;
}

/** Move a step (with what it holds) into another scope: the top level, a loop's body or a
 * parallel branch. It joins the end of that scope's list (the step that ended it by running
 * off the end now runs on into it: moved into a branch, it runs in that branch), at `at`
 * (relative to its new container). In its old scope, what named it now ends there (as a
 * deletion does), and its own links to steps it left behind are dropped (a step only leads
 * to steps of its own list). */
export function moveStep(def: WorkflowDef, id: string, scopeKey: string, at: NodePosition): WorkflowDef {
  const placed = find(def, id);
  if (!placed || canMove(def, id, scopeKey)) return def;
  if (placed.scope.key === scopeKey) return setPositions(def, { [id]: at });
  const out = clone(def);
  const from = find(out, id)!;
  from.scope.steps.splice(from.index, 1);
  if (from.scope.kind === "top") out.steps = from.scope.steps;
  retarget(out, (ref) => (ref === id ? null : ref));
  const step = from.step;
  const kept = new Set(scopeIn(out, scopeKey)!.steps.map((s) => s.id));
  unlink(step, kept);
  const into = scopeIn(out, scopeKey)!;
  into.steps.push(step);
  if (into.kind === "top") out.steps = into.steps;
  else if (into.kind === "loop") find(out, into.container!)!.step.steps = into.steps;
  else find(out, into.container!)!.step.branches![into.branch!].steps = into.steps;
  withLayout(out)[id] = at;
  return out;
}

/** Drop a step's own links (not those of the steps it holds) to steps outside `kept`. */
function unlink(step: StepDef, kept: ReadonlySet<string>): void {
  const keep = (ref: string | null | undefined) => ref == null || ref === END || kept.has(ref);
  if (!keep(step.next)) delete step.next;
  if (!keep(step.default)) delete step.default;
  if (stepKind(step) === "condition") {
    step.branches = (step.branches ?? []).map((b) => (keep(b.next) ? b : { ...b, next: END }));
  }
  if (!keep(errorGoto(step))) delete step.on_error;
  if (step.depends_on) step.depends_on = step.depends_on.filter((d) => kept.has(d));
}


/** Put a step on an edge: `source` (by `handle`) now leads to it and it leads on to `target`.
 * A step from another list first moves into the edge's list; one from the same list is first
 * taken out of its path (what led to it now leads where it led). Not in a parallel or hybrid
 * workflow's top level (its steps connect by `depends_on`), nor onto its own edges. */
export function insertOnEdge(def: WorkflowDef, id: string, source: string, handle: Handle, target: string,
                             at: NodePosition): WorkflowDef {
  const edge = find(def, source);
  const placed = find(def, id);
  if (!edge || !placed || id === source || id === target || !find(def, target)) return def;
  if (edge.scope.kind === "top" && isDag(def)) return def;
  let out: WorkflowDef;
  if (placed.scope.key !== edge.scope.key) {
    if (canMove(def, id, edge.scope.key)) return def;
    out = moveStep(def, id, edge.scope.key, at);
  } else {
    out = setPositions(splice(def, id), { [id]: at });
  }
  out = connect(out, source, handle, id);
  return connect(out, id, stepKind(find(out, id)!.step) === "condition" ? "default" : "next", target);
}

/** Take a step out of its path and put it at the end of its list, unlinked: what named it,
 * and the step that ran into it, now lead to where it led (its `next`, else the following
 * step; the end for a condition); a workflow that started with it starts there. */
function splice(def: WorkflowDef, id: string): WorkflowDef {
  const out = clone(def);
  const { step, scope, index } = find(out, id)!;
  const list = scope.steps;
  const following = list[index + 1]?.id ?? END;
  const after = stepKind(step) === "condition" ? END : step.next ?? following;
  const previous = list[index - 1];
  if (previous && previous.next == null && stepKind(previous) !== "condition" && after !== following) previous.next = after;
  if (scope.kind === "top" && index === 0 && !out.start_at && after !== following && after !== END) out.start_at = after;
  retarget(out, (ref) => (ref === id ? (after === END ? null : after) : ref));
  list.splice(index, 1);
  const last = list[list.length - 1];
  if (last && last.next == null && stepKind(last) !== "condition" && !(scope.kind === "top" && isDag(out))) last.next = END;
  delete step.next;
  if (stepKind(step) === "condition") delete step.default;
  if (errorGoto(step)) delete step.on_error;
  list.push(step);
  if (scope.kind === "top") out.steps = list;
  return out;
}
