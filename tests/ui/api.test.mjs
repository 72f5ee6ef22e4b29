import assert from "node:assert/strict";
import {beforeEach, test} from "node:test";
import {ApiError, call, getToken, seg, setToken, stream} from "../../projections/ui/js/api.js";

let requests;
function respond(status, body) {
  globalThis.fetch = async (url, init) => {
    requests.push({url, init});
    return {ok: status < 400, status, text: async () => (typeof body === "string" ? body : JSON.stringify(body))};
  };
}

beforeEach(() => {
  requests = [];
  const data = new Map();
  globalThis.localStorage = {getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, String(v)), removeItem: (k) => data.delete(k)};
});

test("the saved token goes out as a bearer header; no token, no header", async () => {
  respond(200, {ok: true});
  await call("GET", "/dashboard");
  assert.equal(requests[0].init.headers.Authorization, undefined);
  setToken("t-123");
  assert.equal(getToken(), "t-123");
  await call("POST", `/executions/${seg("a/b?c")}/cancel`, {body: {reason: "x"}});
  const {url, init} = requests[1];
  assert.equal(url, "/executions/a%2Fb%3Fc/cancel");
  assert.equal(init.headers.Authorization, "Bearer t-123");
  assert.equal(init.headers["Content-Type"], "application/json");
  assert.equal(init.body, '{"reason":"x"}');
  setToken("");
  assert.equal(getToken(), "");
});

test("query values are encoded and empty ones left out", async () => {
  respond(200, {items: []});
  await call("GET", "/executions", {query: {workflow_id: "a&b", status: "", cursor: null, limit: 25}});
  assert.equal(requests[0].url, "/executions?workflow_id=a%26b&limit=25");
});

test("an error answer becomes an ApiError with the API's detail and problems", async () => {
  respond(422, {detail: "invalid definition: 1 problem(s)", errors: [{path: "$.name", code: "empty_value", message: "m"}]});
  const error = await call("POST", "/definitions", {body: {}}).catch((e) => e);
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 422);
  assert.equal(error.message, "invalid definition: 1 problem(s)");
  assert.deepEqual(error.errors.map((e) => e.path), ["$.name"]);
  respond(502, "<html>bad gateway</html>");
  const plain = await call("GET", "/dashboard").catch((e) => e);
  assert.equal(plain.status, 502);
  assert.deepEqual(plain.errors, []);
});

test("a stream reads events from the body and stops when told to", async () => {
  setToken("t-9");
  const chunks = ["id: 1\nevent: step_started\ndata: {}\n\n", "event: end\ndata: {\"status\":\"completed\"}\n\n"];
  globalThis.fetch = async (url, init) => {
    requests.push({url, init});
    const body = new ReadableStream({start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    }});
    return {ok: true, status: 200, body};
  };
  const seen = [];
  await new Promise((resolve) => {
    stream("/executions/x/events", {query: {after: 3}, onEvent: (event) => {
      seen.push(event.event);
      if (event.event === "end") { resolve(); return "stop"; }
      return undefined;
    }});
  });
  assert.deepEqual(seen, ["step_started", "end"]);
  assert.equal(requests[0].url, "/executions/x/events?after=3");
  assert.equal(requests[0].init.headers.Authorization, "Bearer t-9");
  assert.equal(requests[0].init.headers.Accept, "text/event-stream");
});
