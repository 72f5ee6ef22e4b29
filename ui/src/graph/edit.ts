// Pure edits of a workflow definition, as the canvas makes them: each returns a new
// definition and leaves its input alone, so undo is keeping the old one.
import {
  END, errorGoto, isDag, placeSteps, scopeEdges, scopes, stepKind,
  type Handle, type NodePosition, type Scope, type StepDef, type StepKind, type WorkflowDef,
} from "./steps";

// clone, scopeIn, withLayout, find and retarget are shared with move.ts (the moves of placed
// steps); they are not part of the graph's public edits.
export const clone = <T,>(value: T): T => structuredClone(value);

export function scopeIn(def: WorkflowDef, key: string): Scope | undefined {
  return scopes(def).find((s) => s.key === key);
}

export function withLayout(def: WorkflowDef): Record<string, NodePosition> {
  def.layout = { ...(def.layout ?? {}), nodes: { ...(def.layout?.nodes ?? {}) } };
  return def.layout.nodes!;
}

/** An id not used yet: `base`, else `base_2`, `base_3`… (ids are read as `steps.<id>`). */
export function freshId(def: WorkflowDef, base: string): string {
  const used = placeSteps(def);
  const clean = base.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^([^A-Za-z_])/, "_$1").slice(0, 56) || "step";
  if (!used.has(clean)) return clean;
  for (let n = 2; ; n++) if (!used.has(`${clean}_${n}`)) return `${clean}_${n}`;
}

/** What a new step of a kind starts as (the validator then says what is missing). */
export function newStep(def: WorkflowDef, kind: StepKind, action?: string): StepDef {
  const id = freshId(def, action ?? kind);
  switch (kind) {
    case "action": return { id, type: "action", action: action ?? "log" };
    case "condition": return { id, type: "condition", branches: [{ when: "true", next: END }] };
    case "loop": return { id, type: "loop", for_each: "input.items", steps: [] };
    case "parallel": return { id, type: "parallel", branches: [{ name: "a", steps: [] }, { name: "b", steps: [] }] };
    case "subprocess": return { id, type: "subprocess", workflow_id: "" };
    case "wait": return { id, type: "wait", duration: "1m" };
  }
}

/** Add `step` at the end of a scope, unconnected: the step that ended the scope still ends it. */
export function addStep(def: WorkflowDef, scopeKey: string, step: StepDef, at: NodePosition): WorkflowDef {
  const out = clone(def);
  const scope = scopeIn(out, scopeKey);
  if (!scope) return def;
  const last = scope.steps[scope.steps.length - 1];
  const dag = scope.kind === "top" && isDag(out);
  if (last && !dag && last.next == null) last.next = END;
  scope.steps.push(clone(step));
  if (scope.kind === "top") out.steps = scope.steps;
  withLayout(out)[step.id] = at;
  return out;
}

export function find(def: WorkflowDef, id: string): { step: StepDef; scope: Scope; index: number } | undefined {
  return placeSteps(def).get(id);
}

/** Why a connection cannot be drawn, or null when it can (the validator's rules, early). */
export function canConnect(def: WorkflowDef, source: string, handle: Handle, target: string): string | null {
  if (source === target) return "a step cannot lead to itself; repeat work with a loop step";
  const from = find(def, source);
  const to = find(def, target);
  if (!from || !to) return "connect two steps";
  if (from.scope.key !== to.scope.key) {
    return from.scope.kind === "branch"
      ? `${target} is outside this parallel branch; a branch ends and joins its parallel step`
      : `${target} is in another scope; a step only leads to steps of its own list`;
  }
  const edges = scopeEdges(def, from.scope).filter((e) => !(e.source === source && e.handle === handle));
  const dag = from.scope.kind === "top" && isDag(def);
  // In a DAG the new edge is source → target as well (target depends on source).
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  const seen = new Set<string>();
  const stack = [target];
  while (stack.length) {
    const id = stack.pop()!;
    if (id === source) return `${source} → ${target} would close a cycle; repeat work with a loop step`;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...(next.get(id) ?? []));
  }
  if (dag && handle !== "next" && handle !== "error") return "in a parallel or hybrid workflow, top-level steps connect by depends_on";
  return null;
}

/** Draw an edge: set the field the handle stands for. */
export function connect(def: WorkflowDef, source: string, handle: Handle, target: string): WorkflowDef {
  const out = clone(def);
  const placed = find(out, source);
  if (!placed) return def;
  const { step, scope, index } = placed;
  if (handle === "error") {
    step.on_error = { action: "goto", goto: target };
  } else if (scope.kind === "top" && isDag(out)) {
    const dependent = find(out, target)!.step;
    dependent.depends_on = [...new Set([...(dependent.depends_on ?? []), source])];
  } else if (handle === "next") {
    const following = scope.steps[index + 1]?.id;
    if (target === following) delete step.next;
    else step.next = target;
  } else if (handle === "default") {
    step.default = target;
  } else {
    const j = Number(handle.slice("branch-".length));
    if (step.branches?.[j]) step.branches[j] = { ...step.branches[j], next: target };
  }
  return out;
}

/** Remove an edge: its step then ends its scope there (nothing else starts to follow it). */
export function disconnect(def: WorkflowDef, source: string, handle: Handle, target: string): WorkflowDef {
  const out = clone(def);
  const placed = find(out, source);
  if (!placed) return def;
  const { step, scope, index } = placed;
  const hasFollowing = index + 1 < scope.steps.length;
  if (handle === "error") {
    delete step.on_error;
  } else if (scope.kind === "top" && isDag(out)) {
    const dependent = find(out, target)?.step;
    if (dependent) dependent.depends_on = (dependent.depends_on ?? []).filter((d) => d !== source);
  } else if (handle === "next") {
    if (hasFollowing) step.next = END;
    else delete step.next;
  } else if (handle === "default") {
    delete step.default;
    if (hasFollowing && step.next == null) step.next = END;
  } else {
    const j = Number(handle.slice("branch-".length));
    if (step.branches?.[j]) step.branches[j] = { ...step.branches[j], next: END };
  }
  return out;
}

export function retarget(def: WorkflowDef, rename: (id: string) => string | null): void {
  const fix = (id: string | null | undefined): string | null | undefined =>
    id == null || id === END ? id : rename(id);
  for (const scope of scopes(def)) {
    for (const step of scope.steps) {
      if (step.next != null) step.next = fix(step.next) ?? END;
      if (step.default != null) {
        const d = fix(step.default);
        if (d) step.default = d;
        else delete step.default;
      }
      if (stepKind(step) === "condition") {
        step.branches = (step.branches ?? []).map((b) => ({ ...b, next: fix(b.next) ?? END }));
      }
      const goto = errorGoto(step);
      if (goto) {
        const g = fix(goto);
        if (g) step.on_error = { action: "goto", goto: g };
        else delete step.on_error;
      }
      if (step.depends_on) step.depends_on = step.depends_on.map((d) => fix(d)).filter((d): d is string => !!d);
    }
  }
  if (def.start_at) {
    const s = fix(def.start_at);
    if (s) def.start_at = s;
    else delete def.start_at;
  }
  const wfGoto = def.on_error && typeof def.on_error === "object" ? def.on_error.goto : undefined;
  if (wfGoto) {
    const g = fix(wfGoto);
    if (g) def.on_error = { action: "goto", goto: g };
    else delete def.on_error;
  }
}

/** Delete steps (and what they contain); what led to them now ends there. */
export function removeSteps(def: WorkflowDef, ids: Iterable<string>): WorkflowDef {
  const gone = new Set(ids);
  if (gone.size === 0) return def;
  const out = clone(def);
  const prune = (list: StepDef[]): StepDef[] => list.filter((s) => !gone.has(s.id)).map((s) => {
    if (s.steps) s.steps = prune(s.steps);
    if (s.branches && stepKind(s) === "parallel") s.branches = s.branches.map((b) => ({ ...b, steps: prune(b.steps ?? []) }));
    return s;
  });
  out.steps = prune(out.steps);
  const left = placeSteps(out);
  retarget(out, (id) => (left.has(id) ? id : null));
  const nodes = withLayout(out);
  for (const id of Object.keys(nodes)) if (!left.has(id)) delete nodes[id];
  return out;
}

/** Rename a step and every reference to it (expressions reading `steps.<old>` are the
 * author's to change: the validator points at each). */
export function renameStep(def: WorkflowDef, from: string, to: string): WorkflowDef {
  if (from === to || !find(def, from) || find(def, to)) return def;
  const out = clone(def);
  find(out, from)!.step.id = to;
  retarget(out, (id) => (id === from ? to : id));
  const nodes = withLayout(out);
  if (nodes[from]) {
    nodes[to] = nodes[from];
    delete nodes[from];
  }
  return out;
}

/** A copy of `list` with the step `id` (at any depth) replaced by `fn(step)`; only the
 * lists on the way to it are new, so every other step keeps its identity (the canvas redraws
 * only what changed). Null when no step has that id. */
function mapStep(list: StepDef[], id: string, fn: (s: StepDef) => StepDef): StepDef[] | null {
  for (let i = 0; i < list.length; i++) {
    const s = list[i];
    let replaced: StepDef | null = null;
    if (s.id === id) replaced = fn(s);
    else if (s.steps) {
      const inner = mapStep(s.steps, id, fn);
      if (inner) replaced = { ...s, steps: inner };
    }
    if (!replaced && s.branches && stepKind(s) === "parallel") {
      for (let j = 0; j < s.branches.length && !replaced; j++) {
        const inner = mapStep(s.branches[j].steps ?? [], id, fn);
        if (inner) replaced = { ...s, branches: s.branches.map((b, k) => (k === j ? { ...b, steps: inner } : b)) };
      }
    }
    if (replaced) return list.map((x, k) => (k === i ? replaced! : x));
  }
  return null;
}

/** Replace a step's own fields (from the properties form); nested steps are kept. */
export function updateStep(def: WorkflowDef, id: string, fields: StepDef): WorkflowDef {
  if (fields.id && fields.id !== id) {
    const renamed = renameStep(def, id, fields.id);
    return renamed === def ? def : updateStep(renamed, fields.id, fields);
  }
  const steps = mapStep(def.steps, id, (old) => {
    const next: StepDef = { ...fields, id };
    if (old.steps) next.steps = old.steps;
    if (stepKind(old) === "parallel" && Array.isArray(next.branches)) {
      next.branches = next.branches.map((b, j) => ({ ...b, steps: old.branches?.[j]?.steps ?? [] }));
    }
    return next;
  });
  return steps ? { ...def, steps } : def;
}

/** Replace the workflow's own fields (steps and layout are kept). */
export function updateWorkflow(def: WorkflowDef, fields: Partial<WorkflowDef>): WorkflowDef {
  return { ...clone(fields), steps: def.steps, layout: def.layout } as WorkflowDef;
}

/** Store canvas positions (relative to each step's container). */
export function setPositions(def: WorkflowDef, positions: Record<string, NodePosition>): WorkflowDef {
  const out = { ...def };
  const nodes = withLayout(out);
  for (const [id, p] of Object.entries(positions)) {
    nodes[id] = { ...nodes[id], ...roundPosition(p) };
  }
  return out;
}

function roundPosition(p: NodePosition): NodePosition {
  const out: NodePosition = { x: Math.round(p.x), y: Math.round(p.y) };
  if (p.width) out.width = Math.round(p.width);
  if (p.height) out.height = Math.round(p.height);
  return out;
}

/** Paste copies of steps into a scope: new ids where taken, links among the copies kept,
 * links to steps not copied dropped. Returns the definition and the new top ids. */
export function pasteSteps(def: WorkflowDef, copied: StepDef[], scopeKey: string,
                           offset = 40): [WorkflowDef, string[]] {
  const taken = new Set(placeSteps(def).keys());
  const names = new Map<string, string>();
  const copies = clone(copied);
  const rename = (list: StepDef[]) => list.forEach((s) => {
    let id = s.id;
    for (let n = 2; taken.has(id); n++) id = `${s.id}_${n}`;
    taken.add(id);
    names.set(s.id, id);
    s.id = id;
    rename(s.steps ?? []);
    (s.branches ?? []).forEach((b) => rename(b.steps ?? []));
  });
  rename(copies);
  const holder: WorkflowDef = { id: "x", name: "x", steps: copies };
  retarget(holder, (id) => names.get(id) ?? null);
  const old = def.layout?.nodes ?? {};
  let out = def;
  for (const step of holder.steps) {
    const original = [...names].find(([, v]) => v === step.id)![0];
    const at = old[original] ?? { x: 0, y: 0 };
    out = addStep(out, scopeKey, step, { ...at, x: at.x + offset, y: at.y + offset });
  }
  const nodes = withLayout(out);
  for (const [from, to] of names) if (old[from] && !nodes[to]) nodes[to] = old[from];
  return [out, holder.steps.map((s) => s.id)];
}

export type { Handle };
