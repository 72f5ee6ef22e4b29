// The visual designer: a workflow definition drawn as a graph of steps, edited through the
// canvas and a form per step, published with POST /definitions (422 problems go next to the
// step they name). The draft survives navigation in localStorage.
import {call} from "../api.js";
import {field, h, replace} from "../dom.js";
import {addStep, connect, disconnect, findStep, moveStep, removeStep, updateStep} from "../edit.js";
import {STEP_TYPES, toGraph} from "../graph.js";
import {placeErrors} from "../placement.js";
import {drawGraph} from "./canvas.js";
import {stepForm} from "./step-form.js";

const DRAFT_KEY = "headwater.designer.draft";
const STARTER = {kind: "workflow", id: "my-workflow", name: "My workflow", version: "1.0.0",
  steps: [{id: "greet", type: "action", action: "log", with: {message: "Hello, ${ input.name }!"}}]};

/** Keeps a definition as the designer's draft (the Templates page opens one this way). */
export function saveDraft(definition) {
  try { localStorage.setItem(DRAFT_KEY, JSON.stringify(definition)); } catch { /* no storage */ }
}

function loadDraft() {
  try { return JSON.parse(localStorage.getItem(DRAFT_KEY)) || STARTER; } catch { return STARTER; }
}

function workflowForm(definition, problems, apply) {
  const input = (key, label, placeholder = null) => field(label, h("input", {type: "text", name: key, value: definition[key] ?? "", placeholder}));
  const mode = h("select", {name: "execution_mode"}, ["sequential", "parallel", "hybrid"].map((m) =>
    h("option", {value: m, selected: (definition.execution_mode || "sequential") === m}, m)));
  const form = h("form", {class: "workflow-form", "aria-label": "Workflow"},
    input("id", "Workflow id"), input("name", "Name"), input("version", "Version", "1.0.0 (default)"),
    input("description", "Description"), field("Execution mode", mode), h("button", {type: "submit"}, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = {...definition};
    for (const key of ["id", "name", "version", "description", "execution_mode"]) {
      const value = form.elements[key].value.trim();
      if (value) next[key] = value; else delete next[key];
    }
    apply(next);
  });
  return h("div", {}, form, problems.length ? h("ul", {class: "field-errors", "aria-label": "Workflow problems"},
    problems.map((p) => h("li", {}, `${p.path}: ${p.message}`, h("span", {class: "code"}, ` (${p.code})`)))) : null);
}

function jsonDialog(definition, apply, notify) {
  const text = h("textarea", {rows: 16, spellcheck: "false"}, JSON.stringify(definition, null, 2));
  const load = h("button", {type: "button"}, "Load this JSON");
  load.addEventListener("click", () => {
    try { apply(JSON.parse(text.value)); } catch (error) { notify(`JSON: ${error.message}`, "error"); }
  });
  return h("details", {class: "json-io"}, h("summary", {}, "Definition as JSON (import / export)"), field("Definition JSON", text), load);
}

function scopesOf(graph) {
  const scopes = [["$", "top level"]];
  for (const node of graph.nodes) {
    if (node.type === "loop") scopes.push([node.id, `body of ${node.id}`]);
    if (node.type === "parallel") {
      (node.step.branches || []).forEach((b, i) => scopes.push([`${node.id}[${i}]`, `branch ${b.name} of ${node.id}`]));
    }
  }
  return scopes;
}

export async function designerPage(main, {notify}) {
  const state = {definition: loadDraft(), selected: null, picking: null,
    placed: {steps: {}, workflow: []}, warned: {steps: {}, workflow: []}, history: []};
  const change = (next, selected = state.selected) => {
    state.history.push(state.definition);
    state.definition = next;
    state.selected = selected && findStep(next, selected) ? selected : null;
    saveDraft(next);
    render();
  };
  const attempt = (fn) => { try { fn(); } catch (error) { notify(error.message, "error"); } };

  const publish = async () => {
    try {
      const out = await call("POST", "/definitions", {body: state.definition});
      state.placed = {steps: {}, workflow: []};
      state.warned = placeErrors(state.definition, out.warnings);
      notify(`Published ${out.definition_id} ${out.version} (${out.status})${out.warnings.length ? ` with ${out.warnings.length} warning(s)` : ""}.`);
    } catch (error) {
      state.placed = placeErrors(state.definition, error.errors);
      const where = Object.keys(state.placed.steps);
      const hint = error.status === 409 ? " — change the version to publish a new one" : "";
      notify(`${error.message}${where.length ? ` — see step(s) ${where.join(", ")}` : ""}${hint}`, "error");
    }
    render();
  };

  const toolbar = () => {
    const graph = toGraph(state.definition);
    const type = h("select", {name: "type"}, STEP_TYPES.map((t) => h("option", {value: t}, t)));
    const scope = h("select", {name: "scope"}, scopesOf(graph).map(([v, label]) => h("option", {value: v}, label)));
    const add = h("button", {type: "button"}, "Add step");
    add.addEventListener("click", () => attempt(() => {
      const [next, id] = addStep(state.definition, type.value, {scope: scope.value});
      change(next, id);
    }));
    const undo = h("button", {type: "button", disabled: !state.history.length}, "Undo");
    undo.addEventListener("click", () => {
      state.definition = state.history.pop();
      saveDraft(state.definition);
      render();
    });
    const fresh = h("button", {type: "button"}, "New");
    fresh.addEventListener("click", () => { if (window.confirm("Discard this draft?")) change(STARTER, null); });
    const send = h("button", {type: "button", class: "primary"}, "Publish");
    send.addEventListener("click", publish);
    return h("div", {class: "toolbar", role: "toolbar", "aria-label": "Designer"}, field("Step type", type), field("Add to", scope), add, undo, fresh, send);
  };

  const panel = (graph) => {
    if (!state.selected) return h("p", {class: "muted"}, "Select a step on the canvas (click, or Tab and Enter) to edit it.");
    const found = findStep(state.definition, state.selected);
    const node = graph.nodes.find((n) => n.id === state.selected);
    const targets = graph.nodes.filter((n) => n.scope === node.scope && n.id !== node.id).map((n) => n.id);
    const id = state.selected;
    return stepForm({...found.step, type: node.type}, {
      targets, edges: graph.edges, notify,
      problems: state.placed.steps[id] || [], warnings: state.warned.steps[id] || [],
      actions: {
        apply: (fields) => attempt(() => change(updateStep(state.definition, id, fields), fields.id)),
        remove: () => attempt(() => change(removeStep(state.definition, id), null)),
        connect: (to, kind, when) => attempt(() => change(connect(state.definition, id, to, kind, {when}))),
        disconnect: (edge) => attempt(() => change(disconnect(state.definition, edge))),
        move: (delta) => attempt(() => change(moveStep(state.definition, id, delta))),
        pick: (kind, when) => {
          state.picking = {from: id, kind, when};
          notify(`Click the step that ${id} goes to (${kind}); Escape cancels.`);
          render();
        },
      },
    });
  };

  const select = (id) => {
    const picking = state.picking;
    state.picking = null;
    if (picking && picking.from !== id) {
      attempt(() => change(connect(state.definition, picking.from, id, picking.kind, {when: picking.when}), picking.from));
      notify("");
    } else {
      state.selected = id;
      render();
    }
    document.querySelector(`[data-step="${CSS.escape(state.selected || id)}"]`)?.focus();
  };
  const onKey = (event) => {
    if (event.key === "Escape" && state.picking) { state.picking = null; notify(""); render(); }
    const step = event.target?.dataset?.step;
    if (event.key === "Delete" && step && window.confirm(`Delete step ${step} and every jump to it?`)) {
      attempt(() => change(removeStep(state.definition, step), null));
    }
  };
  document.addEventListener("keydown", onKey);

  const render = () => {
    const graph = toGraph(state.definition);
    const canvas = drawGraph(graph, {selected: state.selected, placed: state.placed, onSelect: select});
    if (state.picking) canvas.classList.add("picking");
    replace(main, h("h1", {}, "Designer"), toolbar(),
      workflowForm(state.definition, [...state.placed.workflow, ...state.warned.workflow], (next) => change(next)),
      h("div", {class: "designer"},
        h("div", {class: "canvas-wrap"}, canvas),
        h("aside", {class: "panel", "aria-label": "Selected step"}, panel(graph))),
      jsonDialog(state.definition, (next) => change(next, null), notify));
  };
  render();
  return () => document.removeEventListener("keydown", onKey);
}
