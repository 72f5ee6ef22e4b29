// Workflows and rules: every version with its status, status changes, statistics, and a start.
import {call, seg} from "../api.js";
import {badge, field, formatMs, formatPercent, formatTime, h, pretty, replace} from "../dom.js";
import {saveDraft} from "./designer.js";

const NEXT_STATUSES = ["active", "paused", "deprecated"];

function statusButtons(kind, record, version, notify, reload) {
  return NEXT_STATUSES.filter((s) => s !== version.status).map((status) => {
    const button = h("button", {type: "button", class: "small",
      "aria-label": `${status} ${record.definition_id} ${version.version}`}, status === "active" ? "activate" : status === "paused" ? "pause" : "deprecate");
    button.addEventListener("click", async () => {
      if (!window.confirm(`Set ${kind} ${record.definition_id} ${version.version} to ${status}?`)) return;
      try {
        await call("POST", `/definitions/${seg(kind)}/${seg(record.definition_id)}/versions/${seg(version.version)}/status`,
          {body: {status, reason: "changed from the UI"}});
        notify(`${record.definition_id} ${version.version}: ${status} requested.`);
        setTimeout(reload, 800);
      } catch (error) { notify(error.message, "error"); }
    });
    return button;
  });
}

function editButton(record, version, notify) {
  const button = h("button", {type: "button", class: "small",
    "aria-label": `edit ${record.definition_id} ${version.version} in the designer`}, "edit");
  button.addEventListener("click", async () => {
    try {
      const published = await call("GET", `/definitions/${seg(record.kind)}/${seg(record.definition_id)}/versions/${seg(version.version)}`);
      saveDraft(published.definition);
      location.hash = "#/designer";
    } catch (error) { notify(error.message, "error"); }
  });
  return button;
}

function workflowStats(stats) {
  return h("dl", {class: "summary"},
    h("dt", {}, "Executions"), h("dd", {}, stats.total),
    h("dt", {}, "Success rate"), h("dd", {}, formatPercent(stats.success_rate)),
    h("dt", {}, "Duration p50 / p95 / p99"), h("dd", {}, [stats.duration_ms.p50, stats.duration_ms.p95, stats.duration_ms.p99].map(formatMs).join(" / ")),
    h("dt", {}, "By status"), h("dd", {}, Object.entries(stats.by_status).map(([s, n]) => `${s} ${n}`).join(", ") || "—"),
    h("dt", {}, "Step failures"), h("dd", {}, Object.entries(stats.step_failures).map(([s, n]) => `${s} ${n}`).join(", ") || "—"),
    h("dt", {}, "Step retries"), h("dd", {}, Object.entries(stats.step_retries).map(([s, n]) => `${s} ${n}`).join(", ") || "—"));
}

export function ruleStats(stats) {
  return h("dl", {class: "summary"},
    h("dt", {}, "Evaluations"), h("dd", {}, stats.evaluations),
    h("dt", {}, "Matched / skipped / failed"), h("dd", {}, `${stats.matched} / ${stats.skipped} / ${stats.failed}`),
    h("dt", {}, "Match rate"), h("dd", {}, formatPercent(stats.match_rate)),
    h("dt", {}, "Success rate"), h("dd", {}, formatPercent(stats.success_rate)),
    h("dt", {}, "Evaluation µs p50 / p95 / p99"), h("dd", {}, [stats.evaluation_us.p50, stats.evaluation_us.p95, stats.evaluation_us.p99].map((v) => (v === null ? "—" : v.toFixed(0))).join(" / ")),
    h("dt", {}, "Errors"), h("dd", {}, Object.entries(stats.errors).map(([s, n]) => `${s} ${n}`).join(", ") || "—"),
    h("dt", {}, "Last error"), h("dd", {}, stats.last_error ? pretty(stats.last_error) : "—"));
}

function startForm(record, notify) {
  const input = h("textarea", {rows: 3}, "{}");
  const version = h("select", {}, h("option", {value: ""}, "engine's choice (active)"),
    Object.keys(record.versions).map((v) => h("option", {value: v}, v)));
  const form = h("form", {"aria-label": `Start ${record.definition_id}`}, field("Input (JSON)", input), field("Version", version),
    h("button", {type: "submit"}, "Start"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const body = {input: JSON.parse(input.value || "{}"), trigger_type: "manual"};
      if (version.value) body.version = version.value;
      const accepted = await call("POST", `/workflows/${seg(record.definition_id)}/executions`, {body});
      location.hash = `#/executions/${encodeURIComponent(accepted.execution_id)}`;
    } catch (error) { notify(error.message, "error"); }
  });
  return form;
}

function recordRow(kind, record, notify, reload) {
  const stats = h("div");
  const details = h("details", {}, h("summary", {}, "Statistics"), stats);
  details.addEventListener("toggle", async () => {
    if (!details.open) return;
    try {
      replace(stats, kind === "workflow"
        ? workflowStats(await call("GET", `/workflows/${seg(record.definition_id)}/stats`))
        : ruleStats(await call("GET", `/rules/${seg(record.definition_id)}/stats`)));
    } catch (error) { replace(stats, h("p", {class: "error"}, error.message)); }
  });
  const versions = Object.values(record.versions);
  return h("article", {class: "record"},
    h("h3", {}, record.definition_id, " ", record.active ? badge("active") : h("span", {class: "badge"}, "no active version")),
    h("p", {class: "muted"}, `owner ${record.owner ?? "—"} · ${record.visibility} · latest ${record.latest ?? "—"}`),
    h("table", {class: "grid"}, h("thead", {}, h("tr", {}, ["Version", "Name", "Status", "Published", "Change"].map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, versions.map((v) => h("tr", {}, h("td", {}, v.version), h("td", {}, v.name), h("td", {}, badge(v.status)),
        h("td", {}, formatTime(v.published_at)), h("td", {}, statusButtons(kind, record, v, notify, reload),
          kind === "workflow" ? editButton(record, v, notify) : null))))),
    details,
    kind === "workflow" ? h("details", {}, h("summary", {}, "Start an execution"), startForm(record, notify)) : null,
    kind === "workflow" ? h("p", {}, h("a", {href: `#/executions?workflow=${encodeURIComponent(record.definition_id)}`}, "Executions of this workflow")) : null);
}

export async function workflowsPage(main, {notify}) {
  const body = h("div");
  const load = async () => {
    const [workflows, rules] = await Promise.all([call("GET", "/definitions", {query: {kind: "workflow"}}),
      call("GET", "/definitions", {query: {kind: "rule"}})]);
    replace(body,
      h("h2", {}, `Workflows (${workflows.length})`),
      workflows.length ? workflows.map((r) => recordRow("workflow", r, notify, reload)) : h("p", {class: "muted"}, "None published yet: see Templates or the Designer."),
      h("h2", {}, `Rules (${rules.length})`),
      rules.length ? rules.map((r) => recordRow("rule", r, notify, reload)) : h("p", {class: "muted"}, "None published yet."));
  };
  const reload = () => load().catch((error) => notify(error.message, "error"));
  replace(main, h("h1", {}, "Workflows & rules"), body);
  await load();
}
