import { useState } from "react";
import { Link } from "react-router";

import { api, unwrap } from "../../api/client";
import { useQuery } from "../../api/hooks";
import { Can } from "../../auth/AuthContext";
import { Page } from "../../components/Page";
import { StatusBadge } from "../../components/StatusBadge";
import { Empty, ErrorState, SkeletonRows } from "../../components/states";
import { ago, count, percent } from "../../lib/format";

const PAGE = 50;

/** Rules by id with their status, statistics and insights: three requests a page (definitions
 * and their statistics page by the same id order; one page of findings), never one per rule. */
export default function RulesList() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useQuery(`rules:${cursor ?? ""}`, async () => {
    const query = { limit: PAGE, cursor };
    const [rules, stats, insights] = await Promise.all([
      unwrap(api.GET("/rules", { params: { query } })),
      unwrap(api.GET("/stats/rules", { params: { query } })),
      // One page of findings for the whole list (most harmful first), counted per rule.
      unwrap(api.GET("/rules/insights", { params: { query: { limit: 500 } } })).catch(() => undefined),
    ]);
    const byId = new Map(stats.items.map((s) => [s.rule_id, s]));
    const found = new Map<string, string[]>();
    for (const f of insights?.items ?? []) {
      for (const r of f.rules) found.set(r, [...(found.get(r) ?? []), f.kind]);
    }
    return { items: rules.items.map((r) => ({ rule: r, stats: byId.get(r.definition_id), insights: found.get(r.definition_id) ?? [] })), next: rules.next_cursor };
  }, { refreshMs: 5000 });

  return (
    <Page title="Rules" sub="Automation rules: what events they watch and what they do"
      actions={<Can right="edit"><Link className="btn btn-primary" to="/rules/new">New rule</Link></Can>}>
      <div className="card">
        {page.data ? (page.data.items.length === 0 ? (
          <Empty title="No rules yet" hint="A rule watches trigger events and starts workflows, publishes events or calls webhooks when its conditions hold."
            action={<Can right="edit"><Link className="btn btn-primary" to="/rules/new">Create a rule</Link></Can>} />
        ) : (
          <table className="table">
            <thead><tr><th>Rule</th><th>Status</th><th>Version</th><th className="num">Evaluated</th><th className="num">Matched</th><th className="num">Match rate</th><th className="num">Failed</th><th className="num">p95 eval</th><th className="num">Firings failed</th><th>Insights</th><th>Last match</th></tr></thead>
            <tbody>
              {page.data.items.map(({ rule, stats, insights }) => (
                <tr key={rule.definition_id} data-rule={rule.definition_id}>
                  <td><Link to={`/rules/${encodeURIComponent(rule.definition_id)}`}>{rule.name || rule.definition_id}</Link>
                    <div className="mono faint small">{rule.definition_id}</div></td>
                  <td><StatusBadge status={rule.active ? "active" : rule.status ?? "draft"} /></td>
                  <td className="mono">{rule.latest}</td>
                  <td className="num">{count(stats?.evaluations)}</td>
                  <td className="num" data-col="matched">{count(stats?.matched)}</td>
                  <td className="num">{percent(stats?.match_rate)}</td>
                  <td className="num" style={stats?.failed ? { color: "var(--danger)" } : undefined}>{count(stats?.failed)}</td>
                  <td className="num">{stats?.evaluation_us.p95 ? `${Math.round(stats.evaluation_us.p95)} µs` : "—"}</td>
                  <td className="num" data-col="firings-failed">{stats?.firings.fired ? `${count(stats.firings.failed)} of ${count(stats.firings.fired)}` : "—"}</td>
                  <td data-col="insights">{insights.length === 0 ? <span className="faint">—</span> : (
                    <Link to={`/rules/${encodeURIComponent(rule.definition_id)}`} title={insights.join(", ")}>
                      <span className="badge badge-warn">{insights.length} insight{insights.length > 1 ? "s" : ""}</span></Link>)}</td>
                  <td>{stats?.last_match ? ago(stats.last_match.at) : <span className="faint">never</span>}</td>
                </tr>
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
    </Page>
  );
}
