import { useState } from "react";
import { Link, useSearchParams } from "react-router";

import { api, unwrap } from "../api/client";
import { useQuery, useStored, useStream } from "../api/hooks";
import { EXECUTION_STATUSES, type ExecutionStatus } from "../api/types";
import { Can } from "../auth/AuthContext";
import { Page } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { Empty, ErrorState, SkeletonRows } from "../components/states";
import { ago, duration, executionDuration, when } from "../lib/format";
import { BulkDialog } from "./executions/BulkDialog";

const FILTERS = ["workflow_id", "status", "trigger_type", "started_after", "started_before"] as const;
const PAGE = 50;

interface SavedView { name: string; query: string }

/** datetime-local wants "2026-01-01T10:00"; the API wants an ISO time with a zone. */
const toLocalInput = (iso: string | null) => (iso ? new Date(iso).toISOString().slice(0, 16) : "");
const fromLocalInput = (v: string) => (v ? new Date(`${v}:00Z`).toISOString() : "");

export default function Executions() {
  const [params, setParams] = useSearchParams();
  const filter = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ""])) as Record<(typeof FILTERS)[number], string>;
  const [draft, setDraft] = useState(filter);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const [liveOn, setLiveOn] = useStored("headwater.executions.live", true);
  const [views, setViews] = useStored<SavedView[]>("headwater.executions.views", []);
  const [bulk, setBulk] = useState(false);

  const key = `${params.toString()}|${cursor ?? ""}`;
  const page = useQuery(key, () => unwrap(api.GET("/executions", {
    params: {
      query: {
        workflow_id: filter.workflow_id || undefined,
        status: (filter.status || undefined) as ExecutionStatus | undefined,
        trigger_type: filter.trigger_type || undefined,
        started_after: filter.started_after || undefined,
        started_before: filter.started_before || undefined,
        limit: PAGE, cursor,
      },
    },
  })));

  // Live: any execution event refreshes the first page (at most every 1.5 s).
  const [lastLive, setLastLive] = useState(0);
  const live = useStream(liveOn && cursors.length === 1 ? "/events" : null, (e) => {
    if (e.event === "message" && !e.data) return;
    const now = Date.now();
    if (now - lastLive > 1500) {
      setLastLive(now);
      page.reload();
    }
  });

  const apply = (next: Record<string, string>) => {
    const p = new URLSearchParams();
    Object.entries(next).forEach(([k, v]) => v && p.set(k, v));
    setParams(p);
    setCursors([undefined]);
  };
  const saveView = () => {
    const name = window.prompt("Name this view", filter.status ? `${filter.status} ${filter.workflow_id}`.trim() : filter.workflow_id || "My view");
    if (name) setViews([...views.filter((v) => v.name !== name), { name, query: params.toString() }]);
  };
  const active = params.toString();

  return (
    <Page title="Executions" sub="Every run of every workflow, newest first"
      actions={<>
        <label className="check" title="Refresh the first page as executions change">
          <input type="checkbox" checked={liveOn} onChange={(e) => setLiveOn(e.target.checked)} />
          Live {liveOn && live === "live" ? <span style={{ color: "var(--ok)" }}>●</span> : null}
        </label>
        <Can right="run">
          {filter.workflow_id && <Link className="btn" to={`/workflows/${encodeURIComponent(filter.workflow_id)}/migrate`}>Migrate running executions…</Link>}
          <button className="btn" onClick={() => setBulk(true)}>Bulk action…</button>
        </Can>
      </>}>
      <form className="card filters" onSubmit={(e) => { e.preventDefault(); apply(draft); }}>
        <label className="field">Workflow<input value={draft.workflow_id} onChange={(e) => setDraft({ ...draft, workflow_id: e.target.value })} placeholder="any" /></label>
        <label className="field">Status
          <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })}>
            <option value="">any</option>
            {EXECUTION_STATUSES.map((s) => <option key={s} value={s}>{s.replace("_", " ")}</option>)}
          </select>
        </label>
        <label className="field">Trigger<input value={draft.trigger_type} onChange={(e) => setDraft({ ...draft, trigger_type: e.target.value })} placeholder="any" /></label>
        <label className="field">Started after (UTC)<input type="datetime-local" value={toLocalInput(draft.started_after || null)} onChange={(e) => setDraft({ ...draft, started_after: fromLocalInput(e.target.value) })} /></label>
        <label className="field">Started before (UTC)<input type="datetime-local" value={toLocalInput(draft.started_before || null)} onChange={(e) => setDraft({ ...draft, started_before: fromLocalInput(e.target.value) })} /></label>
        <div className="row filters-actions">
          <button className="btn btn-primary" type="submit">Apply</button>
          <button className="btn btn-ghost" type="button" onClick={() => { const empty = Object.fromEntries(FILTERS.map((f) => [f, ""])) as typeof filter; setDraft(empty); apply(empty); }}>Clear</button>
          <button className="btn btn-ghost" type="button" onClick={saveView} disabled={!active}>Save view</button>
        </div>
      </form>
      {views.length > 0 && (
        <div className="row saved-views" aria-label="Saved views">
          <span className="muted small">Saved views:</span>
          {views.map((v) => (
            <span key={v.name} className={`chip${v.query === active ? " chip-on" : ""}`}>
              <button className="linklike" onClick={() => { const p = new URLSearchParams(v.query); setDraft(Object.fromEntries(FILTERS.map((f) => [f, p.get(f) ?? ""])) as typeof filter); setParams(p); setCursors([undefined]); }}>{v.name}</button>
              <button className="linklike faint" aria-label={`Delete view ${v.name}`} onClick={() => setViews(views.filter((x) => x.name !== v.name))}>✕</button>
            </span>
          ))}
        </div>
      )}
      <div className="card">
        {page.data ? (
          page.data.items.length === 0 ? (
            <Empty title={active ? "No execution matches" : "No executions yet"}
              hint={active ? "Change or clear the filters." : "Start a workflow from the Workflows page, or publish a rule that starts one."}
              action={active ? undefined : <Link className="btn btn-primary" to="/workflows">Go to workflows</Link>} />
          ) : (
            <table className="table">
              <thead><tr><th>Execution</th><th>Workflow</th><th>Status</th><th>Started</th><th className="num">Duration</th><th>Trigger</th><th>Failed step</th></tr></thead>
              <tbody>
                {page.data.items.map((x) => (
                  <tr key={x.execution_id}>
                    <td><Link className="mono" to={`/executions/${encodeURIComponent(x.execution_id)}`}>{x.execution_id}</Link></td>
                    <td>{x.workflow_id} <span className="faint">{x.workflow_version}</span></td>
                    <td><StatusBadge status={x.status} /></td>
                    <td title={when(x.started_at)}>{ago(x.started_at)}</td>
                    <td className="num">{duration(executionDuration(x))}</td>
                    <td className="muted">{x.trigger_type}</td>
                    <td className="mono small">{x.failed_step ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        ) : page.error ? <ErrorState error={page.error} retry={page.reload} /> : <SkeletonRows />}
        {(cursors.length > 1 || page.data?.next_cursor) && (
          <div className="row pager">
            <button className="btn btn-sm" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>← Newer</button>
            <span className="muted small">Page {cursors.length}</span>
            <button className="btn btn-sm" disabled={!page.data?.next_cursor} onClick={() => setCursors([...cursors, page.data!.next_cursor!])}>Older →</button>
          </div>
        )}
      </div>
      {bulk && <BulkDialog filter={{ workflow_id: filter.workflow_id || null, trigger_type: filter.trigger_type || null, started_after: filter.started_after || null, started_before: filter.started_before || null }}
        onClose={() => setBulk(false)} onDone={page.reload} />}
    </Page>
  );
}
