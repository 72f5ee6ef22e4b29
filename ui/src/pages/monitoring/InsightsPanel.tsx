import { Link } from "react-router";

import { api, unwrap } from "../../api/client";
import { useQuery } from "../../api/hooks";
import { Empty, ErrorState, SkeletonRows } from "../../components/states";
import { kindLabel } from "../../lib/insights";

const SHOWN = 5;

/** The most harmful rule insights across the rulebook, each linking to its rule's page. */
export function InsightsPanel() {
  const found = useQuery("monitoring:insights", () => unwrap(api.GET("/rules/insights", {
    params: { query: { limit: SHOWN } },
  })), { refreshMs: 30_000 });
  return (
    <section className="card" aria-label="Rule insights">
      <div className="card-head"><h2>Rule insights</h2>
        <span className="faint small">what to improve in the active rules, most harmful first</span></div>
      <div className="card-body">
        {found.data ? (found.data.items.length === 0
          ? <Empty title="No insights" hint="The analyser found nothing to improve in the active rules." />
          : <ul className="insight-list">{found.data.items.map((f) => (
            <li key={f.key} data-kind={f.kind}>
              <span className="badge badge-warn">{kindLabel(f.kind)}</span>{" "}
              {f.rules.map((r, i) => <span key={r}>{i > 0 && ", "}<Link className="mono" to={`/rules/${encodeURIComponent(r)}`}>{r}</Link></span>)}
              <div className="small muted">{f.suggestion}</div>
            </li>))}
            {found.data.next_cursor && <li className="small"><Link to="/rules">More on the rules page →</Link></li>}
          </ul>)
          : found.error ? <ErrorState error={found.error} retry={found.reload} /> : <SkeletonRows rows={2} />}
      </div>
    </section>
  );
}
