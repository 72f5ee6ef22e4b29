import { useState } from "react";

import type { PlacedProblem } from "../graph/problems";
import type { TestRun } from "./api";

/** Every problem and warning, each a button that selects its step. */
export function ProblemsList({ problems, validating, onPick }: {
  problems: PlacedProblem[]; validating: boolean; onPick: (step?: string) => void;
}) {
  const errors = problems.filter((p) => p.level === "error").length;
  return (
    <section className="problems" aria-label="Problems">
      <h3>
        Problems <span className={`count ${errors ? "count-error" : "count-ok"}`} data-testid="problem-count">{errors}</span>
        {problems.length - errors > 0 && <span className="count count-warn">{problems.length - errors} warnings</span>}
        {validating && <span className="muted"> checking…</span>}
      </h3>
      {problems.length === 0 ? <p className="muted">No problems: this workflow can be published.</p> : (
        <ul>
          {problems.map((p, i) => (
            <li key={i} className={`problem-${p.level}`}>
              <button className="link" onClick={() => onPick(p.step)}>
                <strong>{p.step ?? "workflow"}</strong>{p.field && <code> {p.field}</code>}: {p.message}
                <span className="muted"> [{p.code}]</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Sample input, signals, and the last test run's path and output. */
export function TestPanel({ onRun, running, result, error }: {
  onRun: (input: Record<string, unknown>, signals: Record<string, unknown>) => void;
  running: boolean; result?: TestRun; error?: string;
}) {
  const [input, setInput] = useState("{}");
  const [signals, setSignals] = useState("{}");
  const [parseError, setParseError] = useState<string | null>(null);
  const run = () => {
    try {
      const i = JSON.parse(input || "{}");
      const s = JSON.parse(signals || "{}");
      if (typeof i !== "object" || Array.isArray(i) || i === null) throw new Error("input must be a JSON object");
      setParseError(null);
      onRun(i, s);
    } catch (e) {
      setParseError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <section className="test-panel" aria-label="Test run">
      <h3>Test run <span className="muted">(no side effects: pinned answers, else each action echoes its `with`)</span></h3>
      <div className="test-grid">
        <label className="field">Sample input (JSON)
          <textarea aria-label="Sample input" value={input} onChange={(e) => setInput(e.target.value)} rows={3} />
        </label>
        <label className="field">Signals by name (JSON)
          <textarea aria-label="Signals" value={signals} onChange={(e) => setSignals(e.target.value)} rows={3} />
        </label>
      </div>
      <button className="btn" onClick={run} disabled={running} data-testid="run-test">{running ? "Running…" : "Run test"}</button>
      {(parseError || error) && <div className="field-error" role="alert">{parseError ?? error}</div>}
      {result && (
        <div className="test-result" data-testid="test-result">
          <div>
            <span className={`status status-${result.status}`}>{result.status}</span>
            {result.stopped && <span className="muted"> stopped: {result.stopped}</span>}
            <span className="muted"> path: </span><code>{result.path.join(" → ")}</code>
          </div>
          <pre>{JSON.stringify(result.status === "failed" ? result.error : result.output, null, 2)}</pre>
          {result.notes.length > 0 && <ul className="muted">{result.notes.map((n, i) => <li key={i}>{n}</li>)}</ul>}
        </div>
      )}
    </section>
  );
}
