import { Fragment, useState } from "react";
import { Link } from "react-router";

import { api, unwrap } from "../api/client";
import { useQuery } from "../api/hooks";
import { Can } from "../auth/AuthContext";
import { Page } from "../components/Page";
import { StatusBadge } from "../components/StatusBadge";
import { Empty, ErrorState, SkeletonRows } from "../components/states";
import { count, duration, percent } from "../lib/format";
import { VersionStatus } from "./rules/VersionStatus";
import { StartDialog } from "./workflows/StartDialog";

const PAGE = 50;

/** Workflows by id with their versions and statistics (two requests a page, never one per
 * workflow); start one, open it in the designer, activate or pause a version. */
export default function Workflows() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const [starting, setStarting] = useState<{ id: string; version?: string | null } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const page = useQuery(`workflows:${cursor ?? ""}`, async () => {
    const query = { limit: PAGE, cursor };
    const [workflows, stats] = await Promise.all([
      unwrap(api.GET("/workflows", { params: { query } })),
      unwrap(api.GET("/stats/workflows", { params: { query } })),
    ]);
    const byId = new Map(stats.items.map((s) => [s.workflow_id, s]));
    return { items: workflows.items.map((w) => ({ workflow: w, stats: byId.get(w.definition_id) })), next: workflows.next_cursor };
  }, { refreshMs: 10_000 });

  return (
    <Page title="Workflows" sub="Published workflows, their versions and how their executions went"
      actions={<Can right="edit"><Link className="btn btn-primary" to="/designer">New workflow</Link></Can>}>
      <div className="card">
        {page.data ? (page.data.items.length === 0 ? (
          <Empty title="No workflows yet" hint="Design one, or start from a template."
            action={<><Link className="btn btn-primary" to="/templates">Browse templates</Link><Link className="btn" to="/designer">Open the designer</Link></>} />
        ) : (
          <table className="table">
            <thead><tr><th>Workflow</th><th>Status</th><th>Latest</th><th className="num">Runs</th><th className="num">Success</th><th className="num">p50</th><th className="num">p95</th><th /></tr></thead>
            <tbody>
              {page.data.items.map(({ workflow: w, stats: s }) => (
                <Fragment key={w.definition_id}>
                  <tr>
                    <td><button className="linklike" onClick={() => setOpen(open === w.definition_id ? null : w.definition_id)} aria-expanded={open === w.definition_id}>
                      {w.name || w.definition_id}</button>
                      <div className="mono faint small">{w.definition_id}</div></td>
                    <td><StatusBadge status={w.active ? "active" : w.status ?? "draft"} /></td>
                    <td className="mono">{w.latest}</td>
                    <td className="num"><Link to={`/executions?workflow_id=${encodeURIComponent(w.definition_id)}`}>{count(s?.total)}</Link></td>
                    <td className="num">{percent(s?.success_rate)}</td>
                    <td className="num">{duration(s?.duration_ms.p50)}</td>
                    <td className="num">{duration(s?.duration_ms.p95)}</td>
                    <td><div className="row" style={{ justifyContent: "flex-end" }}>
                      <Can right="run">{w.active && <button className="btn btn-sm" onClick={() => setStarting({ id: w.definition_id })}>Start</button>}</Can>
                      <Can right="run">{w.versions.length > 1 && (
                        <Link className="btn btn-sm btn-ghost" to={`/workflows/${encodeURIComponent(w.definition_id)}/migrate`}
                          aria-label={`Migrate running executions of ${w.definition_id}`}>Migrate…</Link>)}</Can>
                      <Link className="btn btn-sm btn-ghost" to={`/designer?workflow=${encodeURIComponent(w.definition_id)}&version=${encodeURIComponent(w.latest ?? "")}`}>Open in designer</Link>
                    </div></td>
                  </tr>
                  {open === w.definition_id && (
                    <tr><td colSpan={8}>
                      <VersionStatus kind="workflow" id={w.definition_id} versions={w.versions} onChange={page.reload} />
                    </td></tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        )) : page.error ? <ErrorState error={page.error} retry={page.reload} /> : <SkeletonRows />}
        {(cursors.length > 1 || page.data?.next) && (
          <div className="row pager">
            <button className="btn btn-sm" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>← Previous</button>
            <button className="btn btn-sm" disabled={!page.data?.next} onClick={() => setCursors([...cursors, page.data!.next!])}>Next →</button>
          </div>
        )}
      </div>
      {starting && <StartDialog workflowId={starting.id} version={starting.version} onClose={() => setStarting(null)} />}
    </Page>
  );
}
