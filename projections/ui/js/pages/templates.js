// Templates: the example workflows of examples/workflows (bundled as templates.json), to open
// in the designer or to publish and start as they are.
import {asset, call, seg} from "../api.js";
import {field, h, replace} from "../dom.js";
import {saveDraft} from "./designer.js";

function countSteps(steps) {
  return (steps || []).reduce((n, step) => n + 1 + countSteps(step.steps)
    + (step.type === "parallel" ? (step.branches || []).reduce((m, b) => m + countSteps(b.steps), 0) : 0), 0);
}

function card(template, notify) {
  const definition = template.definition;
  const open = h("button", {type: "button"}, "Open in designer");
  open.addEventListener("click", () => { saveDraft(definition); location.hash = "#/designer"; });
  const input = h("textarea", {rows: 3}, "{}");
  const start = h("form", {"aria-label": `Publish and start ${definition.id}`}, field("Input (JSON)", input),
    h("button", {type: "submit"}, "Publish and start"));
  start.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = JSON.parse(input.value || "{}");
      const published = await call("POST", "/definitions", {body: definition});
      notify(`Published ${published.definition_id} ${published.version}; starting…`);
      // The definitions view learns of the publish a few milliseconds later.
      for (let attempt = 0; ; attempt += 1) {
        try {
          const accepted = await call("POST", `/workflows/${seg(definition.id)}/executions`,
            {body: {input: body, trigger_type: "manual", version: published.version}});
          location.hash = `#/executions/${encodeURIComponent(accepted.execution_id)}`;
          return;
        } catch (error) {
          if (error.status !== 404 || attempt >= 10) throw error;
          await new Promise((resolve) => setTimeout(resolve, 300));
        }
      }
    } catch (error) { notify(error.message, "error"); }
  });
  return h("article", {class: "record"},
    h("h2", {}, definition.name), h("p", {class: "muted"}, `${definition.id} ${definition.version || "1.0.0"} · ${template.file}`),
    h("p", {}, definition.description || ""),
    h("p", {class: "muted"}, `${countSteps(definition.steps)} step(s)`, definition.category ? ` · ${definition.category}` : "",
      (definition.tags || []).length ? ` · ${definition.tags.join(", ")}` : ""),
    open, h("details", {}, h("summary", {}, "Publish and start as is"), start));
}

export async function templatesPage(main, {notify}) {
  const templates = await asset("templates.json");
  replace(main, h("h1", {}, "Templates"),
    h("p", {}, "Example workflows shipped with headwater. Open one in the designer to change it (give it your own id), or publish and start it as it is."),
    h("div", {class: "cards-grid"}, templates.map((t) => card(t, notify))));
}
