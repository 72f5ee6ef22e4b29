import { useEffect, useState } from "react";

import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { useQuery } from "../api/hooks";
import { TimeChart } from "../components/charts";
import { Page } from "../components/Page";
import { ErrorState, Loading } from "../components/states";
import { count } from "../lib/format";
import { InsightsPanel } from "./monitoring/InsightsPanel";
import { countPerMinute, perMinute, rates } from "./monitoring/series";

const SAMPLE_MS = 5000;
const KEEP = 120; // samples: ten minutes

// Counter samples live for the browser session (module level), so a visit to another page
// and back keeps the live charts' history.
const samples = { evaluations: [] as { at: number; value: number }[], lag: [] as { at: number; value: number }[] };

function push(list: { at: number; value: number }[], value: number) {
  list.push({ at: Date.now(), value });
  if (list.length > KEEP) list.splice(0, list.length - KEEP);
}

function useSampler() {
  const [, setTick] = useState(0);
  const [errors, setErrors] = useState<{ evaluations?: unknown; lag?: unknown }>({});
  useEffect(() => {
    let live = true;
    const sample = async () => {
      const next: { evaluations?: unknown; lag?: unknown } = {};
      await Promise.all([
        unwrap(api.GET("/stats/rules", { params: { query: { limit: 500 } } })).then(
          (page) => push(samples.evaluations, page.items.reduce((n, r) => n + r.evaluations, 0)),
          (e) => (next.evaluations = e)),
        unwrap(api.GET("/views/lag")).then((lag) => push(samples.lag, lag.total), (e) => (next.lag = e)),
      ]);
      if (live) {
        setErrors(next);
        setTick((t) => t + 1);
      }
    };
    void sample();
    const timer = setInterval(sample, SAMPLE_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return errors;
}

function Chart({ title, note, children }: { title: string; note: string; children: React.ReactNode }) {
  return (
    <section className="card">
      <div className="card-head"><h2>{title}</h2><span className="faint small">{note}</span></div>
      <div className="card-body">{children}</div>
    </section>
  );
}

/** Throughput, latency, failures, rule load, view lag and dead letters as charts; the rule
 * insights below them. */
export default function Monitoring() {
  const [now, setNow] = useState(Date.now());
  const recent = useQuery("monitoring:executions", () => unwrap(api.GET("/executions", { params: { query: { limit: 500 } } })), { refreshMs: 10_000 });
  const health = useQuery("monitoring:health", async () => {
    const r = await fetch("/health");
    return (await r.json()) as { status: string; kafka: { status: string; brokers?: number; topics?: number; error?: string } };
  }, { refreshMs: 15_000 });
  const since = new Date(now - 60 * 60_000).toISOString();
  const dead = useQuery(`monitoring:dead:${Math.floor(now / 30_000)}`, () =>
    unwrap(api.GET("/dead-letters", { params: { query: { limit: 500, since } } })));
  const errors = useSampler();
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 10_000);
    return () => clearInterval(t);
  }, []);
  const minutes = recent.data ? perMinute(recent.data.items, now) : [];
  const evalRates = rates(samples.evaluations);
  const lag = samples.lag.map((s) => ({ t: new Date(s.at).toLocaleTimeString(), lag: s.value }));

  return (
    <Page title="Monitoring" sub="The last hour, per minute; live charts sample every 5 s while this page is open"
      actions={<><a className="btn btn-sm btn-ghost" href="/metrics">Prometheus /metrics</a><a className="btn btn-sm btn-ghost" href="/docs">API docs</a></>}>
      <div className="row" style={{ marginBottom: "var(--s4)" }}>
        {health.data ? <>
          <span className={`badge ${health.data.kafka.status === "ok" ? "badge-ok" : "badge-danger"}`}>Kafka {health.data.kafka.status === "ok" ? "up" : "down"}</span>
          <span className="small muted">{health.data.kafka.status === "ok" ? `${health.data.kafka.brokers} broker(s), ${health.data.kafka.topics} topics` : health.data.kafka.error ?? ""}</span>
        </> : <span className="muted small">Checking Kafka…</span>}
      </div>
      <div className="grid monitoring-grid">
        <Chart title="Executions per minute" note="started, from the latest 500 executions">
          {recent.error ? <ErrorState error={recent.error} retry={recent.reload} /> : recent.data ? <TimeChart kind="bar" data={minutes} series={[{ key: "started", label: "started" }]} /> : <Loading />}
        </Chart>
        <Chart title="p95 duration" note="of executions ending in each minute, ms">
          {recent.data ? <TimeChart kind="line" unit="ms" data={minutes} series={[{ key: "p95", label: "p95 duration", color: 3 }]} /> : <Loading />}
        </Chart>
        <Chart title="Failure rate" note="failed or timed out among those ending, %">
          {recent.data ? <TimeChart kind="line" unit="%" data={minutes} series={[{ key: "failure_rate", label: "failure rate", color: 1 }]} /> : <Loading />}
        </Chart>
        <Chart title="Rule evaluations per second" note="live">
          {errors.evaluations ? <ErrorState error={errors.evaluations} /> : evalRates.length < 1 ? <Loading what="Sampling" /> :
            <TimeChart kind="area" unit="/s" data={evalRates} series={[{ key: "rate", label: "evaluations/s", color: 2 }]} />}
        </Chart>
        <Chart title="Projection lag" note="records the views are behind the log, live">
          {errors.lag ? <ErrorState error={errors.lag} title="The projector is not running" /> : lag.length === 0 ? <Loading what="Sampling" /> :
            <TimeChart kind="line" data={lag} series={[{ key: "lag", label: "records behind", color: 4 }]} />}
        </Chart>
        <Chart title="Dead letters" note="refused records per minute">
          {dead.error ? (dead.error instanceof ApiError && dead.error.status === 404
            ? <ErrorState error={new ApiError(404, "Dead letters are not served by this server yet (GET /dead-letters).")} title="Not available" />
            : <ErrorState error={dead.error} retry={dead.reload} />)
            : dead.data ? <>
              <TimeChart kind="bar" data={countPerMinute(dead.data.items.map((d) => d.time), now)} series={[{ key: "count", label: "dead letters", color: 1 }]} />
              <p className="muted small" style={{ margin: 0 }}>{count(dead.data.items.length)}{dead.data.next_cursor ? "+" : ""} in the last hour</p>
            </> : <Loading />}
        </Chart>
      </div>
      <div style={{ marginTop: "var(--s4)" }}><InsightsPanel /></div>
    </Page>
  );
}
