import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import type { ExecutionView } from "../../api/types";
import { AuthContext, type Auth, type Right } from "../../auth/AuthContext";
import { ExecutionActions } from "./ExecutionActions";

function view(status: string, waiting: Record<string, string> = {}): ExecutionView {
  return {
    summary: { execution_id: "x-1", status, started_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z",
      workflow_id: "wf", workflow_version: "1.0.0", trigger_type: "api", event_count: 1, last_seq: 1 },
    detail: { input: {}, variables: {}, steps: {}, in_flight: {}, waiting_on: waiting },
    timeline: [],
  } as unknown as ExecutionView;
}

function shown(status: string, rights: Right[] = ["view", "run"], waiting?: Record<string, string>): string[] {
  const auth: Auth = { caller: undefined, needsToken: false, error: undefined, token: "", can: (r) => rights.includes(r) };
  render(<AuthContext.Provider value={auth}><ExecutionActions view={view(status, waiting)} onDone={() => undefined} /></AuthContext.Provider>);
  const names = screen.queryAllByRole("button").map((b) => b.textContent ?? "");
  document.body.innerHTML = "";
  return names;
}

describe("ExecutionActions", () => {
  it("offers cancel and signal on every unfinished status, queued and waiting included", () => {
    for (const status of ["queued", "running", "waiting"]) {
      expect(shown(status)).toEqual(["Send signal", "Cancel"]);
    }
  });

  it("offers retry only on a failed execution, and nothing once it ended otherwise", () => {
    expect(shown("failed")).toEqual(["Retry from the failed step"]);
    for (const status of ["completed", "cancelled", "timed_out"]) expect(shown(status)).toEqual([]);
  });

  it("names the signal a waiting execution waits for", () => {
    expect(shown("waiting", ["view", "run"], { ask: "signal decision" })[0]).toBe("Send signal: decision");
  });

  it("offers nothing to a role that may not run executions", () => {
    expect(shown("failed", ["view"])).toEqual([]);
    expect(shown("running", ["view"])).toEqual([]);
  });
});
