import assert from "node:assert/strict";
import {test} from "node:test";
import {SseParser} from "../../projections/ui/js/sse.js";

const STREAM = ": subscribed\n\nid: 3\nevent: step_completed\ndata: {\"a\":\ndata: 1}\n\n"
  + "event: end\r\ndata: {}\r\n\r\n: heartbeat\n\n";

function parseAll(chunks) {
  const parser = new SseParser();
  return {events: chunks.flatMap((c) => parser.push(c)), parser};
}

test("events parse the same however the text is split into chunks", () => {
  const whole = parseAll([STREAM]).events;
  assert.deepEqual(whole, [
    {id: "3", event: "step_completed", data: "{\"a\":\n1}"},
    {id: "3", event: "end", data: "{}"},
  ]);
  for (let size = 1; size < 9; size += 1) {
    const chunks = [];
    for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
    assert.deepEqual(parseAll(chunks).events, whole, `chunks of ${size}`);
  }
});

test("the last event id is kept for a reconnect; comments and empty events yield nothing", () => {
  const {events, parser} = parseAll([": hi\n\n", "\n\n", "id: 7\ndata: x\n\n", "data: y\n\n"]);
  assert.deepEqual(events.map((e) => [e.id, e.event, e.data]), [["7", "message", "x"], ["7", "message", "y"]]);
  assert.equal(parser.lastEventId, "7");
});

test("an event without its blank line is not emitted yet", () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push("data: half"), []);
  assert.deepEqual(parser.push("\n"), []);
  assert.deepEqual(parser.push("\n"), [{id: null, event: "message", data: "half"}]);
});
