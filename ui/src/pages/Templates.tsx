import { useState } from "react";
import { useNavigate } from "react-router";

import { api, unwrap } from "../api/client";
import { useDebounced, useQuery } from "../api/hooks";
import type { Schemas } from "../api/types";
import { Confirm, Dialog } from "../components/Dialog";
import { Page } from "../components/Page";
import { Empty, ErrorBanner, ErrorState, SkeletonRows } from "../components/states";
import { getDraft, hasDraft, setDraft } from "../drafts";

type Template = Schemas["TemplateOut"];
const PAGE = 24;

/** The bundled example workflows and the templates users saved (GET /templates), searched and
 * paged; "Use template" fills in its parameters, instantiates it and opens the result in the
 * designer, asking first when that would replace a draft. */
export default function Templates() {
  const navigate = useNavigate();
  const [query, setQuery] = useState("");
  const [source, setSource] = useState<"" | "bundled" | "user">("");
  const q = useDebounced(query.trim(), 250);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const page = useQuery(`templates:${q}:${source}:${cursor ?? ""}`, () => unwrap(api.GET("/templates", {
    params: { query: { q: q || undefined, source: source || undefined, limit: PAGE, cursor } },
  })));
  const [chosen, setChosen] = useState<Template | null>(null);
  const [made, setMade] = useState<Record<string, unknown> | null>(null);

  const open = (definition: Record<string, unknown>) => {
    setDraft(definition);
    navigate("/designer");
  };
  const instantiated = (definition: Record<string, unknown>) => {
    setChosen(null);
    if (hasDraft()) setMade(definition);
    else open(definition);
  };

  return (
    <Page title="Templates" sub="Example workflows and the templates your team saved"
      actions={<>
        <select aria-label="Source" value={source} onChange={(e) => { setSource(e.target.value as typeof source); setCursors([undefined]); }}>
          <option value="">All templates</option><option value="bundled">Examples</option><option value="user">Saved by users</option>
        </select>
        <input type="search" placeholder="Search templates" aria-label="Search templates" value={query}
          onChange={(e) => { setQuery(e.target.value); setCursors([undefined]); }} />
      </>}>
      {page.data ? (page.data.items.length === 0 ? (
        <div className="card"><Empty title={q || source ? "No template matches" : "No templates"} hint={q ? "Try another word." : "Save a workflow as a template from the designer."} /></div>
      ) : (
        <div className="template-grid">
          {page.data.items.map((t) => (
            <article key={t.template_id} className="card template" aria-label={t.name}>
              <div className="card-body stack">
                <div>
                  <h2>{t.name}</h2>
                  <div className="mono faint small">{t.template_id}</div>
                </div>
                <p className="muted small template-desc">{t.description || "\u00a0"}</p>
                <div className="row small muted">
                  {t.category && <span className="badge plain">{t.category}</span>}
                  {t.tags.slice(0, 4).map((tag) => <span key={tag} className="badge plain">#{tag}</span>)}
                  <span className="spacer" />
                  <span>{t.steps} step{t.steps === 1 ? "" : "s"}</span>
                </div>
                <div className="row">
                  <button className="btn btn-primary btn-sm" onClick={() => setChosen(t)}>Use template</button>
                  <span className="faint small">{t.source === "user" ? `saved by ${t.saved_by ?? "someone"}` : "example"}
                    {t.parameters.length ? ` · ${t.parameters.length} parameter${t.parameters.length === 1 ? "" : "s"}` : ""}</span>
                </div>
              </div>
            </article>
          ))}
        </div>
      )) : page.error ? <div className="card"><ErrorState error={page.error} retry={page.reload} /></div> : <div className="card"><SkeletonRows /></div>}
      {(cursors.length > 1 || page.data?.next_cursor) && (
        <div className="row pager">
          <button className="btn btn-sm" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>← Previous</button>
          <button className="btn btn-sm" disabled={!page.data?.next_cursor} onClick={() => setCursors([...cursors, page.data!.next_cursor!])}>Next →</button>
        </div>
      )}
      {chosen && <UseDialog template={chosen} onClose={() => setChosen(null)} onMade={instantiated} />}
      {made && (
        <Confirm title="Replace your draft?" confirm="Replace draft" danger onClose={() => setMade(null)} onConfirm={() => open(made)}>
          <p style={{ margin: 0 }}>The designer holds an unpublished draft ({String(getDraft()?.name ?? getDraft()?.id ?? "untitled")}).
            Opening “{String(made.name ?? made.id)}” replaces it.</p>
        </Confirm>
      )}
    </Page>
  );
}

/** The template's parameters (and the new workflow's id), then `POST …/instantiate`. */
function UseDialog({ template, onClose, onMade }: {
  template: Template; onClose: () => void; onMade: (definition: Record<string, unknown>) => void;
}) {
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(template.parameters.map((p) => [p.name, p.default === undefined || p.default === null ? "" : String(p.default)])));
  const [workflowId, setWorkflowId] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [pending, setPending] = useState(false);
  const make = async () => {
    setPending(true);
    setError(null);
    try {
      const parameters = Object.fromEntries(template.parameters.filter((p) => values[p.name] !== "").map((p) => {
        const raw = values[p.name];
        const typed = p.type === "number" || p.type === "integer" ? Number(raw) : p.type === "boolean" ? raw === "true" : raw;
        return [p.name, typed];
      }));
      const out = await unwrap(api.POST("/templates/{template_id}/instantiate", {
        params: { path: { template_id: template.template_id } },
        body: { parameters, workflow_id: workflowId.trim() || null },
      }));
      onMade(out.definition as Record<string, unknown>);
    } catch (e) {
      setError(e);
      setPending(false);
    }
  };
  return (
    <Dialog title={`Use “${template.name}”`} onClose={onClose} footer={
      <><button className="btn" onClick={onClose}>Cancel</button>
        <button className="btn btn-primary" onClick={make} disabled={pending}>Open in the designer</button></>
    }>
      <label className="field">Workflow id (optional)
        <input className="mono" value={workflowId} placeholder={template.template_id} onChange={(e) => setWorkflowId(e.target.value)} />
      </label>
      {template.parameters.map((p) => (
        <label key={p.name} className="field">{p.name}{p.required ? " *" : ""}
          <input value={values[p.name] ?? ""} onChange={(e) => setValues({ ...values, [p.name]: e.target.value })}
            type={p.type === "number" || p.type === "integer" ? "number" : "text"} placeholder={p.description} />
        </label>
      ))}
      <ErrorBanner error={error} />
    </Dialog>
  );
}
