import { useRef, useState } from "react";
import { Link } from "react-router";

import { api, unwrap } from "../api/client";
import { useQuery, useStream } from "../api/hooks";
import type { Schemas } from "../api/types";
import { TimeChart } from "../components/charts";
import { Page } from "../components/Page";
import { change, StatCard } from "../components/StatCard";
import { Async, Empty } from "../components/states";
import { StatusBadge } from "../components/StatusBadge";
import { count, percent } from "../lib/format";

type Bucket = Schemas["HourBucket"];
const HOURS = 24;

/** Totals over a run of hourly buckets. */
export function periodTotals(buckets: Bucket[]) {
  let started = 0, completed = 0, failed = 0, ended = 0;
  for (const b of buckets) {
    started += b.started;
    for (const [status, n] of Object.entries(b.ended)) {
      ended += n;
      if (status === "completed") completed += n;
      if (status === "failed" || status === "timed_out") failed += n;
    }
  }
  return { started, completed, failed, success: ended ? completed / ended : null };
}

interface FeedItem { id: string; type: string; execution: string; at: number }

export default function Dashboard() {
  const dash = useQuery("dashboard", () => unwrap(api.GET("/dashboard", {
    params: { query: { hours: HOURS * 2, tz: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" } },
  })), { refreshMs: 15_000 });
  const [feed, setFeed] = useState<FeedItem[]>([]);
  const last = useRef(0);
  useStream("/events", (e) => {
    if (!e.data || e.event === "dropped") return;
    try {
      const body = JSON.parse(e.data) as { execution_id?: string; type?: string };
      if (body.execution_id && /^execution_/.test(e.event)) {
        setFeed((f) => [{ id: e.id ?? String(Date.now()), type: e.event, execution: body.execution_id!, at: Date.now() }, ...f].slice(0, 12));
      }
    } catch {
      return;
    }
    if (Date.now() - last.current > 2000) {
      last.current = Date.now();
      dash.reload();
    }
  });

  return (
    <Page title="Dashboard" sub="The last 24 hours against the 24 before">
      <Async query={dash} what="Loading the dashboard">{(d) => {
        const previous = periodTotals(d.trend.slice(0, HOURS));
        const current = periodTotals(d.trend.slice(HOURS));
        const series = d.trend.slice(HOURS).map((b, i) => {
          const before = d.trend[i];
          return {
            t: new Date(b.hour).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" }),
            started: b.started, failed: (b.ended.failed ?? 0) + (b.ended.timed_out ?? 0), previous: before.started,
          };
        });
        return (
          <>
            <div className="stat-grid">
              <StatCard label="Executions started" value={count(current.started)} delta={change(current.started, previous.started, "count")} goodWhen="none" />
              <StatCard label="Success rate" value={percent(current.success)} delta={change(current.success, previous.success, "rate")}
                hint={current.success === null ? "no execution ended yet" : "nothing to compare with"} />
              <StatCard label="Failed" value={count(current.failed)} delta={change(current.failed, previous.failed, "count")} goodWhen="down" />
              <StatCard label="Running now" value={count(d.running)} hint={`${count(d.executions_today)} started today`} />
              <StatCard label="Active workflows" value={count(d.active_workflows)} hint={`${count(d.active_rules)} active rules`} />
            </div>
            <div className="two-col">
              <section className="card">
                <div className="card-head"><h2>Executions per hour</h2><Link to="/monitoring" className="small">Monitoring →</Link></div>
                <div className="card-body">
                  {current.started + previous.started === 0
                    ? <Empty title="Nothing ran in the last two days" hint="Start a workflow, or publish a rule, and its executions show here."
                        action={<Link className="btn btn-primary" to="/templates">Start from a template</Link>} />
                    : <TimeChart data={series} series={[
                        { key: "started", label: "started", color: 0 },
                        { key: "failed", label: "failed", color: 1 },
                        { key: "previous", label: "started, previous 24 h", color: 0, dashed: true },
                      ]} />}
                </div>
              </section>
              <section className="card">
                <div className="card-head"><h2>All time by status</h2></div>
                <div className="card-body stack">
                  {Object.keys(d.by_status).length === 0 ? <span className="muted">No executions yet.</span> :
                    Object.entries(d.by_status).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([s, n]) => (
                      <Link key={s} to={`/executions?status=${s}`} className="row" style={{ justifyContent: "space-between" }}>
                        <StatusBadge status={s} /><span className="mono">{count(n)}</span>
                      </Link>
                    ))}
                </div>
                <div className="card-head" style={{ borderTop: "1px solid var(--border)" }}><h2>Live</h2></div>
                {feed.length === 0 ? <p className="muted small" style={{ padding: "0 var(--s4)" }}>Executions starting and ending appear here as they happen.</p> : (
                  <ul className="feed">
                    {feed.map((f) => (
                      <li key={`${f.id}-${f.at}`}>
                        <StatusBadge status={f.type.replace("execution_", "")} />
                        <Link className="mono small" to={`/executions/${encodeURIComponent(f.execution)}`}>{f.execution}</Link>
                      </li>
                    ))}
                  </ul>
                )}
              </section>
            </div>
          </>
        );
      }}</Async>
    </Page>
  );
}
