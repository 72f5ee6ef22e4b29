import { describe, expect, it } from "vitest";

import { SseParser } from "./sse";

const STREAM = ': subscribed\n\nid: 3\nevent: step_completed\ndata: {"a":\ndata: 1}\n\n'
  + "event: end\r\ndata: {}\r\n\r\n: heartbeat\n\n";

function parseAll(chunks: string[]) {
  const parser = new SseParser();
  return { events: chunks.flatMap((c) => parser.push(c)), parser };
}

describe("SseParser", () => {
  it("parses the same events however the text is split into chunks (CRLF split included)", () => {
    const whole = parseAll([STREAM]).events;
    expect(whole).toEqual([
      { id: "3", event: "step_completed", data: '{"a":\n1}' },
      { id: "3", event: "end", data: "{}" },
    ]);
    for (let size = 1; size < 9; size += 1) {
      const chunks: string[] = [];
      for (let i = 0; i < STREAM.length; i += size) chunks.push(STREAM.slice(i, i + size));
      expect(parseAll(chunks).events, `chunks of ${size}`).toEqual(whole);
    }
  });

  it("keeps the last event id for a reconnect; comments and empty events yield nothing", () => {
    const { events, parser } = parseAll([": hi\n\n", "\n\n", "id: 7\ndata: x\n\n", "data: y\n\n"]);
    expect(events.map((e) => [e.id, e.event, e.data])).toEqual([["7", "message", "x"], ["7", "message", "y"]]);
    expect(parser.lastEventId).toBe("7");
  });

  it("does not emit an event before its blank line", () => {
    const parser = new SseParser();
    expect(parser.push("data: half")).toEqual([]);
    expect(parser.push("\n")).toEqual([]);
    expect(parser.push("\n")).toEqual([{ id: null, event: "message", data: "half" }]);
  });
});
