// What a run says about each step, from a test run's answer or from an execution's events
// (the designer's live run and the execution detail page both draw it on the graph).
import type { RunInfo } from "./convert";

export interface TestRunStep {
  status: string; attempts: number; input?: unknown; params?: unknown; output?: unknown;
  error?: { code?: string; message?: string } | null; mocked?: boolean;
}

/** A test run's steps (`POST /workflows/test`) as overlay entries. */
export function fromTestRun(steps: Record<string, TestRunStep>): Map<string, RunInfo> {
  return new Map(Object.entries(steps).map(([id, s]) => [id, { ...s }]));
}

export interface StepEvent { type: string; step_id?: string | null; attempt?: number; output?: unknown; error?: unknown; input?: unknown }

const STATUS: Record<string, string> = {
  step_scheduled: "scheduled", step_started: "running", retry_scheduled: "retrying",
  step_completed: "completed", step_failed: "failed", step_skipped: "skipped", step_cancelled: "cancelled",
};

/** Fold execution events into the overlay (the last event of a step wins; loops repeat steps). */
export function foldEvents(overlay: Map<string, RunInfo>, events: StepEvent[]): Map<string, RunInfo> {
  const out = new Map(overlay);
  for (const e of events) {
    const status = STATUS[e.type];
    if (!status || !e.step_id) continue;
    const prev = out.get(e.step_id) ?? { status };
    const next: RunInfo = { ...prev, status };
    if (e.type === "step_started") {
      next.attempts = e.attempt ?? 1;
      next.input = e.input;
      next.error = null;
    }
    if (e.type === "step_completed") next.output = e.output;
    if (e.type === "step_failed" || e.type === "retry_scheduled") next.error = e.error as RunInfo["error"];
    out.set(e.step_id, next);
  }
  return out;
}
