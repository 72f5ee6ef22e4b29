// One execution: summary, actions (cancel, retry, signal), variables, steps with every attempt
// and error, and the timeline, kept current by the execution's event stream.
import {call, seg, stream} from "../api.js";
import {badge, display, field, formatMs, formatTime, h, pretty, replace} from "../dom.js";

function summaryList(s) {
  const rows = [["Workflow", `${s.workflow_id} ${s.workflow_version}`], ["Status", badge(s.status)],
    ["Trigger", `${s.trigger_type}${s.triggered_by ? ` by ${s.triggered_by}` : ""}`],
    ["Started", formatTime(s.started_at)], ["Ended", formatTime(s.ended_at)],
    ["Duration", formatMs(s.duration_ms)], ["Failed step", s.failed_step],
    ["Error", s.error ? `${s.error.code}: ${s.error.message}` : null],
    ["Parent", s.parent_execution_id ? h("a", {href: `#/executions/${encodeURIComponent(s.parent_execution_id)}`}, s.parent_execution_id) : null]];
  return h("dl", {class: "summary"}, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")]));
}

function stepsTable(steps) {
  // The view keys steps by path; show them in the order they first ran.
  const first = (step) => step.attempts[0]?.started_at || "\uffff";
  const rows = Object.values(steps || {}).sort((a, b) => (first(a) < first(b) ? -1 : first(a) > first(b) ? 1 : 0));
  if (!rows.length) return h("p", {class: "muted"}, "No steps yet.");
  return h("table", {class: "grid"},
    h("thead", {}, h("tr", {}, ["Step", "Type", "Status", "Attempts", "Errors", "Output"].map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, rows.map((step) => h("tr", {},
      h("th", {scope: "row"}, step.path), h("td", {}, step.step_type), h("td", {}, badge(step.status)),
      h("td", {}, h("ol", {class: "attempts"}, step.attempts.map((a) => h("li", {},
        `#${a.attempt} ${a.outcome} · ${formatTime(a.started_at)}`,
        a.error ? h("span", {class: "error"}, ` ${a.error.code}: ${a.error.message}`) : null)))),
      h("td", {}, step.errors.map((e) => h("div", {class: "error"}, `${e.code}: ${e.message}`))),
      h("td", {}, step.output === null ? "—" : h("code", {}, display(step.output).slice(0, 200)))))));
}

function timeline(events) {
  return h("ol", {class: "timeline"}, events.map((e) => h("li", {},
    h("span", {class: "seq"}, `#${e.seq}`), ` ${e.type}`, e.step_id ? ` · ${e.step_id}` : "",
    ` · ${formatTime(e.time)}`, e.error ? h("span", {class: "error"}, ` ${e.error.code}: ${e.error.message}`) : null)));
}

function actions(summary, id, notify, reload) {
  const act = async (label, send) => {
    if (!window.confirm(`${label} execution ${id}?`)) return;
    try {
      await send();
      notify(`${label}: sent. The view updates once the engine has applied it.`);
      setTimeout(reload, 800);
    } catch (error) { notify(error.message, "error"); }
  };
  const buttons = [];
  if (summary.status === "running") {
    const cancel = h("button", {type: "button", class: "danger"}, "Cancel");
    cancel.addEventListener("click", () => act("Cancel", () => call("POST", `/executions/${seg(id)}/cancel`, {body: {reason: "cancelled from the UI"}})));
    buttons.push(cancel);
  }
  if (summary.status === "failed") {
    const retry = h("button", {type: "button"}, "Retry from the failed step");
    retry.addEventListener("click", () => act("Retry", () => call("POST", `/executions/${seg(id)}/retry`)));
    buttons.push(retry);
  }
  const name = h("input", {type: "text", required: true, placeholder: "decision"});
  const payload = h("textarea", {rows: 3}, "{}");
  const form = h("form", {class: "signal", "aria-label": "Send a signal"}, field("Signal name", name),
    field("Payload (JSON)", payload), h("button", {type: "submit"}, "Send signal"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    let parsed;
    try { parsed = JSON.parse(payload.value || "null"); } catch (error) { notify(`payload: ${error.message}`, "error"); return; }
    act(`Signal "${name.value}" to`, () => call("POST", `/executions/${seg(id)}/signals/${seg(name.value)}`, {body: {payload: parsed}}));
  });
  return h("div", {class: "actions"}, buttons, summary.status !== "running" ? null : h("details", {}, h("summary", {}, "Signal"), form));
}

export async function executionPage(main, {arg: id, notify}) {
  const body = h("div");
  let view;
  const load = async () => {
    view = await call("GET", `/executions/${seg(id)}`);
    const {summary, detail} = view;
    replace(body, summaryList(summary), actions(summary, id, notify, () => load().catch(() => {})),
      h("h2", {}, "Steps"), stepsTable(detail.steps),
      h("div", {class: "columns"},
        h("section", {}, h("h2", {}, "Input"), pretty(detail.input)),
        h("section", {}, h("h2", {}, "Variables"), pretty(detail.variables)),
        h("section", {}, h("h2", {}, "Output"), pretty(detail.output))),
      h("h2", {}, "Timeline"), timeline(view.timeline));
  };
  replace(main, h("p", {}, h("a", {href: "#/executions"}, "← Executions")), h("h1", {}, `Execution ${id}`), body);
  await load();
  if (view.summary.ended_at) return null;
  let pending = null;
  const live = stream(`/executions/${seg(id)}/events`, {
    query: {after: view.summary.last_seq},
    onEvent: (event) => {
      if (!pending) pending = setTimeout(() => { pending = null; load().catch(() => {}); }, 500);
      return event.event === "end" ? "stop" : undefined;
    },
  });
  return () => { live.abort(); clearTimeout(pending); };
}
