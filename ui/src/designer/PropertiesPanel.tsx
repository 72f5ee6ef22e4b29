import Form from "@rjsf/core";
import type { ErrorSchema, RJSFSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import { useMemo, useState } from "react";

import type { RunInfo } from "../graph/convert";
import { stepKind, type StepDef, type WorkflowDef } from "../graph/steps";
import { parsePath, type PlacedProblem } from "../graph/problems";
import type { Mocks } from "./api";
import { ExpressionWidget, MappingField, fromText } from "./fields";
import { stepSchema, uiSchemaFor, workflowFormSchema } from "./schema";

const fields = { mapping: MappingField };
const widgets = { expression: ExpressionWidget };

/** The API's problems for one step as rjsf field errors (`branches[0].when` → nested). */
export function errorSchemaOf(problems: PlacedProblem[]): ErrorSchema {
  const root: Record<string, unknown> = {};
  for (const p of problems) {
    if (!p.field) continue;
    let node = root;
    for (const token of parsePath(`$.${p.field}`)) {
      const key = String(token);
      node[key] = (node[key] as Record<string, unknown>) ?? {};
      node = node[key] as Record<string, unknown>;
    }
    node.__errors = [...((node.__errors as string[]) ?? []), p.message];
  }
  return root as ErrorSchema;
}

function ProblemList({ problems }: { problems: PlacedProblem[] }) {
  if (!problems.length) return null;
  return (
    <ul className="panel-problems">
      {problems.map((p, i) => (
        <li key={i} className={`problem-${p.level}`}>
          <code>{p.field || "step"}</code> {p.message} <span className="muted">[{p.code}]</span>
        </li>
      ))}
    </ul>
  );
}

function Json({ label, value }: { label: string; value: unknown }) {
  if (value === undefined) return null;
  return (
    <div className="run-value">
      <div className="muted">{label}</div>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </div>
  );
}

/** Pin a step's test-run answer: an output (JSON or text) or an error code. */
function MockEditor({ stepId, mocks, setMocks }: { stepId: string; mocks: Mocks; setMocks: (m: Mocks) => void }) {
  const mock = mocks[stepId];
  const [mode, setMode] = useState<"output" | "error">(mock?.error ? "error" : "output");
  const [text, setText] = useState(mock?.error ? mock.error.code : mock ? JSON.stringify(mock.output) : "");
  const pin = () => {
    const next = { ...mocks };
    next[stepId] = mode === "error" ? { error: { code: text || "failed", message: "pinned in the designer", retryable: false } }
      : { output: fromText(text) };
    setMocks(next);
  };
  const unpin = () => {
    const next = { ...mocks };
    delete next[stepId];
    setMocks(next);
    setText("");
  };
  return (
    <div className="mock-editor">
      <div className="row">
        <select aria-label="Pinned answer kind" value={mode} onChange={(e) => setMode(e.target.value as "output" | "error")}>
          <option value="output">answers with output</option>
          <option value="error">fails with error code</option>
        </select>
      </div>
      <input className="mono" aria-label="Pinned answer" value={text} placeholder={mode === "error" ? "error code" : '{"ok": true}'}
             onChange={(e) => setText(e.target.value)} />
      <div className="row">
        <button type="button" className="btn btn-sm" onClick={pin}>{mock ? "Update pin" : "Pin"}</button>
        {mock && <button type="button" className="btn btn-sm btn-ghost" onClick={unpin}>Unpin</button>}
      </div>
    </div>
  );
}

/** The selected step's fields (or the workflow's), its problems, its test-run result and pin. */
export function PropertiesPanel({ def, step, problems, run, mocks, setMocks, onStep, onWorkflow, readOnly }: {
  def: WorkflowDef; step?: StepDef; problems: PlacedProblem[]; run?: RunInfo; mocks: Mocks;
  setMocks: (m: Mocks) => void; onStep: (id: string, fields: StepDef) => void;
  onWorkflow: (fields: Partial<WorkflowDef>) => void; readOnly: boolean;
}) {
  const kind = step ? stepKind(step) : undefined;
  const schema = useMemo(() => (kind ? stepSchema(kind) : workflowFormSchema()), [kind]);
  const uiSchema = useMemo(() => uiSchemaFor(schema), [schema]);
  const formData = useMemo(() => {
    if (step) {
      const { steps: _s, ...rest } = step;
      void _s;
      if (kind === "parallel") rest.branches = (step.branches ?? []).map(({ steps: _b, ...b }) => { void _b; return b; });
      return rest;
    }
    const { steps: _s, layout: _l, ...rest } = def;
    void _s; void _l;
    return rest;
  }, [step, def, kind]);
  const extraErrors = useMemo(() => errorSchemaOf(problems), [problems]);
  const own = problems.filter((p) => !p.field || !step);
  return (
    <aside className="properties" aria-label="Properties">
      <header>
        <h2>{step ? step.id : "Workflow"}</h2>
        <div className="muted">{step ? `${kind} step` : "name, triggers, variables, outputs, timeouts, retries, error handling"}</div>
      </header>
      <ProblemList problems={step ? own : problems} />
      {run && step && (
        <section className="run-result" aria-label="Last run">
          <h3>Last run: <span className={`status status-${run.status}`}>{run.status}</span>{run.attempts ? ` · ${run.attempts} attempt${run.attempts > 1 ? "s" : ""}` : ""}</h3>
          <Json label="input" value={run.input ?? undefined} />
          <Json label="with" value={run.params ?? undefined} />
          <Json label="output" value={run.output} />
          <Json label="error" value={run.error ?? undefined} />
        </section>
      )}
      {step && (kind === "action" || kind === "subprocess" || kind === "wait") && (
        <section aria-label="Pinned test answer">
          <h3>Test-run answer</h3>
          <MockEditor key={step.id} stepId={step.id} mocks={mocks} setMocks={setMocks} />
        </section>
      )}
      <Form key={step?.id ?? "$workflow"} className="schema-form" schema={schema as RJSFSchema} uiSchema={uiSchema}
            formData={formData} validator={validator} fields={fields} widgets={widgets}
            extraErrors={extraErrors} showErrorList={false} noHtml5Validate disabled={readOnly}
            onChange={(e, field) => {
              // No field behind a change: the form filled in the schema's defaults as it
              // opened, which is not an edit (it would make an undo step on every open).
              if (field === undefined) return;
              const data = e.formData as Record<string, unknown>;
              if (step) onStep(step.id, { ...(data as StepDef), type: kind });
              else onWorkflow(data as Partial<WorkflowDef>);
            }} />
    </aside>
  );
}
