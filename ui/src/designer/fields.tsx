// The two editors the generated forms use beyond rjsf's own: a mapping editor (rows of key
// and value, values may hold `${ expression }`) and a CEL expression input, both checked
// against the API as the user types.
import type { FieldProps, WidgetProps } from "@rjsf/utils";
import { useEffect, useState } from "react";

import { useDebounced } from "../api/hooks";
import { checkExpression } from "./api";

/** The API's verdict on an expression (or a text with `${ … }` parts), as you type. */
export function useExpressionCheck(source: string, kind: "expression" | "mapping"): string | null {
  const settled = useDebounced(source, 250);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (!settled || (kind === "mapping" && !settled.includes("${"))) {
      setProblem(null);
      return;
    }
    const controller = new AbortController();
    checkExpression(settled, kind, controller.signal).then(
      (r) => setProblem(r.valid ? null : r.problems[0]?.message ?? "invalid"),
      () => undefined,
    );
    return () => controller.abort();
  }, [settled, kind]);
  return problem;
}

/** A CEL field: monospace input with its syntax checked as you type. */
export function ExpressionWidget(props: WidgetProps) {
  const { id, value, onChange, rawErrors, placeholder, disabled, readonly } = props;
  const text = typeof value === "string" ? value : "";
  const problem = useExpressionCheck(text, "expression");
  return (
    <div className="expr">
      <input id={id} className="mono" value={text} placeholder={placeholder || "CEL, e.g. input.amount > 100"}
             disabled={disabled || readonly} aria-invalid={!!problem || !!rawErrors?.length} spellCheck={false}
             onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)} />
      {problem && <div className="field-error" role="alert" data-testid="expression-problem">{problem}</div>}
    </div>
  );
}

function asText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A value typed as text: JSON literals (numbers, true, lists…) stay typed, the rest is text. */
export function fromText(text: string): unknown {
  const t = text.trim();
  if (/^(-?\d+(\.\d+)?([eE][-+]?\d+)?|true|false|null)$/.test(t) || /^[[{]/.test(t)) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

function MappingValue({ value, onChange, label }: { value: unknown; onChange: (v: unknown) => void; label: string }) {
  const [text, setText] = useState(asText(value));
  useEffect(() => setText(asText(value)), [value]);
  const problem = useExpressionCheck(text, "mapping");
  return (
    <div className="expr">
      <input className="mono" value={text} aria-label={label} aria-invalid={!!problem} spellCheck={false}
             placeholder="text, a number, or ${ expression }"
             onChange={(e) => { setText(e.target.value); onChange(fromText(e.target.value)); }} />
      {problem && <div className="field-error" role="alert" data-testid="expression-problem">{problem}</div>}
    </div>
  );
}

/** A mapping (`with`, `input`, `output`, `variables`…): named values, or one value. */
export function MappingField(props: FieldProps) {
  const { formData, onChange, schema, name, fieldPathId, rawErrors } = props;
  const path = fieldPathId.path;
  const isObject = formData !== null && typeof formData === "object" && !Array.isArray(formData);
  const [mode, setMode] = useState<"fields" | "value">(formData === undefined || formData === null || isObject ? "fields" : "value");
  const rows: [string, unknown][] = isObject ? Object.entries(formData as Record<string, unknown>) : [];
  const set = (next: unknown) => onChange(next as never, path);
  const setRows = (next: [string, unknown][]) => set(next.length ? Object.fromEntries(next) : undefined);
  const title = (schema.title as string) ?? name;
  return (
    <fieldset className="mapping">
      <legend>
        {title}
        <select aria-label={`${title}: fields or one value`} value={mode} className="mapping-mode"
                onChange={(e) => { setMode(e.target.value as "fields" | "value"); set(undefined); }}>
          <option value="fields">named values</option>
          <option value="value">one value</option>
        </select>
      </legend>
      {schema.description && <p className="field-help">{String(schema.description)}</p>}
      {mode === "value" ? (
        <MappingValue value={formData ?? ""} label={title} onChange={(v) => set(v === "" ? undefined : v)} />
      ) : (
        <>
          {rows.map(([key, value], i) => (
            <div className="mapping-row" key={i}>
              <input className="mapping-key" value={key} aria-label={`${title} name ${i + 1}`} placeholder="name"
                     onChange={(e) => setRows(rows.map((r, j) => (j === i ? [e.target.value, r[1]] : r)))} />
              <MappingValue value={value} label={`${title} ${key || i + 1}`}
                            onChange={(v) => setRows(rows.map((r, j) => (j === i ? [r[0], v] : r)))} />
              <button type="button" className="btn btn-ghost btn-sm" aria-label={`Remove ${key}`}
                      onClick={() => setRows(rows.filter((_, j) => j !== i))}>✕</button>
            </div>
          ))}
          <button type="button" className="btn btn-sm" onClick={() => setRows([...rows, [rows.length ? `key${rows.length + 1}` : "key", ""]])}>
            + Add {title.toLowerCase()} value
          </button>
        </>
      )}
      {rawErrors?.map((e, i) => <div key={i} className="field-error">{e}</div>)}
    </fieldset>
  );
}
