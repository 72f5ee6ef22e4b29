// What a run says about each step, drawn on the graph by the designer (a test run, a live
// run) and by the execution page (an execution's step views). Keys are step ids: ids are
// unique in a workflow, so an execution's path ("each/3/validate", "fan/1/fetch") names its
// step by its last part; a parallel branch's lane is keyed by `laneId`.
import type { RunInfo } from "./convert";
import { laneId } from "./steps";

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

/** The step an execution path names: its last part ("each/3/validate" → "validate"). */
export const stepOfPath = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

/** The lanes an execution path runs in, innermost last ("fan/1/fetch" → lane fan/1). */
function lanesOfPath(path: string, parallels: ReadonlySet<string>): string[] {
  const parts = path.split("/");
  const out: string[] = [];
  for (let i = 0; i + 2 < parts.length; i += 2) if (parallels.has(parts[i])) out.push(laneId(parts[i], Number(parts[i + 1])));
  return out;
}

export interface StepViewLike {
  path: string;
  status: string;
  attempts: unknown[];
  errors: { code: string; message: string }[];
}

// Which status a node shows when several runs of it disagree: trouble first, then activity.
const RANK = ["failed", "timed_out", "retrying", "running", "waiting", "scheduled", "completed", "cancelled", "skipped"];
const rank = (s: string) => {
  const i = RANK.indexOf(s);
  return i < 0 ? RANK.length : i;
};

function merge(out: Map<string, RunInfo>, key: string, s: RunInfo): void {
  const have = out.get(key);
  if (!have) {
    out.set(key, s);
    return;
  }
  const worse = rank(s.status) < rank(have.status);
  out.set(key, {
    status: worse ? s.status : have.status,
    attempts: Math.max(have.attempts ?? 0, s.attempts ?? 0),
    runs: (have.runs ?? 1) + (s.runs ?? 1),
    error: (worse ? s.error : have.error) ?? have.error ?? s.error,
  });
}

/** An execution's step views as the overlay: a loop body's step sums up its iterations (the
 * most telling status, the most attempts, how many runs), a step a wait holds is `waiting`,
 * and a parallel branch's lane shows what its steps are doing. */
export function fromExecution(steps: Record<string, StepViewLike>, waitingOn: Record<string, string> = {},
                              parallels: ReadonlySet<string> = new Set()): Map<string, RunInfo> {
  const out = new Map<string, RunInfo>();
  const lanes = new Map<string, RunInfo>();
  for (const step of Object.values(steps)) {
    const status = step.path in waitingOn && step.status === "running" ? "waiting" : step.status;
    const error = step.errors.length ? step.errors[step.errors.length - 1] : null;
    const info: RunInfo = { status, attempts: step.attempts.length, runs: 1, error };
    merge(out, stepOfPath(step.path), info);
    for (const lane of lanesOfPath(step.path, parallels)) merge(lanes, lane, { ...info, runs: 0 });
  }
  for (const [lane, info] of lanes) out.set(lane, { ...info, runs: undefined });
  return out;
}
