// Forms come from the JSON Schema `headwater schema workflow` exports (generated into
// src/api/generated/), never from a hand-written copy of the model. This module reshapes that
// schema for a form: one step kind at a time, nested step lists left to the canvas, `X | null`
// shown as an optional X, and a uiSchema that picks the mapping and expression editors.
import type { UiSchema } from "@rjsf/utils";

import workflowSchema from "../api/generated/workflow.schema.json";
import type { StepKind } from "../graph/steps";

type S = Record<string, unknown>;
const ROOT = workflowSchema as unknown as S;
// Keywords pydantic writes that a JSON Schema validator does not know (or needs options for).
const DROP = new Set(["gt", "lt", "discriminator"]);

function isNull(s: unknown): boolean {
  return !!s && typeof s === "object" && (s as S).type === "null";
}

/** `anyOf: [X, null]` → X; number-or-duration-text → text; unknown keywords dropped. */
export function simplify(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(simplify);
  if (!schema || typeof schema !== "object") return schema;
  let s: S = {};
  for (const [k, v] of Object.entries(schema as S)) if (!DROP.has(k)) s[k] = simplify(v);
  if (Array.isArray(s.anyOf)) {
    const options = (s.anyOf as S[]).filter((o) => !isNull(o));
    const strings = options.filter((o) => o.type === "string");
    const chosen = options.length === 1 ? options[0]
      : options.length === 2 && strings.length === 1 && options.some((o) => o.type === "number") ? strings[0] : undefined;
    const { anyOf: _drop, ...rest } = s;
    void _drop;
    s = chosen ? { ...rest, ...chosen, title: rest.title ?? chosen.title, description: rest.description ?? chosen.description }
      : { ...rest, anyOf: options };
    if (s.default === null) delete s.default;
  }
  return s;
}

const DEFS = simplify(ROOT.$defs) as Record<string, S>;
// A parallel branch's steps and a loop's body are drawn on the canvas, not typed in a form.
delete (DEFS.ParallelBranch.properties as S).steps;
DEFS.ParallelBranch.required = ((DEFS.ParallelBranch.required as string[]) ?? []).filter((r) => r !== "steps");

const STEP_DEF: Record<StepKind, string> = {
  action: "ActionStep", condition: "ConditionStep", loop: "LoopStep", parallel: "ParallelStep",
  subprocess: "SubprocessStep", wait: "WaitStep",
};
const HIDDEN_STEP = ["type", "steps"];
const HIDDEN_WORKFLOW = ["kind", "steps", "layout"];

function without(schema: S, hidden: string[]): S {
  const properties = { ...(schema.properties as S) };
  for (const h of hidden) delete properties[h];
  return { ...schema, properties, required: ((schema.required as string[]) ?? []).filter((r) => !hidden.includes(r)) };
}

/** The form schema of one step kind (with the shared `$defs`). */
export function stepSchema(kind: StepKind): S {
  return { ...without(DEFS[STEP_DEF[kind]], HIDDEN_STEP), $defs: DEFS };
}

/** The form schema of the workflow's own fields (steps are the canvas). */
export function workflowFormSchema(): S {
  const top = simplify({ ...ROOT, $defs: undefined, $schema: undefined, $id: undefined }) as S;
  delete top.$defs;
  delete top.$schema;
  delete top.$id;
  return { ...without(top, HIDDEN_WORKFLOW), $defs: DEFS };
}

/** A free-form JSON value (a mapping): no type, or an open object. */
function isMapping(s: S): boolean {
  const typed = "type" in s || "$ref" in s || "anyOf" in s || "oneOf" in s || "enum" in s || "const" in s;
  return !typed || (s.type === "object" && !s.properties && s.additionalProperties !== false);
}

function isExpression(s: S): boolean {
  return s.type === "string" && typeof s.description === "string" && /\bCEL\b/.test(s.description);
}

/** The uiSchema: mapping editors for free-form values, checked editors for CEL fields. */
export function uiSchemaFor(schema: S, depth = 0): UiSchema {
  const ui: UiSchema = {};
  const props = (schema.properties ?? {}) as Record<string, S>;
  for (const [name, raw] of Object.entries(props)) {
    let prop = raw;
    if (typeof prop.$ref === "string") prop = DEFS[prop.$ref.split("/").pop()!] ?? prop;
    if (isMapping(prop)) ui[name] = { "ui:field": "mapping" };
    else if (isExpression(prop)) ui[name] = { "ui:widget": "expression" };
    else if (name === "description") ui[name] = { "ui:widget": "textarea", "ui:options": { rows: 2 } };
    else if (depth < 4 && prop.type === "object" && prop.properties) ui[name] = uiSchemaFor(prop, depth + 1);
    else if (depth < 4 && prop.type === "array" && prop.items && typeof prop.items === "object") {
      let items = prop.items as S;
      if (typeof items.$ref === "string") items = DEFS[items.$ref.split("/").pop()!] ?? items;
      if (items.properties) ui[name] = { items: uiSchemaFor(items, depth + 1) };
    }
  }
  ui["ui:submitButtonOptions"] = { norender: true };
  return ui;
}
