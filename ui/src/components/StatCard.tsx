/** A headline number, with its change against the previous period when there is one. */
export function StatCard({ label, value, delta, goodWhen = "up", hint }: {
  label: string; value: string; delta?: { text: string; direction: "up" | "down" | "flat" } | null;
  goodWhen?: "up" | "down" | "none"; hint?: string;
}) {
  const tone = !delta || delta.direction === "flat" || goodWhen === "none" ? "flat"
    : (delta.direction === goodWhen ? "good" : "bad");
  return (
    <div className="card stat-card">
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      <div className={`stat-delta ${tone}`}>
        {delta ? <>{delta.direction === "up" ? "▲" : delta.direction === "down" ? "▼" : "■"} {delta.text}</> : <span className="faint">{hint ?? "\u00a0"}</span>}
      </div>
    </div>
  );
}

/** The change from `before` to `now`: a percentage of a count, or points of a rate. */
export function change(now: number | null, before: number | null, as: "count" | "rate"): { text: string; direction: "up" | "down" | "flat" } | null {
  if (now === null || before === null) return null;
  const d = now - before;
  const direction = Math.abs(d) < 1e-9 ? "flat" : d > 0 ? "up" : "down";
  if (as === "rate") return { text: `${d >= 0 ? "+" : ""}${(d * 100).toFixed(1)} pts vs previous period`, direction };
  if (before === 0) return { text: now === 0 ? "same as previous period" : "new this period", direction };
  return { text: `${d >= 0 ? "+" : ""}${Math.round((d / before) * 100)} % vs previous period`, direction };
}
