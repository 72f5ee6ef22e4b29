// How the rule analyser's findings (GET /rules/insights, docs/rules.md "Insights") read.

const KIND_LABEL: Record<string, string> = {
  unsatisfiable: "Can never match", shadowed: "Shadowed", duplicate: "Duplicate",
  same_conditions: "Same conditions", redundant: "Redundant", dead_branch: "Dead branch",
  never_matched: "Never matched", failing_actions: "Failing actions",
  limit_max_executions: "Max executions reached", limit_concurrency_drops: "Concurrency drops",
  limit_concurrency_queue: "Concurrency queue", limit_batch_window: "Batch window",
  residual: "Not indexable", priority_order: "Priority order",
};

/** "failing_actions" -> "Failing actions"; a kind this build does not know reads as itself. */
export function kindLabel(kind: string): string {
  return KIND_LABEL[kind] ?? kind.replaceAll("_", " ");
}
