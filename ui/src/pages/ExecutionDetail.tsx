import { useEffect, useMemo, useState } from "react";
import { Link, useParams } from "react-router";

import { api, unwrap } from "../api/client";
import { useQuery } from "../api/hooks";
import type { ExecutionView } from "../api/types";
import { Page } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { Empty, ErrorState, Loading } from "../components/states";
import { ExecutionGraph } from "../graph/ExecutionGraph";
import { fromExecution, stepOfPath } from "../graph/runs";
import { scopes, type WorkflowDef } from "../graph/steps";
import { ago, duration, executionDuration, pretty, when } from "../lib/format";
import { ExecutionActions } from "./execution/ExecutionActions";
import { StepPanel } from "./execution/StepPanel";
import { useExecution } from "./execution/useExecution";
import "./execution/execution.css";

export default function ExecutionDetail() {
  const id = useParams().executionId ?? "";
  const { view, error, appearing, live, reload } = useExecution(id);
  if (view) return <Loaded view={view} live={live} reload={reload} />;
  if (error) return <Page title={`Execution ${id}`}><ErrorState error={error} retry={reload} /></Page>;
  return (
    <Page title={`Execution ${id}`}>
      <Loading what={appearing ? "Waiting for the engine to start this execution" : "Loading the execution"} />
    </Page>
  );
}

function Loaded({ view, live, reload }: { view: ExecutionView; live: string; reload: () => void }) {
  const s = view.summary;
  const version = useQuery(`def:${s.workflow_id}@${s.workflow_version}`, () =>
    unwrap(api.GET("/definitions/{kind}/{definition_id}/versions/{version}", {
      params: { path: { kind: "workflow", definition_id: s.workflow_id, version: s.workflow_version } },
    })));
  const definition = version.data?.definition as WorkflowDef | undefined;
  const parallels = useMemo(() => new Set(definition ? scopes(definition).filter((x) => x.kind === "branch").map((x) => x.container!) : []),
                            [definition]);
  const run = useMemo(() => fromExecution(view.detail.steps, view.detail.waiting_on, parallels), [view, parallels]);
  const failedKey = s.failed_step ? stepOfPath(s.failed_step) : null;
  const [selected, setSelected] = useState<string | null>(null);
  const [picked, setPicked] = useState(false);
  // Open on the failed step, so its error is the first thing seen.
  useEffect(() => {
    if (!picked && failedKey) setSelected(failedKey);
  }, [failedKey, picked]);
  const select = (key: string | null) => {
    setPicked(true);
    setSelected(key);
  };
  const [tab, setTab] = useState<"timeline" | "log" | "input" | "variables" | "output">("timeline");
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (s.ended_at) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [s.ended_at]);

  return (
    <Page title={`Execution ${s.execution_id}`}
      sub={<>
        <Link to={`/executions?workflow_id=${encodeURIComponent(s.workflow_id)}`}>{s.workflow_id}</Link> · version {s.workflow_version}
        {live === "live" && <span className="live-pill" title="Following the execution's events">● live</span>}
      </>}
      actions={<ExecutionActions view={view} onDone={reload} />}>
      <div className="summary-grid">
        <Fact label="Status"><StatusBadge status={s.status} /></Fact>
        <Fact label="Started"><span title={when(s.started_at)}>{ago(s.started_at)}</span></Fact>
        <Fact label="Duration">{duration(executionDuration(s, now))}{!s.ended_at && " so far"}</Fact>
        <Fact label="Trigger">{s.trigger_type || "—"}{s.triggered_by ? ` · ${s.triggered_by}` : ""}</Fact>
        <Fact label="Events">{s.event_count}</Fact>
        {s.parent_execution_id && <Fact label="Parent"><Link to={`/executions/${encodeURIComponent(s.parent_execution_id)}`}>{s.parent_execution_id}</Link></Fact>}
      </div>
      {s.error && (
        <div className="banner banner-error exec-error" role="alert">
          <strong>Failed{s.failed_step ? <> at <button className="linklike mono" onClick={() => failedKey && select(failedKey)}>{s.failed_step}</button></> : null}</strong>
          {" — "}{s.error.code}: {s.error.message}
        </div>
      )}
      <div className={`exec-main${selected ? " with-panel" : ""}`}>
        <div>
          {definition ? (
            <ExecutionGraph definition={definition} run={run} selected={selected} onSelect={select} height={560} />
          ) : version.error ? (
            <div className="card"><ErrorState error={version.error} title="The workflow's definition could not be loaded" retry={version.reload} /></div>
          ) : <div className="card"><Loading what="Loading the workflow" /></div>}
        </div>
        {selected && <StepPanel view={view} stepId={selected} onClose={() => select(null)} />}
      </div>
      <div className="card" style={{ marginTop: "var(--s4)" }}>
        <div className="card-head" role="tablist" aria-label="Execution data">
          <div className="row">
            {(["timeline", "log", "input", "variables", "output"] as const).map((t) => (
              <button key={t} role="tab" aria-selected={tab === t} className={`btn btn-sm ${tab === t ? "" : "btn-ghost"}`} onClick={() => setTab(t)}>
                {t[0].toUpperCase() + t.slice(1)}
              </button>
            ))}
          </div>
        </div>
        <div className="card-body" role="tabpanel">
          {tab === "timeline" && <Timeline view={view} onSelect={(path) => select(stepOfPath(path))} />}
          {tab === "log" && ((view.detail.logs ?? []).length === 0
            ? <Empty title="No log lines" hint="Steps with the log action write here (filtered by the workflow's log level)." />
            : <ol className="events">
                {(view.detail.logs ?? []).map((l) => (
                  <li key={l.seq}><span className="mono faint">{when(l.time)}</span> <span className={`log-level log-${l.level}`}>{l.level}</span>{" "}
                    <button className="linklike mono" onClick={() => select(stepOfPath(l.step))}>{l.step}</button> {l.message}</li>
                ))}
                {view.detail.logs_dropped > 0 && <li className="muted">… {view.detail.logs_dropped} more lines not kept</li>}
              </ol>)}
          {tab === "input" && <pre>{pretty(view.detail.input)}</pre>}
          {tab === "variables" && <pre>{pretty(view.detail.variables)}</pre>}
          {tab === "output" && (view.detail.output === undefined || view.detail.output === null
            ? <Empty title="No output yet" hint="A workflow's output is set when it completes." />
            : <pre>{pretty(view.detail.output)}</pre>)}
        </div>
      </div>
    </Page>
  );
}

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <div className="fact-label">{label}</div>
      <div className="fact-value">{children}</div>
    </div>
  );
}

function Timeline({ view, onSelect }: { view: ExecutionView; onSelect: (path: string) => void }) {
  const events = view.timeline as Record<string, unknown>[];
  if (events.length === 0) return <Empty title="No events yet" />;
  const start = Date.parse(view.summary.started_at);
  return (
    <table className="table">
      <thead><tr><th>#</th><th>Event</th><th>Step</th><th>At</th><th>Detail</th></tr></thead>
      <tbody>
        {events.map((e) => {
          const path = typeof e.step_id === "string" ? (e.scope ? `${String(e.scope)}/${e.step_id}` : e.step_id) : null;
          const err = e.error as { code?: string; message?: string } | undefined;
          return (
            <tr key={String(e.seq)}>
              <td className="mono faint">{String(e.seq)}</td>
              <td>{String(e.type).replaceAll("_", " ")}</td>
              <td>{path ? <button className="linklike mono" onClick={() => onSelect(path)}>{path}</button> : ""}</td>
              <td className="muted" title={when(String(e.time))}>+{duration(Date.parse(String(e.time)) - start)}</td>
              <td className="small">{err ? <span style={{ color: "var(--danger)" }}>{err.code}: {err.message}</span> : typeof e.name === "string" ? e.name : ""}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
