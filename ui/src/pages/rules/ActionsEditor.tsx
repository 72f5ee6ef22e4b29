import { useState } from "react";

export type Action = Record<string, unknown> & { type: string };

const TYPES: { type: string; label: string; mapping: string }[] = [
  { type: "start_workflow", label: "Start a workflow", mapping: "input" },
  { type: "publish_event", label: "Publish an event", mapping: "data" },
  { type: "call_webhook", label: "Call a webhook", mapping: "body" },
  { type: "signal_execution", label: "Signal an execution", mapping: "payload" },
];

export function newAction(type = "start_workflow"): Action {
  if (type === "start_workflow") return { type, workflow_id: "", version: "*" };
  if (type === "publish_event") return { type, event_type: "" };
  if (type === "call_webhook") return { type, url: "", method: "POST" };
  return { type, execution_id: "", signal: "" };
}

/** The rule's actions: a typed form per action type, and its data mapping (values may use
 * `${ event.data.x }` expressions) as JSON. */
export function ActionsEditor({ actions, onChange }: { actions: Action[]; onChange: (a: Action[]) => void }) {
  const set = (i: number, a: Action) => onChange(actions.map((x, j) => (j === i ? a : x)));
  return (
    <div className="stack">
      {actions.map((a, i) => (
        <ActionCard key={i} index={i} action={a} onChange={(x) => set(i, x)}
          onRemove={actions.length > 1 ? () => onChange(actions.filter((_, j) => j !== i)) : undefined} />
      ))}
      <div><button type="button" className="btn btn-sm" onClick={() => onChange([...actions, newAction()])}>+ Action</button></div>
    </div>
  );
}

function ActionCard({ action, index, onChange, onRemove }: {
  action: Action; index: number; onChange: (a: Action) => void; onRemove?: () => void;
}) {
  const spec = TYPES.find((t) => t.type === action.type) ?? TYPES[0];
  const text = (key: string, label: string, placeholder = "") => (
    <label className="field">{label}
      <input value={String(action[key] ?? "")} placeholder={placeholder}
        onChange={(e) => onChange({ ...action, [key]: e.target.value })} />
    </label>
  );
  return (
    <fieldset className="action-card" aria-label={`Action ${index + 1}`}>
      <div className="row">
        <label className="field" style={{ flex: 1 }}>Action {index + 1}
          <select value={action.type} onChange={(e) => onChange(newAction(e.target.value))}>
            {TYPES.map((t) => <option key={t.type} value={t.type}>{t.label}</option>)}
          </select>
        </label>
        {onRemove && <button type="button" className="btn btn-ghost btn-sm" onClick={onRemove}>Remove</button>}
      </div>
      <div className="form-grid">
        {action.type === "start_workflow" && <>{text("workflow_id", "Workflow", "order-fulfilment")}{text("version", "Version", "* or ^1")}</>}
        {action.type === "publish_event" && <>{text("event_type", "Event type", "order.flagged")}{text("subject", "Subject", "${ event.subject }")}</>}
        {action.type === "call_webhook" && <>{text("url", "URL", "https://example.com/hook")}
          <label className="field">Method
            <select value={String(action.method ?? "POST")} onChange={(e) => onChange({ ...action, method: e.target.value })}>
              {["POST", "PUT", "PATCH", "GET", "DELETE"].map((m) => <option key={m}>{m}</option>)}
            </select>
          </label></>}
        {action.type === "signal_execution" && <>{text("execution_id", "Execution id (expression)", "event.data.execution_id")}{text("signal", "Signal", "approve")}</>}
      </div>
      <MappingField label={`${spec.mapping[0].toUpperCase()}${spec.mapping.slice(1)} mapping (JSON; default: ${spec.type === "start_workflow" ? "the event's data" : "none"})`}
        value={action[spec.mapping]} onChange={(v) => {
          const next = { ...action };
          if (v === undefined) delete next[spec.mapping];
          else next[spec.mapping] = v;
          onChange(next);
        }} />
    </fieldset>
  );
}

function MappingField({ label, value, onChange }: { label: string; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === undefined || value === null ? "" : JSON.stringify(value, null, 2));
  const [error, setError] = useState("");
  return (
    <label className="field">{label}
      <textarea rows={3} value={text} aria-invalid={!!error} placeholder='{"order": "${ event.data.order_id }"}'
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) {
            setError("");
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setError("");
          } catch (err) {
            setError(`not JSON yet: ${(err as Error).message}`);
          }
        }} />
      {error && <span className="field-error">{error}</span>}
    </label>
  );
}
