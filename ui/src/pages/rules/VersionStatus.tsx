import { useState } from "react";

import { api, unwrap } from "../../api/client";
import { Can } from "../../auth/AuthContext";
import { StatusBadge } from "../../components/StatusBadge";
import { ErrorBanner } from "../../components/states";
import { useToast } from "../../components/Toasts";

/** A definition's versions with their status, and activate / pause for each (edit right). */
export function VersionStatus({ kind, id, versions, onChange }: {
  kind: "rule" | "workflow"; id: string; versions: { version: string; status: string }[]; onChange?: () => void;
}) {
  const notify = useToast();
  const [error, setError] = useState<unknown>(null);
  const change = async (version: string, status: "active" | "paused") => {
    setError(null);
    try {
      await unwrap(api.POST("/definitions/{kind}/{definition_id}/versions/{version}/status", {
        params: { path: { kind, definition_id: id, version } }, body: { status, reason: "" },
      }));
      notify(`${id} ${version}: ${status === "active" ? "activated" : "paused"}`, "ok");
      // the status change is a record on the log: the views show it a moment later
      setTimeout(() => onChange?.(), 600);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="card versions">
      <div className="row" style={{ padding: "var(--s2) var(--s4)" }}>
        <span className="muted small">Versions</span>
        {[...versions].reverse().slice(0, 6).map((v) => (
          <span key={v.version} className="chip">
            <span className="mono">{v.version}</span> <StatusBadge status={v.status} />
            <Can right="edit">
              {v.status === "active"
                ? <button className="linklike small" onClick={() => change(v.version, "paused")}>Pause</button>
                : v.status !== "deprecated" && <button className="linklike small" onClick={() => change(v.version, "active")}>Activate</button>}
            </Can>
          </span>
        ))}
      </div>
      <ErrorBanner error={error} />
    </div>
  );
}
