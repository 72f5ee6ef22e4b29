import { useState } from "react";
import { Link } from "react-router";

import { api, unwrap } from "../../api/client";
import { useQuery } from "../../api/hooks";
import type { Schemas } from "../../api/types";
import { StatusBadge } from "../../components/StatusBadge";
import { Empty, ErrorState, SkeletonRows } from "../../components/states";
import { ago, count, duration, percent, when } from "../../lib/format";
import { kindLabel } from "../../lib/insights";

type Finding = Schemas["FindingOut"];
type Firing = Schemas["FiringOut"];
type Result = Firing["result"];

/** A rule's insights: what the analyser suggests changing in it, with its evidence. */
export function RuleInsights({ ruleId }: { ruleId: string }) {
  const found = useQuery(`insights:${ruleId}`, () => unwrap(api.GET("/rules/{rule_id}/insights", {
    params: { path: { rule_id: ruleId }, query: { limit: 50 } },
  })), { refreshMs: 15000 });
  return (
    <section className="card" aria-label="Insights">
      <div className="card-head"><h2>Insights</h2>
        <span className="faint small">from its conditions and what it did</span></div>
      <div className="card-body">
        {found.data ? (found.data.items.length === 0
          ? <Empty title="Nothing to improve" hint="The analyser found no problem in this rule's conditions, limits or outcomes." />
          : <ul className="findings">{found.data.items.map((f) => <FindingItem key={f.key} finding={f} ruleId={ruleId} />)}</ul>)
          : found.error ? <ErrorState error={found.error} retry={found.reload} /> : <SkeletonRows rows={2} />}
      </div>
    </section>
  );
}

function FindingItem({ finding, ruleId }: { finding: Finding; ruleId: string }) {
  const others = finding.rules.filter((r) => r !== ruleId);
  const common = finding.evidence.most_common as { code: string; count: number }[] | undefined;
  const scalars = Object.entries(finding.evidence).filter(([, v]) => v === null || typeof v !== "object");
  return (
    <li className="finding" data-kind={finding.kind}>
      <div className="row"><span className="badge badge-warn">{kindLabel(finding.kind)}</span>
        {others.length > 0 && <span className="small">with {others.map((r, i) => <span key={r}>{i > 0 && ", "}
          <Link to={`/rules/${encodeURIComponent(r)}`} className="mono">{r}</Link></span>)}</span>}</div>
      <p>{finding.suggestion}</p>
      {common && common.length > 0 && (
        <table className="table compact" aria-label="Most common errors">
          <thead><tr><th>Error</th><th className="num">Count</th></tr></thead>
          <tbody>{common.map((c) => <tr key={c.code}><td className="mono">{c.code}</td><td className="num">{count(c.count)}</td></tr>)}</tbody>
        </table>
      )}
      <dl className="evidence">{scalars.map(([k, v]) => (
        <div key={k}><dt>{k.replaceAll("_", " ")}</dt><dd className="mono">{k === "rate" && typeof v === "number" ? percent(v) : String(v)}</dd></div>
      ))}</dl>
      {finding.drafts.length > 0 && (
        <details><summary>Suggested change ({finding.drafts.length} draft{finding.drafts.length > 1 ? "s" : ""} to publish)</summary>
          <pre>{JSON.stringify(finding.drafts, null, 2)}</pre></details>
      )}
    </li>
  );
}

const PAGE = 20;

/** A rule's firings, newest first, each with how every action ended; filtered by result. */
export function RuleFirings({ ruleId }: { ruleId: string }) {
  const [result, setResult] = useState<Result | "">("");
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useQuery(`firings:${ruleId}:${result}:${cursor ?? ""}`, () => unwrap(api.GET("/rules/{rule_id}/firings", {
    params: { path: { rule_id: ruleId }, query: { limit: PAGE, cursor, result: result || undefined } },
  })), { refreshMs: 5000 });
  const choose = (next: Result | "") => {
    setResult(next);
    setCursors([undefined]);
  };
  return (
    <section className="card" aria-label="Firings">
      <div className="card-head"><h2>Firings</h2>
        <label className="row small">Show
          <select value={result} onChange={(e) => choose(e.target.value as Result | "")}>
            <option value="">all</option><option value="failed">failed</option>
            <option value="pending">pending</option><option value="succeeded">succeeded</option>
          </select></label></div>
      {page.data ? (page.data.items.length === 0 ? (
        <Empty title={result ? `No ${result} firings` : "No firings yet"}
          hint="A firing is an event the rule matched and acted on; each action's end shows here." />
      ) : (
        <table className="table">
          <thead><tr><th>Event</th><th>Evaluated</th><th>Result</th><th>Actions</th></tr></thead>
          <tbody>{page.data.items.map((f) => <FiringRow key={`${f.event_id}:${f.evaluated_at}`} firing={f} />)}</tbody>
        </table>
      )) : page.error ? <ErrorState error={page.error} retry={page.reload} /> : <SkeletonRows />}
      {(cursors.length > 1 || page.data?.next_cursor) && (
        <div className="row pager">
          <button className="btn btn-sm" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>← Newer</button>
          <button className="btn btn-sm" disabled={!page.data?.next_cursor} onClick={() => setCursors([...cursors, page.data!.next_cursor!])}>Older →</button>
        </div>
      )}
    </section>
  );
}

function FiringRow({ firing }: { firing: Firing }) {
  return (
    <tr data-event={firing.event_id}>
      <td><span className="mono">{firing.event_id}</span><div className="faint small">{firing.event_type} · v{firing.rule_version}</div></td>
      <td title={when(firing.evaluated_at)}>{ago(firing.evaluated_at)}</td>
      <td><StatusBadge status={firing.result} /></td>
      <td><ul className="firing-actions">{firing.actions.map((a) => (
        <li key={a.index} data-action={a.action_type}>
          <span className="mono">{a.action_type}</span> <StatusBadge status={a.status} />
          {a.http_status !== null && <span className="mono small"> HTTP {a.http_status}</span>}
          {a.code && <span className="mono small danger"> {a.code}</span>}
          {a.duration_ms !== null && <span className="faint small"> {duration(a.duration_ms)}</span>}
          {a.ref && a.action_type !== "publish_event" && a.action_type !== "signal_execution" && (
            <> · <Link to={`/executions/${encodeURIComponent(a.ref)}`} className="small">execution</Link></>)}
          {a.message && <div className="faint small">{a.message}</div>}
        </li>
      ))}</ul></td>
    </tr>
  );
}
