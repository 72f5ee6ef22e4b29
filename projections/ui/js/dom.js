// Building the page without ever parsing data as HTML: every value goes in as a text node or
// an attribute set through the DOM, so a workflow named "<img onerror=…>" shows as text.

const URL_ATTRS = new Set(["href", "src", "action", "formaction", "xlink:href"]);
const SVG_NS = "http://www.w3.org/2000/svg";
const SVG_TAGS = new Set(["svg", "g", "rect", "path", "line", "text", "circle", "title",
  "polyline", "defs", "marker", "tspan"]);

/** Whether a URL is safe to put in href/src: relative, http(s) or mailto, never javascript:. */
export function safeUrl(url) {
  const text = String(url).trim();
  if (/^[a-z][a-z0-9+.-]*:/i.test(text)) {
    return /^(https?|mailto):/i.test(text);
  }
  return true;
}

/** Text a value shows as: strings as they are, null as an em dash, the rest as JSON. */
export function display(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function setAttr(el, name, value) {
  if (value === null || value === undefined || value === false) return;
  if (name === "innerHTML" || name === "outerHTML") {
    throw new Error(`h(): ${name} is not allowed; pass children instead`);
  }
  if (name.startsWith("on")) {
    if (typeof value !== "function") throw new Error(`h(): ${name} must be a function`);
    el.addEventListener(name.slice(2).toLowerCase(), value);
    return;
  }
  if (URL_ATTRS.has(name) && !safeUrl(value)) {
    throw new Error(`h(): unsafe URL in ${name}`);
  }
  if (name === "value" || name === "checked" || name === "selected" || name === "disabled") {
    el[name] = value;
    if (name !== "value") return;
  }
  el.setAttribute(name, value === true ? "" : String(value));
}

/**
 * Makes an element: h("a", {href: "#/x"}, "text", child, [more]).
 * Children that are not nodes become text nodes; null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const doc = globalThis.document;
  const el = SVG_TAGS.has(tag) ? doc.createElementNS(SVG_NS, tag) : doc.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) setAttr(el, name, value);
  append(el, children);
  return el;
}

/** Appends children (nested arrays flattened) as nodes or text nodes. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.appendChild(isNode(child) ? child : globalThis.document.createTextNode(display(child)));
  }
  return el;
}

function isNode(value) {
  return typeof value === "object" && value !== null && typeof value.nodeType === "number";
}

/** Replaces every child of el. */
export function replace(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return append(el, children);
}

/** A labelled form control: the label names the control for screen readers. */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  return h("div", {class: "field"}, h("label", {for: id}, label), control,
    hint ? h("small", {class: "hint"}, hint) : null);
}

export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function formatPercent(rate) {
  return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)} %`;
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms.toFixed(0)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60000).toFixed(1)} min`;
}

/** A status badge whose class comes from a fixed list, never from the data itself. */
export function badge(status) {
  const known = ["running", "completed", "failed", "cancelled", "timed_out", "active", "paused",
    "deprecated", "draft", "scheduled", "retrying", "skipped"];
  const cls = known.includes(status) ? `badge badge-${status}` : "badge";
  return h("span", {class: cls}, status);
}

export function pretty(value) {
  return h("pre", {class: "json"}, JSON.stringify(value ?? null, null, 2));
}
