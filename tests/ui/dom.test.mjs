import assert from "node:assert/strict";
import {beforeEach, test} from "node:test";
import {display, h, replace, safeUrl} from "../../projections/ui/js/dom.js";
import {installFakeDocument} from "./fake-dom.mjs";

beforeEach(installFakeDocument);

const ATTACK = `<img src=x onerror="alert(1)"><script>alert(2)</script>`;

test("data given as a child becomes one text node, exactly as it was", () => {
  const el = h("td", {}, ATTACK, 42, null, ["a", {x: "<b>"}]);
  assert.deepEqual(el.childNodes.map((n) => n.nodeType), [3, 3, 3, 3]);
  assert.equal(el.childNodes[0].textContent, ATTACK);
  assert.equal(el.childNodes[1].textContent, "42");
  assert.equal(el.childNodes[3].textContent, '{"x":"<b>"}');
});

test("data in an attribute stays an attribute value", () => {
  const el = h("a", {href: "#/executions/x", title: ATTACK});
  assert.equal(el.attributes.title, ATTACK);
  assert.equal(el.childNodes.length, 0);
});

test("h refuses innerHTML, handler strings and javascript: URLs", () => {
  assert.throws(() => h("div", {innerHTML: ATTACK}), /not allowed/);
  assert.throws(() => h("div", {onclick: "alert(1)"}), /must be a function/);
  assert.throws(() => h("a", {href: "javascript:alert(1)"}), /unsafe URL/);
  assert.throws(() => h("a", {href: " JavaScript:alert(1)"}), /unsafe URL/);
  const clicked = [];
  const button = h("button", {onclick: () => clicked.push(1)});
  button.listeners.click();
  assert.deepEqual(clicked, [1]);
});

test("safeUrl allows relative, http(s) and mailto only", () => {
  for (const ok of ["/metrics", "#/x", "https://a.b/c", "http://x", "mailto:a@b", "x:y/../z".replace("x:", "")]) {
    assert.ok(safeUrl(ok), ok);
  }
  for (const bad of ["javascript:x", "data:text/html,<b>", "vbscript:x", "file:///etc/passwd"]) {
    assert.ok(!safeUrl(bad), bad);
  }
});

test("replace drops old children; display shows null as a dash", () => {
  const el = h("div", {}, "old");
  replace(el, "new");
  assert.deepEqual(el.childNodes.map((n) => n.textContent), ["new"]);
  assert.equal(display(null), "—");
  assert.equal(display(undefined), "—");
  assert.equal(display(false), "false");
});
