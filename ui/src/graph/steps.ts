// The few parts of a workflow definition the graph reads: ids, kinds, targets and nested
// scopes. Everything else of a step is edited through forms generated from the JSON Schema
// (`headwater schema workflow`), so no other field of the definition model is named here.

export const END = "$end";

export type StepKind = "action" | "condition" | "loop" | "parallel" | "subprocess" | "wait";
export const STEP_KINDS: StepKind[] = ["action", "condition", "loop", "parallel", "subprocess", "wait"];
export const CONTAINERS: ReadonlySet<StepKind> = new Set(["loop", "parallel"]);

export interface ErrorPolicy { action?: string; goto?: string | null }
export interface Branch { when?: string; next?: string; name?: string; steps?: StepDef[] }
export interface StepDef {
  id: string;
  type?: string;
  next?: string | null;
  default?: string | null;
  branches?: Branch[];
  steps?: StepDef[];
  on_error?: ErrorPolicy | string | null;
  depends_on?: string[];
  action?: string;
  [field: string]: unknown;
}
export interface NodePosition { x: number; y: number; width?: number; height?: number }
export interface Layout { nodes?: Record<string, NodePosition>; viewport?: { x: number; y: number; zoom: number } }
export interface WorkflowDef {
  kind?: string;
  id: string;
  name: string;
  version?: string;
  steps: StepDef[];
  start_at?: string | null;
  execution_mode?: string;
  on_error?: ErrorPolicy | string | null;
  layout?: Layout;
  [field: string]: unknown;
}

// The keys that tell a step's kind when `type` is left out (as schemas/definitions/steps.py).
const CLUES: [string, StepKind][] = [
  ["action", "action"], ["for_each", "loop"], ["while", "loop"], ["default", "condition"],
  ["workflow_id", "subprocess"], ["duration", "wait"], ["until", "wait"], ["signal", "wait"],
  ["event", "wait"],
];

/** A step's kind: its `type`, else the first key that tells it. */
export function stepKind(step: StepDef): StepKind {
  if (typeof step.type === "string" && (STEP_KINDS as string[]).includes(step.type)) return step.type as StepKind;
  for (const [key, kind] of CLUES) if (key in step) return kind;
  if (Array.isArray(step.branches)) return step.branches.some((b) => "when" in b) ? "condition" : "parallel";
  return "action";
}

/** Where a list of steps sits: `""` (the workflow), a loop's id, or `<parallel id>/<branch>`. */
export type ScopeKey = string;

export interface Scope {
  key: ScopeKey;
  kind: "top" | "loop" | "branch";
  steps: StepDef[];
  /** The loop or parallel step holding it (undefined for the top). */
  container?: string;
  branch?: number;
}

export interface Placed { step: StepDef; scope: Scope; index: number }

/** Every scope of a workflow, outermost first. */
export function scopes(def: WorkflowDef): Scope[] {
  const out: Scope[] = [];
  const walk = (scope: Scope) => {
    out.push(scope);
    for (const step of scope.steps) {
      const kind = stepKind(step);
      if (kind === "loop") walk({ key: step.id, kind: "loop", steps: step.steps ?? [], container: step.id });
      if (kind === "parallel") {
        (step.branches ?? []).forEach((b, i) =>
          walk({ key: `${step.id}/${i}`, kind: "branch", steps: b.steps ?? [], container: step.id, branch: i }));
      }
    }
  };
  walk({ key: "", kind: "top", steps: def.steps ?? [] });
  return out;
}

/** Each step by id with its scope and index (the first, when an id is used twice). */
export function placeSteps(def: WorkflowDef): Map<string, Placed> {
  const placed = new Map<string, Placed>();
  for (const scope of scopes(def)) {
    scope.steps.forEach((step, index) => {
      if (!placed.has(step.id)) placed.set(step.id, { step, scope, index });
    });
  }
  return placed;
}

/** Whether the definition carries saved positions (the designer's `layout` section). */
export function hasLayout(def: WorkflowDef): boolean {
  return !!def.layout?.nodes && Object.keys(def.layout.nodes).length > 0;
}

/** The node id of a parallel step's branch lane. */
export const laneId = (parallel: string, branch: number) => `lane:${parallel}/${branch}`;

/** The node that holds a scope's steps on the canvas (none for the top). */
export function scopeNode(scope: Scope): string | undefined {
  if (scope.kind === "loop") return scope.container;
  if (scope.kind === "branch") return laneId(scope.container!, scope.branch!);
  return undefined;
}

/** The scope a container node holds (a loop's body, a lane's branch). */
export function scopeOfNode(def: WorkflowDef, nodeId: string): Scope | undefined {
  return scopes(def).find((s) => scopeNode(s) === nodeId);
}

export function errorGoto(step: StepDef): string | undefined {
  const policy = step.on_error;
  return policy && typeof policy === "object" && policy.action === "goto" && policy.goto ? policy.goto : undefined;
}

/** Whether the top level runs by `depends_on` rather than by `next`. */
export function isDag(def: WorkflowDef): boolean {
  return (def.execution_mode ?? "sequential") !== "sequential";
}

export type Handle = "next" | "default" | "error" | `branch-${number}`;

export interface FlowEdge { source: string; handle: Handle; target: string; implicit: boolean; label?: string }

/** The edges of one scope: what `next`, branches, `default` and `on_error.goto` name, with
 * the implicit "the following step" made explicit; `$end` gives no edge. */
export function scopeEdges(def: WorkflowDef, scope: Scope): FlowEdge[] {
  const edges: FlowEdge[] = [];
  const dag = scope.kind === "top" && isDag(def);
  scope.steps.forEach((step, k) => {
    const following = k + 1 < scope.steps.length ? scope.steps[k + 1].id : END;
    const fallthrough = step.next ?? following;
    const add = (handle: Handle, target: string | null | undefined, implicit: boolean, label?: string) => {
      if (target && target !== END) edges.push({ source: step.id, handle, target, implicit, label });
    };
    if (dag) {
      for (const dep of step.depends_on ?? []) edges.push({ source: dep, handle: "next", target: step.id, implicit: false });
    } else if (stepKind(step) === "condition") {
      (step.branches ?? []).forEach((b, j) => add(`branch-${j}`, b.next, false, b.when));
      add("default", step.default ?? fallthrough, !step.default && !step.next, "otherwise");
    } else {
      add("next", fallthrough, step.next == null);
    }
    add("error", errorGoto(step), false, "on error");
  });
  return edges;
}
