// What the designer's step form shows for each step type, and how its text becomes fields.
// Pure: the form is built from these specs (pages/step-form.js) and read back with readFields.

const COMMON_TOP = [
  {key: "id", label: "Id", kind: "text", required: true},
  {key: "name", label: "Name", kind: "text"},
];
const COMMON_BOTTOM = [
  {key: "next", label: "Next step", kind: "target"},
  {key: "timeout", label: "Timeout (seconds)", kind: "number"},
  {key: "input", label: "Input mapping (JSON)", kind: "json"},
  {key: "output", label: "Output mapping (JSON)", kind: "json"},
  {key: "retry", label: "Retry policy (JSON)", kind: "json"},
];

export const FORM_SPECS = {
  action: [{key: "action", label: "Action (http, publish, transform, log, delay or a worker's)", kind: "text", required: true},
    {key: "with", label: "Configuration `with` (JSON)", kind: "json"}],
  condition: [{key: "branches", label: "Branches: the first whose `when` holds is taken", kind: "arms", required: true},
    {key: "default", label: "Default (no branch holds)", kind: "target"}],
  loop: [{key: "for_each", label: "For each (CEL list)", kind: "text"},
    {key: "while", label: "While (CEL, instead of for each)", kind: "text"},
    {key: "max_iterations", label: "Max iterations", kind: "number"},
    {key: "parallelism", label: "Parallelism (for each only)", kind: "number"}],
  parallel: [{key: "branches", label: "Branch names (comma-separated)", kind: "names", required: true},
    {key: "join", label: "Join", kind: "select", options: ["all", "any"]},
    {key: "fail_fast", label: "A failed branch cancels the others", kind: "bool"}],
  subprocess: [{key: "workflow_id", label: "Workflow id", kind: "text", required: true},
    {key: "version", label: "Version range (e.g. ^1.2, *)", kind: "text"},
    {key: "wait", label: "Wait for the child", kind: "bool"}],
  wait: [{key: "duration", label: "Duration (seconds)", kind: "number"},
    {key: "until", label: "Until (ISO time or CEL)", kind: "text"},
    {key: "signal", label: "Signal name", kind: "text"},
    {key: "event", label: "Event (JSON: {type, correlation})", kind: "json"}],
};

/** The fields of a step type's form, in order. */
export function specFor(type) {
  return [...COMMON_TOP, ...(FORM_SPECS[type] || []), ...COMMON_BOTTOM];
}

/** The text a field's control starts with. */
export function fieldText(spec, step) {
  const value = step[spec.key];
  if (value === undefined || value === null) {
    if (spec.kind === "arms") return [];
    return spec.kind === "bool" ? (spec.key === "fail_fast" || spec.key === "wait") : "";
  }
  if (spec.kind === "json") return JSON.stringify(value, null, 2);
  if (spec.kind === "arms") return value.map((arm) => ({when: arm.when ?? "", next: arm.next ?? ""}));
  if (spec.kind === "names") return value.map((branch) => branch.name).join(", ");
  return spec.kind === "bool" ? Boolean(value) : String(value);
}

function parseField(spec, text, step) {
  if (spec.kind === "bool") return text;
  if (text === "" || text === undefined) return undefined;
  if (spec.kind === "number") {
    const n = Number(text);
    if (!Number.isFinite(n)) throw new Error(`${spec.key}: not a number`);
    return n;
  }
  if (spec.kind === "json") {
    try { return JSON.parse(text); } catch (error) { throw new Error(`${spec.key}: ${error.message}`); }
  }
  if (spec.kind === "arms") {
    // Rows left without a condition are dropped, so clearing one removes that branch.
    return text.filter((arm) => arm.when.trim()).map((arm) => ({when: arm.when.trim(), next: arm.next || "$end"}));
  }
  if (spec.kind === "names") {
    const old = step.branches || [];
    return text.split(",").map((s) => s.trim()).filter(Boolean).map((name, i) => ({...(old[i] || {}), name}));
  }
  return text;
}

/**
 * The step's fields from the form's texts ({key: text, boolean, or [{when, next}] for a
 * condition's branches}); keys the form does not
 * show are kept. Throws Error("<key>: why") on text that does not parse.
 */
export function readFields(type, step, texts) {
  const out = {...step, type};
  for (const spec of specFor(type)) {
    if (!(spec.key in texts)) continue;
    const value = parseField(spec, texts[spec.key], step);
    if (value === undefined) delete out[spec.key];
    else out[spec.key] = value;
  }
  return out;
}
