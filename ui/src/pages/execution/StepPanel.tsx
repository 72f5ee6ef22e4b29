import type { ExecutionView } from "../../api/types";
import { StatusBadge } from "../../components/StatusBadge";
import { duration, pretty, when } from "../../lib/format";
import { stepOfPath } from "../../graph/runs";

type TimelineEvent = Record<string, unknown>;

/** The paths of the execution's runs of step `stepId` (one per loop iteration). */
function pathsOf(view: ExecutionView, stepId: string): string[] {
  return Object.keys(view.detail.steps).filter((p) => stepOfPath(p) === stepId).sort();
}

function eventPath(e: TimelineEvent): string | null {
  if (typeof e.step_id !== "string") return null;
  return e.scope ? `${String(e.scope)}/${e.step_id}` : e.step_id;
}

/** What one node did: per run, its input (rendered parameters), output, attempts and errors,
 * and its events from the timeline. */
export function StepPanel({ view, stepId, onClose }: {
  view: ExecutionView; stepId: string; onClose: () => void;
}) {
  const nodeKey = stepId;
  const paths = pathsOf(view, stepId);
  const timeline = view.timeline as TimelineEvent[];
  return (
    <aside className="card step-panel" aria-label={`Step ${nodeKey}`}>
      <div className="card-head">
        <h2 className="mono">{nodeKey}</h2>
        <button className="btn btn-ghost btn-sm" onClick={onClose} aria-label="Close step details">✕</button>
      </div>
      <div className="card-body stack">
        {paths.length === 0 && <p className="muted" style={{ margin: 0 }}>This step has not run in this execution.</p>}
        {paths.slice(0, 20).map((path) => {
          const step = view.detail.steps[path];
          const events = timeline.filter((e) => eventPath(e) === path);
          const requested = [...events].reverse().find((e) => e.type === "task_requested" || e.type === "step_started");
          const waiting = view.detail.waiting_on[path];
          return (
            <section key={path} className="stack run">
              <div className="row">
                {paths.length > 1 && <code>{path}</code>}
                <StatusBadge status={waiting && step.status === "running" ? "waiting" : step.status} />
                <span className="muted small">{step.step_type}</span>
                {waiting && <span className="muted small">waits for {waiting}</span>}
              </div>
              {step.errors.length > 0 && (
                <div className="banner banner-error" role="alert">
                  <strong>{step.errors[step.errors.length - 1].code}</strong>: {step.errors[step.errors.length - 1].message}
                </div>
              )}
              {requested && (requested.params !== undefined || requested.input !== undefined) && (
                <Block title="Input">
                  <pre>{pretty(requested.params !== undefined ? { with: requested.params, input: requested.input } : requested.input)}</pre>
                </Block>
              )}
              {step.output !== undefined && step.output !== null && <Block title="Output"><pre>{pretty(step.output)}</pre></Block>}
              <Block title={`Attempts (${step.attempts.length})`}>
                {step.attempts.length === 0 ? <span className="muted small">none yet</span> : (
                  <table className="table">
                    <thead><tr><th>#</th><th>Started</th><th>Took</th><th>Outcome</th></tr></thead>
                    <tbody>
                      {step.attempts.map((a) => (
                        <tr key={a.attempt}>
                          <td>{a.attempt}</td>
                          <td>{when(a.started_at)}</td>
                          <td>{a.ended_at ? duration(Date.parse(a.ended_at) - Date.parse(a.started_at)) : "…"}</td>
                          <td>
                            <StatusBadge status={a.outcome} />
                            {a.error && <div className="small" style={{ color: "var(--danger)" }}>{a.error.code}: {a.error.message}</div>}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </Block>
              {(() => {
                const lines = (view.detail.logs ?? []).filter((l) => l.step === path);
                return lines.length > 0 && (
                  <Block title={`Log (${lines.length})`}>
                    <ol className="events">
                      {lines.map((l) => (
                        <li key={l.seq}><span className={`log-level log-${l.level}`}>{l.level}</span> {l.message}</li>
                      ))}
                    </ol>
                  </Block>
                );
              })()}
              <Block title={`Events (${events.length})`}>
                <ol className="events">
                  {events.map((e) => (
                    <li key={String(e.seq)}><span className="mono faint">#{String(e.seq)}</span> {String(e.type)} <span className="faint small">{when(String(e.time))}</span></li>
                  ))}
                </ol>
              </Block>
            </section>
          );
        })}
        {paths.length > 20 && <p className="muted small">and {paths.length - 20} more runs</p>}
      </div>
    </aside>
  );
}

function Block({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <div className="block">
      <h3 className="block-title">{title}</h3>
      {children}
    </div>
  );
}
