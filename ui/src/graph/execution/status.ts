// An execution's step views folded onto the graph's nodes: a loop body step sums up all its
// iterations, a container takes the most telling status of what it holds.
import { pathKey, type Graph } from "./definitionGraph";
import type { NodeStatus } from "./nodes";

export interface StepViewLike {
  path: string;
  status: string;
  attempts: unknown[];
  errors: { code: string; message: string }[];
}

// Which status a node shows when several runs of it disagree: trouble first, then activity.
const RANK = ["failed", "retrying", "running", "waiting", "scheduled", "completed", "cancelled", "skipped"];
const rank = (s: string) => {
  const i = RANK.indexOf(s);
  return i < 0 ? RANK.length : i;
};

/** Status per graph key for the steps of an execution (`waiting` for a step a wait holds). */
export function nodeStatuses(graph: Graph, steps: Record<string, StepViewLike>, waitingOn: Record<string, string> = {}): Map<string, NodeStatus> {
  const out = new Map<string, NodeStatus>();
  const merge = (key: string, s: NodeStatus) => {
    const have = out.get(key);
    if (!have) {
      out.set(key, { ...s });
      return;
    }
    const worse = rank(s.status) < rank(have.status);
    out.set(key, {
      status: worse ? s.status : have.status,
      attempts: Math.max(have.attempts, s.attempts),
      runs: have.runs + s.runs,
      error: (worse ? s.error : have.error) ?? have.error ?? s.error,
    });
  };
  for (const step of Object.values(steps)) {
    const status = step.path in waitingOn && step.status === "running" ? "waiting" : step.status;
    const key = pathKey(step.path, graph);
    const error = step.errors.length ? step.errors[step.errors.length - 1] : null;
    merge(key, { status, attempts: step.attempts.length, runs: 1, error });
  }
  // Branch containers have no step view of their own: they show their steps' state.
  for (const node of graph.nodes) {
    if (node.kind !== "branch") continue;
    for (const [key, s] of [...out]) {
      if (key.startsWith(`${node.key}/`)) merge(node.key, { ...s, runs: 0 });
    }
  }
  return out;
}
