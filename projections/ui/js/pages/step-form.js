// The designer's side panel: a form per step type, its problems next to the fields they
// name, the step's connections, and delete.
import {field, h} from "../dom.js";
import {fieldText, readFields, specFor} from "../form-spec.js";

function targetSelect(value, targets, label, empty) {
  const options = ["$end", ...targets];
  if (value && !options.includes(value)) options.push(value);
  return h("select", {"aria-label": label}, empty === null ? null : h("option", {value: ""}, empty),
    options.map((o) => h("option", {value: o, selected: o === value}, o === "$end" ? "$end (end of scope)" : o)));
}

/** A condition's branches as rows (when + target); readValue() gives [{when, next}]. */
function armsControl(arms, targets) {
  const rows = h("ol", {class: "arms"});
  const addRow = (arm) => {
    const n = rows.children.length + 1;
    const when = h("input", {type: "text", value: arm.when, "aria-label": `Branch ${n} when`, placeholder: "CEL, e.g. input.amount > 100"});
    const next = targetSelect(arm.next, targets, `Branch ${n} goes to`, null);
    rows.append(h("li", {}, when, " → ", next));
  };
  arms.forEach(addRow);
  const add = h("button", {type: "button", class: "small"}, "Add branch");
  add.addEventListener("click", () => addRow({when: "", next: "$end"}));
  const box = h("div", {class: "arms-box"}, rows, add);
  box.readValue = () => [...rows.children].map((li) => ({when: li.querySelector("input").value, next: li.querySelector("select").value}));
  return box;
}

function control(spec, step, targets) {
  const text = fieldText(spec, step);
  if (spec.kind === "arms") return armsControl(text, targets);
  if (spec.kind === "bool") return h("input", {type: "checkbox", checked: Boolean(text), name: spec.key});
  if (spec.kind === "json") return h("textarea", {name: spec.key, rows: Math.min(8, Math.max(2, String(text).split("\n").length)), spellcheck: "false"}, text);
  if (spec.kind === "select") {
    return h("select", {name: spec.key}, h("option", {value: ""}, "(default)"),
      spec.options.map((o) => h("option", {value: o, selected: o === text}, o)));
  }
  if (spec.kind === "target") {
    return targetSelect(text, targets, null, spec.key === "next" ? "(the following step)" : "(none)");
  }
  return h("input", {type: spec.kind === "number" ? "number" : "text", name: spec.key, value: text, step: spec.kind === "number" ? "any" : null,
    required: spec.required || null});
}

/** The first member of a problem's field ("with.url" → "with", "branches[0].next" → "branches"). */
export function fieldKey(label) {
  return String(label || "").split(/[.[]/)[0];
}

function problemList(items, cls) {
  return items.length ? h("ul", {class: cls}, items.map((p) => h("li", {}, p.field ? `${p.field}: ` : "", p.message, h("span", {class: "code"}, ` (${p.code})`)))) : null;
}

function connections(step, edges, targets, actions) {
  const kinds = step.type === "condition" ? ["next", "branch", "default", "error", "depends"] : ["next", "error", "depends"];
  const to = h("select", {}, targets.map((t) => h("option", {value: t}, t)));
  const kind = h("select", {}, kinds.map((k) => h("option", {value: k}, k)));
  const when = h("input", {type: "text", value: "true"});
  const add = h("button", {type: "button", disabled: targets.length === 0}, "Connect");
  add.addEventListener("click", () => actions.connect(to.value, kind.value, when.value));
  const pick = h("button", {type: "button", disabled: targets.length === 0}, "Pick the target on the canvas");
  pick.addEventListener("click", () => actions.pick(kind.value, when.value));
  const list = edges.filter((e) => e.from === step.id || (e.kind === "depends" && e.to === step.id));
  return h("fieldset", {class: "connections"}, h("legend", {}, "Connections"),
    h("ul", {}, list.map((edge) => {
      const remove = h("button", {type: "button", class: "small", "aria-label": `Remove ${edge.kind} ${edge.from} to ${edge.to}`}, "remove");
      remove.addEventListener("click", () => actions.disconnect(edge));
      return h("li", {}, `${edge.kind}: ${edge.from} → ${edge.to}`, edge.label && edge.kind === "branch" ? ` when ${edge.label}` : "",
        edge.kind === "contains" ? null : remove);
    })),
    field("To step", to), field("As", kind, "branch/default: condition steps; depends: hybrid mode"),
    field("When (CEL, for a branch)", when), h("div", {class: "actions"}, add, pick));
}

/**
 * The panel for one step. actions: {apply(fields), remove(), connect(to, kind, when),
 * disconnect(edge), pick(kind, when), move(delta)}; problems: placed errors of this step.
 */
export function stepForm(step, {targets, edges, problems, warnings, actions, notify}) {
  const byKey = new Map();
  for (const p of problems) {
    const key = fieldKey(p.field);
    byKey.set(key, [...(byKey.get(key) || []), p]);
  }
  const specs = specFor(step.type);
  const controls = new Map();
  const rows = specs.map((spec) => {
    const input = control(spec, step, targets);
    controls.set(spec.key, input);
    const own = byKey.get(spec.key) || [];
    byKey.delete(spec.key);
    if (own.length) input.setAttribute("aria-invalid", "true");
    return h("div", {class: own.length ? "has-error" : ""}, field(spec.label, input), problemList(own, "field-errors"));
  });
  const rest = [...byKey.values()].flat();
  const form = h("form", {class: "step-form", "aria-label": `Step ${step.id}`},
    h("h2", {}, `Step ${step.id} (${step.type})`), problemList(rest, "field-errors"), problemList(warnings, "field-warnings"),
    rows, h("button", {type: "submit"}, "Apply changes"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const texts = {};
    for (const [key, input] of controls) {
      texts[key] = input.readValue ? input.readValue() : input.type === "checkbox" ? input.checked : input.value;
    }
    try { actions.apply(readFields(step.type, step, texts)); } catch (error) { notify(error.message, "error"); }
  });
  const remove = h("button", {type: "button", class: "danger"}, "Delete step");
  remove.addEventListener("click", () => { if (window.confirm(`Delete step ${step.id} and every jump to it?`)) actions.remove(); });
  const up = h("button", {type: "button"}, "Move up");
  up.addEventListener("click", () => actions.move(-1));
  const down = h("button", {type: "button"}, "Move down");
  down.addEventListener("click", () => actions.move(1));
  return h("div", {}, form, connections(step, edges, targets, actions), h("div", {class: "actions"}, up, down, remove));
}
