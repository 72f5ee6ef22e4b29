import { useState } from "react";

import { api, unwrap } from "../../api/client";
import type { Schemas } from "../../api/types";
import { Dialog } from "../../components/Dialog";
import { ErrorBanner } from "../../components/states";
import { useToast } from "../../components/Toasts";

type BulkRequest = Schemas["BulkRequest"];
type BulkResult = Schemas["BulkResult"];
export type BulkFilter = Pick<BulkRequest, "workflow_id" | "trigger_type" | "started_after" | "started_before">;

/** Retry (failed) or cancel (unfinished) every execution the filter matches: a dry run lists
 * them first, and only a confirmed second step sends the commands. */
export function BulkDialog({ filter, onClose, onDone }: { filter: BulkFilter; onClose: () => void; onDone: () => void }) {
  const notify = useToast();
  const [action, setAction] = useState<"retry" | "cancel">("retry");
  const [reason, setReason] = useState("");
  const [preview, setPreview] = useState<BulkResult | null>(null);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const send = async (dry: boolean) => {
    setPending(true);
    setError(null);
    try {
      const body: BulkRequest = { ...filter, action, dry_run: dry, limit: 1000, reason };
      const result = await unwrap(api.POST("/executions/bulk", { body }));
      if (dry) setPreview(result);
      else {
        notify(`${action === "retry" ? "Retry" : "Cancel"} sent to ${result.sent} execution${result.sent === 1 ? "" : "s"}`, "ok");
        onDone();
        onClose();
      }
    } catch (e) {
      setError(e);
    } finally {
      setPending(false);
    }
  };
  const scope = Object.entries(filter).filter(([, v]) => v).map(([k, v]) => `${k.replace("_", " ")} ${String(v)}`).join(", ") || "every workflow";
  return (
    <Dialog title="Bulk action" onClose={onClose} footer={
      <>
        <button className="btn" onClick={onClose}>Close</button>
        {!preview
          ? <button className="btn btn-primary" disabled={pending} onClick={() => send(true)}>Preview (dry run)</button>
          : <button className={`btn ${action === "cancel" ? "btn-danger" : "btn-primary"}`} disabled={pending || preview.matched.length === 0}
              onClick={() => send(false)}>{action === "retry" ? "Retry" : "Cancel"} {preview.matched.length} execution{preview.matched.length === 1 ? "" : "s"}</button>}
      </>
    }>
      <p className="muted small" style={{ margin: 0 }}>Matches executions of <strong>{scope}</strong> that you may run.</p>
      <div className="row" role="radiogroup" aria-label="Action">
        <label className="check"><input type="radio" checked={action === "retry"} onChange={() => { setAction("retry"); setPreview(null); }} /> Retry failed executions</label>
        <label className="check"><input type="radio" checked={action === "cancel"} onChange={() => { setAction("cancel"); setPreview(null); }} /> Cancel unfinished (queued, running, waiting)</label>
      </div>
      {action === "cancel" && (
        <label className="field">Reason<input value={reason} onChange={(e) => setReason(e.target.value)} placeholder="optional" /></label>
      )}
      {preview && (
        <div className="banner banner-info" data-testid="bulk-preview">
          Dry run: {preview.matched.length} execution{preview.matched.length === 1 ? "" : "s"} would be {action === "retry" ? "retried" : "cancelled"}
          {preview.truncated && " (only the first 1000)"}.
          {preview.matched.length > 0 && <div className="mono small" style={{ marginTop: 4, maxHeight: 120, overflow: "auto" }}>{preview.matched.slice(0, 50).join(", ")}{preview.matched.length > 50 ? " …" : ""}</div>}
        </div>
      )}
      <ErrorBanner error={error} />
    </Dialog>
  );
}
