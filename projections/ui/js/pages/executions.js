// Executions: filter by workflow, status and start time; page with the API's cursor; bulk
// retry or cancel with a dry-run preview before anything is sent.
import {call, stream} from "../api.js";
import {badge, field, formatMs, formatTime, h, replace} from "../dom.js";

export const STATUSES = ["pending", "running", "waiting", "completed", "failed", "cancelled", "timed_out"];

function select(options, value, attrs = {}) {
  return h("select", attrs, options.map(([v, label]) => h("option", {value: v, selected: v === value}, label)));
}

/** datetime-local text (local time) → ISO 8601 with offset, or "" when empty. */
function toIso(local) {
  return local ? new Date(local).toISOString() : "";
}

function filterForm(workflows, filter, onApply) {
  const workflow = select([["", "any workflow"], ...workflows.map((w) => [w, w])], filter.workflow_id || "", {name: "workflow_id"});
  const status = select([["", "any status"], ...STATUSES.map((s) => [s, s])], filter.status || "", {name: "status"});
  const after = h("input", {type: "datetime-local", name: "started_after"});
  const before = h("input", {type: "datetime-local", name: "started_before"});
  const form = h("form", {class: "filters", "aria-label": "Filter executions"},
    field("Workflow", workflow), field("Status", status), field("Started after", after),
    field("Started before", before), h("button", {type: "submit"}, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onApply({workflow_id: workflow.value, status: status.value,
      started_after: toIso(after.value), started_before: toIso(before.value)});
  });
  return form;
}

function table(items) {
  if (!items.length) return h("p", {class: "muted"}, "No executions match.");
  return h("table", {class: "grid"},
    h("caption", {class: "sr-only"}, "Executions, newest first"),
    h("thead", {}, h("tr", {}, ["Execution", "Workflow", "Version", "Status", "Trigger", "Started", "Duration", "Failed step"]
      .map((c) => h("th", {scope: "col"}, c)))),
    h("tbody", {}, items.map((x) => h("tr", {},
      h("td", {}, h("a", {href: `#/executions/${encodeURIComponent(x.execution_id)}`}, x.execution_id)),
      h("td", {}, x.workflow_id), h("td", {}, x.workflow_version), h("td", {}, badge(x.status)),
      h("td", {}, x.trigger_type), h("td", {}, formatTime(x.started_at)),
      h("td", {}, formatMs(x.duration_ms)), h("td", {}, x.failed_step)))));
}

function bulkPanel(getFilter, notify) {
  const action = select([["retry", "retry failed"], ["cancel", "cancel running"]], "retry", {name: "action"});
  const result = h("div", {"aria-live": "polite"});
  const body = (dryRun) => {
    const {workflow_id, started_after, started_before} = getFilter();
    const out = {action: action.value, dry_run: dryRun};
    if (workflow_id) out.workflow_id = workflow_id;
    if (started_after) out.started_after = started_after;
    if (started_before) out.started_before = started_before;
    return out;
  };
  const preview = async () => {
    const dry = await call("POST", "/executions/bulk", {body: body(true)});
    const n = dry.matched.length;
    const confirm = h("button", {type: "button", class: "danger", disabled: n === 0}, `Send ${dry.action} to ${n} execution(s)`);
    confirm.addEventListener("click", async () => {
      if (!window.confirm(`Really ${dry.action} ${n} execution(s)?`)) return;
      try {
        const sent = await call("POST", "/executions/bulk", {body: body(false)});
        replace(result, h("p", {}, `Sent ${sent.sent} ${sent.action} command(s).`));
      } catch (error) { notify(error.message, "error"); }
    });
    replace(result, h("p", {}, `Dry run: ${n} execution(s) would get ${dry.action}`, dry.truncated ? " (more than the limit)" : "", "."),
      h("ul", {class: "matched"}, dry.matched.slice(0, 50).map((id) => h("li", {}, id))),
      n > 50 ? h("p", {class: "muted"}, `… and ${n - 50} more`) : null, confirm);
  };
  const button = h("button", {type: "button"}, "Preview (dry run)");
  button.addEventListener("click", () => preview().catch((error) => notify(error.message, "error")));
  return h("details", {class: "bulk"}, h("summary", {}, "Bulk retry / cancel (uses the workflow and time filters)"),
    field("Action", action), button, result);
}

export async function executionsPage(main, {notify, params}) {
  let filter = {workflow_id: params.get("workflow") || "", status: params.get("status") || ""};
  const cursors = [null];
  let shown = 0;
  const list = h("div");
  const pager = h("nav", {class: "pager", "aria-label": "Pages"});
  const load = async (page) => {
    const query = {...filter, limit: 25, cursor: cursors[page] || ""};
    const body = await call("GET", "/executions", {query});
    shown = page;
    cursors[page + 1] = body.next_cursor;
    replace(list, table(body.items));
    const prev = h("button", {type: "button", disabled: page === 0}, "Previous");
    const next = h("button", {type: "button", disabled: !body.next_cursor}, "Next");
    prev.addEventListener("click", () => load(page - 1).catch((e) => notify(e.message, "error")));
    next.addEventListener("click", () => load(page + 1).catch((e) => notify(e.message, "error")));
    replace(pager, prev, h("span", {}, ` page ${page + 1} `), next);
  };
  let workflows = [];
  try {
    workflows = (await call("GET", "/definitions", {query: {kind: "workflow"}})).map((d) => d.definition_id);
  } catch (error) { notify(error.message, "error"); }
  const form = filterForm(workflows, filter, (next) => {
    filter = next;
    cursors.length = 1;
    load(0).catch((e) => notify(e.message, "error"));
  });
  // Live: while on, execution events reload the page being shown (at most every 2 s).
  let live = null;
  let pending = null;
  const liveBox = h("input", {type: "checkbox", id: "executions-live"});
  liveBox.addEventListener("change", () => {
    if (!liveBox.checked) { live?.abort(); live = null; return; }
    live = stream("/events", {onEvent: () => {
      if (!pending) pending = setTimeout(() => { pending = null; load(shown).catch(() => {}); }, 2000);
    }});
  });
  replace(main, h("h1", {}, "Executions"), form,
    h("div", {class: "actions"}, liveBox, h("label", {for: "executions-live"}, "Update live")),
    bulkPanel(() => filter, notify), list, pager);
  await load(0);
  return () => { live?.abort(); clearTimeout(pending); };
}
