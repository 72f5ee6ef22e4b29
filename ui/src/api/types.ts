// Short names for the generated API types (schema.d.ts comes from the API's /openapi.json:
// `ui/scripts/gen-api.sh`; never edit it by hand).
import type { components, paths } from "./schema";

export type { components, paths };
export type Schemas = components["schemas"];
export type ExecutionSummary = Schemas["ExecutionSummary"];
export type ExecutionView = Schemas["ExecutionView"];
export type ExecutionStatus = ExecutionSummary["status"];
export type StepView = Schemas["StepView"];
export type Caller = Schemas["CallerOut"];
export type ErrorItem = Schemas["ErrorItem"];

/** The statuses an execution can really have: the schema still lists `pending`, which the
 * engine never produces, so filters and badges offer these. */
export const EXECUTION_STATUSES = [
  "queued", "running", "waiting", "completed", "failed", "cancelled", "timed_out",
] as const satisfies readonly ExecutionStatus[];

/** Statuses after which nothing more happens to an execution. */
export const TERMINAL: ReadonlySet<ExecutionStatus> = new Set([
  "completed", "failed", "cancelled", "timed_out",
]);
