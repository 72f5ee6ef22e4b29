import { useMemo, useState } from "react";
import { useNavigate } from "react-router";

import templates from "../api/generated/templates.json";
import { Confirm } from "../components/Dialog";
import { Page } from "../components/Page";
import { Empty } from "../components/states";
import { getDraft, hasDraft, setDraft } from "../drafts";
import { KindIcon } from "../graph/icons";
import { stepKind, type StepDef } from "../graph/model";

interface Template { file: string; definition: Record<string, unknown> & { id: string; name: string; description?: string; steps: StepDef[]; triggers?: { type: string }[] } }

function kinds(steps: StepDef[], out = new Set<string>()): Set<string> {
  for (const s of steps) {
    out.add(stepKind(s));
    if (s.steps) kinds(s.steps, out);
    s.branches?.forEach((b) => "steps" in b && kinds(b.steps, out));
  }
  return out;
}

/** The bundled example workflows; "Use template" opens one in the designer, asking first
 * when that would replace a draft. */
export default function Templates() {
  const navigate = useNavigate();
  const [query, setQuery] = useState("");
  const [asking, setAsking] = useState<Template | null>(null);
  const all = templates as Template[];
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return q ? all.filter((t) => `${t.definition.name} ${t.definition.id} ${t.definition.description ?? ""}`.toLowerCase().includes(q)) : all;
  }, [all, query]);
  const use = (t: Template) => {
    setDraft(t.definition);
    navigate("/designer");
  };
  const choose = (t: Template) => (hasDraft() ? setAsking(t) : use(t));
  const draftName = String(getDraft()?.name ?? getDraft()?.id ?? "your draft");

  return (
    <Page title="Templates" sub="Example workflows to start from"
      actions={<input type="search" placeholder="Search templates" aria-label="Search templates" value={query} onChange={(e) => setQuery(e.target.value)} />}>
      {shown.length === 0 ? <Empty title="No template matches" hint="Try another word." /> : (
        <div className="template-grid">
          {shown.map((t) => (
            <article key={t.file} className="card template" aria-label={t.definition.name}>
              <div className="card-body stack">
                <div>
                  <h2>{t.definition.name}</h2>
                  <div className="mono faint small">{t.definition.id}</div>
                </div>
                <p className="muted small template-desc">{t.definition.description || "\u00a0"}</p>
                <div className="row small muted">
                  {[...kinds(t.definition.steps)].map((k) => <span key={k} className="badge plain"><KindIcon kind={k} size={11} /> {k}</span>)}
                  <span className="spacer" />
                  <span>{t.definition.steps.length} steps</span>
                </div>
                <div className="row">
                  <button className="btn btn-primary btn-sm" onClick={() => choose(t)}>Use template</button>
                  {t.definition.triggers?.length ? <span className="faint small">triggers: {t.definition.triggers.map((x) => x.type).join(", ")}</span> : null}
                </div>
              </div>
            </article>
          ))}
        </div>
      )}
      {asking && (
        <Confirm title="Replace your draft?" confirm="Replace draft" danger onClose={() => setAsking(null)} onConfirm={() => use(asking)}>
          <p style={{ margin: 0 }}>The designer holds an unpublished draft ({draftName}). Opening “{asking.definition.name}” replaces it.</p>
        </Confirm>
      )}
    </Page>
  );
}
