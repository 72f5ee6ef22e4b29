import { useMemo, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";

import { api, unwrap } from "../../api/client";
import { useQuery } from "../../api/hooks";
import { useAuth } from "../../auth/AuthContext";
import { Page } from "../../components/Page";
import { ErrorBanner, ErrorState, Loading } from "../../components/states";
import { useToast } from "../../components/Toasts";
import { ActionsEditor, newAction, type Action } from "./ActionsEditor";
import { ConditionBuilder } from "./ConditionBuilder";
import { emptyGroup, fieldPaths, fromJson, toJson, type Group } from "./conditions";
import { RuleFirings, RuleInsights } from "./RuleActivity";
import { SAMPLE_EVENT, TestPanel } from "./TestPanel";
import { VersionStatus } from "./VersionStatus";

export type RuleDef = Record<string, unknown> & {
  id: string; name: string; version: string; actions: Action[];
  trigger?: { event_type?: string; source?: string }; conditions?: unknown;
};

const NEW_RULE: RuleDef = {
  kind: "rule", id: "", name: "", version: "1.0.0",
  trigger: { event_type: "order.placed", source: "*" }, conditions: null,
  actions: [newAction()], priority: 0,
};

/** "1.2.3" -> "1.2.4"; anything else is left for the author. */
export function nextPatch(version: string): string {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return m ? `${m[1]}.${m[2]}.${Number(m[3]) + 1}` : version;
}

export default function RuleEditorPage() {
  const id = useParams().ruleId;
  const existing = useQuery(id ? `rule:${id}` : null, async () => {
    const rule = await unwrap(api.GET("/rules/{rule_id}", { params: { path: { rule_id: id! } } }));
    const body = await unwrap(api.GET("/definitions/{kind}/{definition_id}/versions/{version}", {
      params: { path: { kind: "rule", definition_id: id!, version: rule.latest ?? "" } },
    }));
    return { rule, body: body.definition as RuleDef };
  });
  if (!id) return <RuleEditor initial={NEW_RULE} />;
  if (existing.error) return <Page title={`Rule ${id}`}><ErrorState error={existing.error} retry={existing.reload} /></Page>;
  if (!existing.data) return <Page title={`Rule ${id}`}><Loading what="Loading the rule" /></Page>;
  const { body, rule } = existing.data;
  return <RuleEditor key={id} initial={{ ...body, kind: "rule", version: nextPatch(body.version) }}
    published={rule} onStatus={existing.reload} />;
}

function RuleEditor({ initial, published, onStatus }: {
  initial: RuleDef;
  published?: { definition_id: string; versions: { version: string; status: string }[] };
  onStatus?: () => void;
}) {
  const navigate = useNavigate();
  const notify = useToast();
  const { can } = useAuth();
  const [rule, setRule] = useState<RuleDef>(initial);
  const built = useMemo(() => fromJson(initial.conditions ?? null), [initial]);
  const [group, setGroup] = useState<Group>(built ?? emptyGroup());
  const [mode, setMode] = useState<"builder" | "json">(built ? "builder" : "json");
  const [rawText, setRawText] = useState(JSON.stringify(initial.conditions ?? null, null, 2));
  const [rawError, setRawError] = useState("");
  const [eventText, setEventText] = useState(JSON.stringify(SAMPLE_EVENT, null, 2));
  const [asDraft, setAsDraft] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);

  const sample = useMemo(() => {
    try {
      return JSON.parse(eventText) as unknown;
    } catch {
      return undefined;
    }
  }, [eventText]);
  const fields = useMemo(() => fieldPaths(sample), [sample]);
  const conditions = mode === "builder" ? toJson(group) : (() => {
    try {
      return JSON.parse(rawText || "null") as unknown;
    } catch {
      return undefined;
    }
  })();
  const definition = (): RuleDef => {
    const out: RuleDef = { ...rule, kind: "rule", conditions: conditions ?? null, status: asDraft ? "draft" : "active" };
    for (const k of ["exclusive_group", "max_executions", "concurrency_limit", "description"]) {
      if (out[k] === "" || out[k] === undefined) delete out[k];
    }
    return out;
  };
  const set = (patch: Partial<RuleDef>) => setRule((r) => ({ ...r, ...patch }));
  const switchMode = (next: "builder" | "json") => {
    if (next === mode) return;
    if (next === "json") {
      setRawText(JSON.stringify(toJson(group), null, 2));
      setMode("json");
      return;
    }
    const parsed = fromJson(conditions ?? null);
    if (!parsed) {
      setRawError("The builder cannot show this condition ($iany, $expr or deeper nesting): edit it here.");
      return;
    }
    setGroup(parsed);
    setRawError("");
    setMode("builder");
  };
  const publish = async () => {
    setPending(true);
    setError(null);
    try {
      const out = await unwrap(api.POST("/definitions", { body: definition() }));
      notify(`Published ${out.definition_id} ${out.version} (${out.status})`, "ok");
      navigate(`/rules/${encodeURIComponent(out.definition_id)}`);
      onStatus?.();
    } catch (e) {
      setError(e);
    } finally {
      setPending(false);
    }
  };
  const numberField = (key: string, label: string, hint?: string) => (
    <label className="field">{label}
      <input type="number" value={rule[key] === undefined || rule[key] === null ? "" : String(rule[key])} placeholder={hint}
        onChange={(e) => set({ [key]: e.target.value === "" ? undefined : Number(e.target.value) })} />
    </label>
  );
  const isNew = !published;

  return (
    <Page title={isNew ? "New rule" : `Rule ${rule.id}`} sub={<Link to="/rules">← All rules</Link>}
      actions={can("edit") && <>
        <label className="check"><input type="checkbox" checked={asDraft} onChange={(e) => setAsDraft(e.target.checked)} /> as draft</label>
        <button className="btn btn-primary" onClick={publish} disabled={pending || conditions === undefined}>Publish {rule.version}</button>
      </>}>
      {published && <VersionStatus kind="rule" id={published.definition_id} versions={published.versions} onChange={onStatus} />}
      <ErrorBanner error={error} />
      <div className="editor-grid">
        <div className="stack">
          <section className="card"><div className="card-head"><h2>Rule</h2></div>
            <div className="card-body form-grid">
              <label className="field">Id<input value={rule.id} disabled={!isNew} onChange={(e) => set({ id: e.target.value })} placeholder="big-order-review" className="mono" /></label>
              <label className="field">Name<input value={rule.name} onChange={(e) => set({ name: e.target.value })} placeholder="Send big orders to review" /></label>
              <label className="field">Version<input value={rule.version} onChange={(e) => set({ version: e.target.value })} className="mono" /></label>
              <label className="field">Event type (glob)<input value={rule.trigger?.event_type ?? ""} onChange={(e) => set({ trigger: { ...rule.trigger, event_type: e.target.value } })} placeholder="order.*" className="mono" /></label>
              <label className="field">Source (glob)<input value={rule.trigger?.source ?? ""} onChange={(e) => set({ trigger: { ...rule.trigger, source: e.target.value } })} placeholder="*" className="mono" /></label>
            </div>
          </section>
          <section className="card"><div className="card-head"><h2>Conditions</h2>
            <div className="row" role="tablist" aria-label="Condition view">
              <button role="tab" aria-selected={mode === "builder"} className={`btn btn-sm ${mode === "builder" ? "" : "btn-ghost"}`} onClick={() => switchMode("builder")}>Builder</button>
              <button role="tab" aria-selected={mode === "json"} className={`btn btn-sm ${mode === "json" ? "" : "btn-ghost"}`} onClick={() => switchMode("json")}>JSON</button>
            </div></div>
            <div className="card-body">
              {mode === "builder" ? <ConditionBuilder value={group} onChange={setGroup} fields={fields} sample={sample} /> : (
                <label className="field">Conditions as the engine reads them (durable_rules JSON)
                  <textarea rows={8} value={rawText} aria-invalid={conditions === undefined} onChange={(e) => setRawText(e.target.value)} />
                  {conditions === undefined && <span className="field-error">not JSON yet</span>}
                  {rawError && <span className="field-error">{rawError}</span>}
                </label>
              )}
            </div>
          </section>
          <section className="card"><div className="card-head"><h2>Actions</h2></div>
            <div className="card-body"><ActionsEditor actions={rule.actions} onChange={(actions) => set({ actions })} /></div>
          </section>
          <section className="card"><div className="card-head"><h2>Priority and limits</h2></div>
            <div className="card-body form-grid">
              {numberField("priority", "Priority (higher fires first)", "0")}
              <label className="field">Exclusive group<input value={String(rule.exclusive_group ?? "")} onChange={(e) => set({ exclusive_group: e.target.value })} placeholder="only the first rule of a group fires" /></label>
              {numberField("max_executions", "Max executions", "no limit")}
              {numberField("concurrency_limit", "Concurrency limit", "no limit")}
            </div>
          </section>
        </div>
        <TestPanel rule={definition} eventText={eventText} setEventText={setEventText} />
      </div>
      {published && (
        <div className="rule-activity">
          <RuleInsights ruleId={published.definition_id} />
          <RuleFirings ruleId={published.definition_id} />
        </div>
      )}
    </Page>
  );
}
