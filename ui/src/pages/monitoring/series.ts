// Per-minute series for the monitoring charts, computed from what the API lists (pure, tested).

export interface Run { started_at: string; ended_at?: string | null; duration_ms?: number | null; status: string }

const MINUTE = 60_000;

function label(t: number): string {
  return new Date(t).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

/** p-th percentile (nearest rank) of `values`, or null when empty. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** One row per minute over the `minutes` up to `now`: executions started, p95 duration and
 * failure rate of those that ended in that minute. */
export function perMinute(runs: Run[], now: number, minutes = 60) {
  const end = Math.floor(now / MINUTE) * MINUTE;
  const start = end - (minutes - 1) * MINUTE;
  const rows = Array.from({ length: minutes }, (_, i) => ({
    at: start + i * MINUTE, started: 0, ended: 0, failed: 0, durations: [] as number[],
  }));
  const slot = (iso: string | null | undefined) => {
    if (!iso) return null;
    const t = Date.parse(iso);
    const i = Math.floor((t - start) / MINUTE);
    return i >= 0 && i < minutes ? rows[i] : null;
  };
  for (const r of runs) {
    const s = slot(r.started_at);
    if (s) s.started += 1;
    const e = slot(r.ended_at);
    if (e) {
      e.ended += 1;
      if (r.status === "failed" || r.status === "timed_out") e.failed += 1;
      if (r.duration_ms !== null && r.duration_ms !== undefined) e.durations.push(r.duration_ms);
    }
  }
  return rows.map((r) => ({
    t: label(r.at), started: r.started,
    p95: percentile(r.durations, 95),
    failure_rate: r.ended ? (r.failed / r.ended) * 100 : null,
  }));
}

/** Events per minute (dead letters) over the `minutes` up to `now`. */
export function countPerMinute(times: string[], now: number, minutes = 60) {
  const end = Math.floor(now / MINUTE) * MINUTE;
  const start = end - (minutes - 1) * MINUTE;
  const counts = new Array<number>(minutes).fill(0);
  for (const iso of times) {
    const i = Math.floor((Date.parse(iso) - start) / MINUTE);
    if (i >= 0 && i < minutes) counts[i] += 1;
  }
  return counts.map((n, i) => ({ t: label(start + i * MINUTE), count: n }));
}

/** A rate per second between consecutive samples of a growing counter. */
export function rates(samples: { at: number; value: number }[]) {
  return samples.slice(1).map((s, i) => {
    const prev = samples[i];
    const dt = (s.at - prev.at) / 1000;
    return { t: new Date(s.at).toLocaleTimeString(), rate: dt > 0 ? Math.max(0, (s.value - prev.value) / dt) : 0 };
  });
}
