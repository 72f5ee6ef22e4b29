// The shell: hash routing between pages, the token field, and notices.
import {getToken, setToken} from "./api.js";
import {h, replace} from "./dom.js";
import {dashboardPage} from "./pages/dashboard.js";
import {designerPage} from "./pages/designer.js";
import {executionPage} from "./pages/execution.js";
import {executionsPage} from "./pages/executions.js";
import {monitoringPage} from "./pages/monitoring.js";
import {templatesPage} from "./pages/templates.js";
import {workflowsPage} from "./pages/workflows.js";

const PAGES = {
  dashboard: dashboardPage, executions: executionsPage, execution: executionPage,
  workflows: workflowsPage, templates: templatesPage, monitoring: monitoringPage,
  designer: designerPage,
};

let cleanup = null;
let current = 0;

/** Shows a message in the live region (errors stay until the next notice). */
export function notify(message, kind = "info") {
  replace(document.getElementById("notice"), message ? h("p", {class: `notice ${kind}`}, message) : null);
}

function parseHash() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  if (name === "executions" && rest.length && rest[0].split("?")[0]) {
    return {page: "execution", arg: decodeURIComponent(rest.join("/").split("?")[0]), params};
  }
  return {page: PAGES[name.split("?")[0]] ? name.split("?")[0] : "dashboard", arg: null, params};
}

async function route() {
  if (cleanup) { cleanup(); cleanup = null; }
  const {page, arg, params} = parseHash();
  const main = document.getElementById("main");
  for (const link of document.querySelectorAll("nav a")) {
    const current = link.dataset.page === page || (page === "execution" && link.dataset.page === "executions");
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  notify("");
  // Each visit renders into its own element: a page still loading when the user moves on
  // writes into a detached element, and its streams are closed as soon as it returns.
  const visit = ++current;
  const view = h("div", {}, h("p", {class: "muted"}, "Loading…"));
  replace(main, view);
  try {
    const done = await PAGES[page](view, {arg, params, notify}) || null;
    if (visit === current) cleanup = done; else done?.();
  } catch (error) {
    if (visit !== current) return;
    const hint = error.status === 401 ? "This API needs a token: enter your API token above and save it."
      : error.status === 403 ? "Your token's role does not allow this page." : null;
    replace(view, h("h1", {}, error.status === 401 ? "Sign in" : "Something went wrong"),
      hint ? h("p", {}, hint) : null, h("p", {class: "error"}, error.message));
  }
}

function setupToken() {
  const input = document.getElementById("token");
  input.value = getToken();
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    notify(input.value.trim() ? "Token saved in this browser." : "Token cleared.");
    route();
  });
}

// Moving focus to the new page tells screen readers that the page changed.
window.addEventListener("hashchange", () => route().then(() => document.getElementById("main").focus({preventScroll: true})));
setupToken();
route();
