import { useState } from "react";

import { api, unwrap } from "../../api/client";
import type { ExecutionView } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Confirm, Dialog } from "../../components/Dialog";
import { ErrorBanner } from "../../components/states";
import { useToast } from "../../components/Toasts";

const UNFINISHED = new Set(["queued", "running", "waiting"]);

/** The signals the execution waits for right now ("signal decision" -> "decision"). */
export function awaitedSignals(view: ExecutionView): string[] {
  return Object.values(view.detail.waiting_on)
    .filter((w) => w.startsWith("signal "))
    .map((w) => w.slice("signal ".length));
}

/** Cancel, signal and retry, offered exactly when the API takes them (cancel and signal on an
 * unfinished execution, queued and waiting included; retry on a failed one) and the role may run. */
export function ExecutionActions({ view, onDone }: { view: ExecutionView; onDone: () => void }) {
  const { can } = useAuth();
  const notify = useToast();
  const [open, setOpen] = useState<"cancel" | "signal" | "retry" | null>(null);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [reason, setReason] = useState("");
  const signals = awaitedSignals(view);
  const [signal, setSignal] = useState(signals[0] ?? "");
  const [payload, setPayload] = useState("{}");
  const id = view.summary.execution_id;
  const status = view.summary.status;
  if (!can("run")) return null;

  const close = () => {
    setOpen(null);
    setError(null);
  };
  const run = async (what: string, call: () => Promise<unknown>) => {
    setPending(true);
    setError(null);
    try {
      await call();
      notify(`${what}: sent`, "ok");
      close();
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setPending(false);
    }
  };
  const path = { execution_id: id };
  let parsed: unknown = undefined;
  let payloadError = "";
  try {
    parsed = payload.trim() ? JSON.parse(payload) : null;
  } catch (e) {
    payloadError = `not JSON: ${(e as Error).message}`;
  }

  return (
    <>
      {UNFINISHED.has(status) && (
        <button className="btn btn-primary" onClick={() => { setSignal(signals[0] ?? signal); setOpen("signal"); }}>
          Send signal{signals.length === 1 ? `: ${signals[0]}` : ""}
        </button>
      )}
      {status === "failed" && <button className="btn btn-primary" onClick={() => setOpen("retry")}>Retry from the failed step</button>}
      {UNFINISHED.has(status) && <button className="btn btn-danger" onClick={() => setOpen("cancel")}>Cancel</button>}

      {open === "cancel" && (
        <Confirm title={`Cancel ${id}?`} confirm="Cancel execution" danger pending={pending} onClose={close}
          onConfirm={() => run("Cancel", () => unwrap(api.POST("/executions/{execution_id}/cancel", { params: { path }, body: { reason } })))}>
          <p className="muted" style={{ margin: 0 }}>Running steps are cancelled and the execution ends as cancelled.</p>
          <label className="field">Reason (recorded on the execution)
            <input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="optional" />
          </label>
          <ErrorBanner error={error} />
        </Confirm>
      )}
      {open === "retry" && (
        <Confirm title={`Retry ${id}?`} confirm="Retry" pending={pending} onClose={close}
          onConfirm={() => run("Retry", () => unwrap(api.POST("/executions/{execution_id}/retry", { params: { path } })))}>
          <p className="muted" style={{ margin: 0 }}>
            The execution resumes from <code>{view.summary.failed_step ?? "the failed step"}</code> with its variables as they are.
          </p>
          <ErrorBanner error={error} />
        </Confirm>
      )}
      {open === "signal" && (
        <Dialog title="Send a signal" onClose={close} footer={
          <>
            <button className="btn" onClick={close}>Keep as is</button>
            <button className="btn btn-primary" disabled={pending || !signal.trim() || !!payloadError}
              onClick={() => run(`Signal ${signal}`, () => unwrap(api.POST("/executions/{execution_id}/signals/{name}", {
                params: { path: { ...path, name: signal.trim() } }, body: { payload: parsed },
              })))}>Send</button>
          </>
        }>
          {signals.length > 0
            ? <p className="muted small" style={{ margin: 0 }}>The execution waits for {signals.map((s) => <code key={s}>{s} </code>)}.</p>
            : <p className="muted small" style={{ margin: 0 }}>No step waits for a signal now; a signal sent now is kept until one does.</p>}
          <label className="field">Signal name
            <input value={signal} onChange={(e) => setSignal(e.target.value)} list="awaited-signals" />
            <datalist id="awaited-signals">{signals.map((s) => <option key={s} value={s} />)}</datalist>
          </label>
          <label className="field">Payload (JSON)
            <textarea value={payload} onChange={(e) => setPayload(e.target.value)} aria-invalid={!!payloadError} rows={5} />
            {payloadError && <span className="field-error">{payloadError}</span>}
          </label>
          <ErrorBanner error={error} />
        </Dialog>
      )}
    </>
  );
}
