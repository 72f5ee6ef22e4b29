// A workflow definition as a graph: one node per step (loop bodies and parallel branches are
// containers holding their steps), one edge per way control can pass. Pure, so the designer and
// the execution page draw the same graph and tests can check it without a browser.

/** The parts of a step definition the graph reads (the rest is passed through untouched). */
export interface StepDef {
  id: string;
  type?: string;
  action?: string;
  name?: string;
  next?: string | null;
  default?: string | null;
  depends_on?: string[];
  on_error?: string | { action?: string; goto?: string | null } | null;
  branches?: ({ when: string; next: string } | { name?: string; steps: StepDef[] })[];
  steps?: StepDef[];
  signal?: string | null;
  event?: unknown;
  duration?: unknown;
  workflow_id?: string;
  [key: string]: unknown;
}

export interface WorkflowDef {
  id?: string;
  steps: StepDef[];
  start_at?: string | null;
  execution_mode?: "sequential" | "parallel" | "hybrid";
  [key: string]: unknown;
}

export type EdgeKind = "next" | "follow" | "branch" | "default" | "error" | "depends";

export interface GraphNode {
  /** Stable key: container keys and the step id joined by "/" (indices left out). */
  key: string;
  kind: "step" | "loop" | "parallel" | "branch" | "start" | "end";
  step?: StepDef;
  label: string;
  /** The container this node sits in, if any. */
  parent?: string;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  kind: EdgeKind;
  label?: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export const START = "$start";
export const END = "$end";

/** The step's kind: an action step may leave out `type`. */
export function stepKind(step: StepDef): string {
  return step.type ?? "action";
}

function isBranchList(branches: StepDef["branches"]): branches is { when: string; next: string }[] {
  return !!branches && branches.length > 0 && "when" in branches[0];
}

/** The graph of `definition`: a start node, every step, an end node per sequence that can end. */
export function definitionGraph(definition: WorkflowDef): Graph {
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const mode = definition.execution_mode ?? "sequential";
  const edge = (source: string, target: string, kind: EdgeKind, label?: string) =>
    edges.push({ id: `${source}->${target}:${kind}:${edges.length}`, source, target, kind, label });

  // One sequence of steps (the top level, a loop body or a parallel branch) inside `scope`.
  const sequence = (steps: StepDef[], scope: string, parent: string | undefined, seqMode: string) => {
    const key = (id: string) => (scope ? `${scope}/${id}` : id);
    const ids = new Set(steps.map((s) => s.id));
    const end = scope ? `${scope}/${END}` : END;
    let needsEnd = false;
    const target = (id: string | null | undefined): string | null => {
      if (!id) return null;
      if (id === END) {
        needsEnd = true;
        return end;
      }
      return ids.has(id) ? key(id) : null;
    };
    steps.forEach((step, i) => {
      const kind = stepKind(step);
      const k = key(step.id);
      if (kind === "loop" || kind === "parallel") {
        nodes.push({ key: k, kind, step, label: step.id, parent });
        if (kind === "loop") sequence(step.steps ?? [], k, k, "sequential");
        else {
          (step.branches as { name?: string; steps: StepDef[] }[] | undefined)?.forEach((b, bi) => {
            const bk = `${k}/${b.name ?? bi}`;
            nodes.push({ key: bk, kind: "branch", label: b.name ?? `branch ${bi + 1}`, parent: k });
            sequence(b.steps ?? [], bk, bk, "sequential");
          });
        }
      } else {
        nodes.push({ key: k, kind: "step", step, label: step.id, parent });
      }
      const following = steps[i + 1];
      const after = (): string | null => {
        if (seqMode !== "sequential") return null;
        if (following) return key(following.id);
        needsEnd = true;
        return end;
      };
      if (kind === "condition" && isBranchList(step.branches)) {
        step.branches.forEach((b) => {
          const t = target(b.next);
          if (t) edge(k, t, "branch", b.when);
        });
        const d = target(step.default);
        if (d) edge(k, d, "default", "default");
        else {
          // no default: an event matching no branch ends this sequence
          needsEnd = true;
          edge(k, end, "default", "no match");
        }
      } else if (step.next) {
        const t = target(step.next);
        if (t) edge(k, t, "next");
      } else {
        const t = after();
        if (t) edge(k, t, "follow");
      }
      const onError = step.on_error;
      const gotoId = typeof onError === "object" && onError?.action === "goto" ? onError.goto : null;
      const g = target(gotoId);
      if (g) edge(k, g, "error", "on error");
      if (seqMode === "hybrid") step.depends_on?.forEach((d) => ids.has(d) && edge(key(d), k, "depends"));
    });
    // Where the sequence starts.
    const startNode = scope ? `${scope}/${START}` : START;
    nodes.push({ key: startNode, kind: "start", label: "start", parent });
    const first = scope ? steps[0]?.id : definition.start_at ?? steps[0]?.id;
    if (seqMode === "sequential" && first) edge(startNode, key(first), "next");
    else if (seqMode !== "sequential") {
      steps.filter((s) => !(seqMode === "hybrid" && s.depends_on?.length)).forEach((s) => edge(startNode, key(s.id), "next"));
      // every step without a successor ends the run
      const sources = new Set(edges.map((e) => e.source));
      steps.filter((s) => !sources.has(key(s.id))).forEach((s) => {
        needsEnd = true;
        edge(key(s.id), end, "follow");
      });
    }
    if (needsEnd) nodes.push({ key: end, kind: "end", label: "end", parent });
  };
  sequence(definition.steps ?? [], "", undefined, mode);
  return { nodes, edges };
}

/** The graph key of an execution's step path: "each/3/validate" -> "each/validate" for a loop,
 * "fan/0/fetch" -> "fan/<branch name>/fetch" for a parallel step. */
export function pathKey(path: string, graph: Graph): string {
  const parts = path.split("/");
  if (parts.length === 1) return path;
  const keys = new Set(graph.nodes.map((n) => n.key));
  const out: string[] = [parts[0]];
  for (let i = 1; i < parts.length; i += 2) {
    const container = out.join("/");
    const node = graph.nodes.find((n) => n.key === container);
    const index = parts[i];
    if (node?.kind === "parallel") {
      const branches = graph.nodes.filter((n) => n.parent === container && n.kind === "branch");
      out.push(branches[Number(index)]?.key.split("/").pop() ?? index);
    }
    if (parts[i + 1] !== undefined) out.push(parts[i + 1]);
  }
  const key = out.join("/");
  return keys.has(key) ? key : path;
}
