// A parser for the server-sent events wire format (WHATWG HTML §9.2), fed with text chunks as
// they arrive. The UI reads streams with fetch rather than EventSource because EventSource
// cannot send the Authorization header the API needs.

/** Parses SSE text incrementally; push(chunk) returns the events completed by that chunk. */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.reset();
    this.lastEventId = null;
  }

  reset() {
    this.data = [];
    this.event = "";
    this.id = null;
  }

  /** Feeds a chunk of text; returns [{id, event, data}] for every event it completed. */
  push(chunk) {
    this.buffer += chunk;
    const events = [];
    let newline;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A "\r" that ends the chunk may be the first half of "\r\n": wait for the next chunk.
      if (newline === this.buffer.length - 1 && this.buffer.endsWith("\r")) break;
      const width = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + width);
      const done = this.line(line);
      if (done) events.push(done);
    }
    return events;
  }

  line(line) {
    if (line === "") {
      if (this.data.length === 0) { this.reset(); return null; }
      const done = {id: this.id ?? this.lastEventId, event: this.event || "message",
        data: this.data.join("\n")};
      if (this.id !== null) this.lastEventId = this.id;
      this.reset();
      return done;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "data") this.data.push(value);
    else if (name === "event") this.event = value;
    else if (name === "id" && !value.includes("\0")) this.id = value;
    return null;
  }
}
