import { useState } from "react";

import { api, unwrap } from "../../api/client";
import { ApiError } from "../../api/errors";
import { ErrorBanner } from "../../components/states";

/** `POST /rules/test` as agreed: what the rule does with one event, without side effects. */
export interface ConditionNode {
  op: string;
  path: string | null;
  expected: unknown;
  actual: unknown;
  result: boolean;
  children: ConditionNode[];
}
export interface RuleTestResult {
  matched: boolean;
  trigger_matched: boolean;
  conditions: ConditionNode | null;
  actions: { index: number; type: string; rendered: unknown; error: null | { code: string; message: string } }[];
  held_by: null | { limit: string; detail: string };
}

export const SAMPLE_EVENT = {
  id: "evt-1", source: "shop/web", type: "order.placed", subject: "order-1001",
  data: { order_id: "order-1001", total: 6400, customer: { id: "c-7", tier: "standard" } },
};

/** Runs the rule being edited against a sample event and shows each condition's result. */
export function TestPanel({ rule, eventText, setEventText }: {
  rule: () => unknown; eventText: string; setEventText: (t: string) => void;
}) {
  const [result, setResult] = useState<RuleTestResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  let event: unknown = null;
  let parseError = "";
  try {
    event = JSON.parse(eventText);
  } catch (e) {
    parseError = (e as Error).message;
  }
  const run = async () => {
    setPending(true);
    setError(null);
    try {
      const out = await unwrap(api.POST("/rules/test", { body: { rule: rule() as Record<string, unknown>, event: event as Record<string, unknown> } }));
      setResult(out as RuleTestResult);
    } catch (e) {
      setResult(null);
      setError(e instanceof ApiError && (e.status === 404 || e.status === 405)
        ? new ApiError(e.status, "Testing rules is not available on this server yet (POST /rules/test).")
        : e);
    } finally {
      setPending(false);
    }
  };
  return (
    <section className="card test-panel" aria-label="Test the rule">
      <div className="card-head"><h2>Test against an event</h2>
        <button type="button" className="btn btn-primary btn-sm" disabled={pending || !!parseError} onClick={run}>Run test</button>
      </div>
      <div className="card-body stack">
        <label className="field">Sample event (CloudEvent JSON)
          <textarea rows={9} value={eventText} aria-invalid={!!parseError} onChange={(e) => setEventText(e.target.value)} />
          {parseError && <span className="field-error">not JSON: {parseError}</span>}
        </label>
        <ErrorBanner error={error} />
        {result && (
          <div className="stack" data-testid="rule-test-result">
            <div className={`banner ${result.matched ? "banner-ok" : "banner-error"}`}>
              {result.matched ? "The rule fires on this event." : !result.trigger_matched
                ? "The event's type or source does not match the trigger." : result.held_by
                ? `Held back by ${result.held_by.limit}: ${result.held_by.detail}` : "The conditions do not hold."}
            </div>
            {result.conditions && <ul className="cond-tree"><ConditionResult node={result.conditions} /></ul>}
            {result.actions.length > 0 && (
              <div className="stack">
                <h3>Actions</h3>
                {result.actions.map((a) => (
                  <div key={a.index} className="small">
                    <strong>{a.index + 1}. {a.type.replace("_", " ")}</strong>
                    {a.error ? <div className="field-error">{a.error.code}: {a.error.message}</div>
                      : <pre className="test-rendered">{JSON.stringify(a.rendered, null, 2)}</pre>}
                  </div>
                ))}
              </div>
            )}
          </div>
        )}
      </div>
    </section>
  );
}

function ConditionResult({ node }: { node: ConditionNode }) {
  return (
    <li>
      <span className={node.result ? "ok" : "no"} aria-label={node.result ? "holds" : "fails"}>{node.result ? "✓" : "✗"}</span>{" "}
      <code>{node.path ? `${node.path} ${node.op}` : node.op}</code>
      {node.path && <span className="muted small"> expected {JSON.stringify(node.expected)}, got {node.actual === undefined ? "nothing" : JSON.stringify(node.actual)}</span>}
      {node.children.length > 0 && <ul>{node.children.map((c, i) => <ConditionResult key={i} node={c} />)}</ul>}
    </li>
  );
}
