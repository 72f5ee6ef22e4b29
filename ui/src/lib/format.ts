// How numbers, times and durations read everywhere in the app.

/** "850 ms", "12.4 s", "3 min 05 s", "2 h 10 min", "3 d 4 h". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** How long an execution ran: its recorded duration once it ended (failed ones included),
 * else from its start to its end or to `now` while it still runs. */
export function executionDuration(e: { duration_ms?: number | null; started_at: string; ended_at?: string | null }, now = Date.now()): number | null {
  if (e.duration_ms !== null && e.duration_ms !== undefined) return e.duration_ms;
  const start = Date.parse(e.started_at);
  if (Number.isNaN(start)) return null;
  const end = e.ended_at ? Date.parse(e.ended_at) : now;
  return Math.max(0, end - start);
}

const rtf = typeof Intl !== "undefined" ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;

/** "5 minutes ago", "yesterday". */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((t - now) / 1000);
  const abs = Math.abs(s);
  if (!rtf) return new Date(t).toLocaleString();
  if (abs < 45) return rtf.format(s, "second");
  if (abs < 2700) return rtf.format(Math.round(s / 60), "minute");
  if (abs < 64800) return rtf.format(Math.round(s / 3600), "hour");
  return rtf.format(Math.round(s / 86400), "day");
}

/** A full local date and time, for tooltips and details. */
export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? iso : t.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function percent(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined ? "—" : `${(x * 100).toFixed(digits)} %`;
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : n.toLocaleString();
}

/** JSON for people: two-space indented, `undefined` as a dash. */
export function pretty(value: unknown): string {
  return value === undefined ? "—" : JSON.stringify(value, null, 2);
}
