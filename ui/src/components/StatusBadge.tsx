const TONE: Record<string, string> = {
  completed: "ok", active: "ok", matched: "ok", succeeded: "ok", pending: "info",
  failed: "danger", timed_out: "danger", error: "danger",
  running: "info", started: "info", scheduled: "info",
  waiting: "wait", queued: "warn", paused: "warn", draft: "", cancelled: "", deprecated: "", skipped: "",
};

/** An execution, step or definition status as a coloured pill. */
export function StatusBadge({ status }: { status: string }) {
  const tone = TONE[status] ?? "";
  return <span className={`badge${tone ? ` badge-${tone}` : ""}`}>{status.replace("_", " ")}</span>;
}
