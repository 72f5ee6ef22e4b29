// Server-sent events read with fetch rather than EventSource, because EventSource cannot send
// the Authorization header the API needs. The parser follows the WHATWG wire format and is fed
// text chunks as they arrive (a line may be split anywhere, "\r\n" included).
import { getToken } from "../auth/token";

export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/** Parses SSE text incrementally; `push(chunk)` returns the events completed by that chunk. */
export class SseParser {
  lastEventId: string | null = null;
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | null = null;

  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const events: SseEvent[] = [];
    let newline: number;
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

  private reset(): void {
    this.data = [];
    this.event = "";
    this.id = null;
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      if (this.data.length === 0) {
        this.reset();
        return null;
      }
      const done = { id: this.id ?? this.lastEventId, event: this.event || "message", data: this.data.join("\n") };
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

export type StreamState = "connecting" | "live" | "reconnecting" | "ended" | `error ${number}`;

export interface StreamOptions {
  /** Return "stop" to close the stream. */
  onEvent: (event: SseEvent) => void | "stop";
  onState?: (state: StreamState) => void;
  reconnectMs?: number;
}

/** Follow `path` until the returned function is called, the server ends it (a clean end of an
 * execution's stream: "ended"), or it answers an error; reconnects with Last-Event-ID. */
export function stream(path: string, { onEvent, onState, reconnectMs = 2000 }: StreamOptions): () => void {
  const controller = new AbortController();
  const parser = new SseParser();
  const run = async () => {
    onState?.("connecting");
    while (!controller.signal.aborted) {
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream" };
        const token = getToken();
        if (token) headers.Authorization = `Bearer ${token}`;
        if (parser.lastEventId) headers["Last-Event-ID"] = parser.lastEventId;
        const response = await fetch(path, { headers, signal: controller.signal });
        if (!response.ok || !response.body) {
          onState?.(`error ${response.status}`);
          return;
        }
        onState?.("live");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.push(value)) {
            if (event.event === "end") {
              onEvent(event);
              onState?.("ended");
              controller.abort();
              return;
            }
            if (onEvent(event) === "stop") {
              controller.abort();
              return;
            }
          }
        }
      } catch {
        if (controller.signal.aborted) return;
      }
      onState?.("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, reconnectMs));
    }
  };
  void run();
  return () => controller.abort();
}
