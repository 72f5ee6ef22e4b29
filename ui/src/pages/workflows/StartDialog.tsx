import { useState } from "react";
import { useNavigate } from "react-router";

import { api, unwrap } from "../../api/client";
import { Dialog } from "../../components/Dialog";
import { ErrorBanner } from "../../components/states";

const PRIORITIES = ["low", "normal", "high", "critical"] as const;
type Priority = (typeof PRIORITIES)[number];

/** Start an execution with a JSON input, then open its page (which waits for it to appear). */
export function StartDialog({ workflowId, version, onClose }: { workflowId: string; version?: string | null; onClose: () => void }) {
  const navigate = useNavigate();
  const [text, setText] = useState("{}");
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  const [priority, setPriority] = useState<Priority>("normal");
  let input: Record<string, unknown> | null = null;
  let parseError = "";
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) input = v as Record<string, unknown>;
    else parseError = "the input must be a JSON object";
  } catch (e) {
    parseError = `not JSON: ${(e as Error).message}`;
  }
  const start = async () => {
    setPending(true);
    setError(null);
    try {
      const out = await unwrap(api.POST("/workflows/{workflow_id}/executions", {
        params: { path: { workflow_id: workflowId } }, body: { input: input ?? {}, trigger_type: "manual", priority },
      }));
      navigate(`/executions/${encodeURIComponent(out.execution_id)}`);
    } catch (e) {
      setError(e);
      setPending(false);
    }
  };
  return (
    <Dialog title={`Start ${workflowId}${version ? ` ${version}` : ""}`} onClose={onClose} footer={
      <><button className="btn" onClick={onClose}>Close</button>
        <button className="btn btn-primary" disabled={pending || !!parseError} onClick={start}>Start execution</button></>
    }>
      <label className="field">Input (JSON object)
        <textarea rows={8} value={text} onChange={(e) => setText(e.target.value)} aria-invalid={!!parseError} />
        {parseError && <span className="field-error">{parseError}</span>}
      </label>
      <label className="field">Priority (its turn when the workflow's concurrency limit is reached)
        <select value={priority} onChange={(e) => setPriority(e.target.value as Priority)}>
          {PRIORITIES.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
      </label>
      <ErrorBanner error={error} />
    </Dialog>
  );
}
