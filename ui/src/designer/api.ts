// The designer's calls, over the typed client (schema.d.ts comes from the API's OpenAPI).
import { api, unwrap } from "../api/client";
import type { Schemas } from "../api/types";
import type { WorkflowDef } from "../graph/steps";

export type { Validation } from "./open";
export type TestRun = Schemas["TestRunOut"];
export type ActionType = Schemas["ActionTypeOut"];
export type Mocks = NonNullable<Schemas["TestRunIn"]["mocks"]>;

export { validate } from "./open";

export const checkExpression = (source: string, kind: "expression" | "mapping", signal?: AbortSignal) =>
  unwrap(api.POST("/expressions/check", { body: { source, kind }, signal }));

export const testRun = (def: WorkflowDef, input: Record<string, unknown>, mocks: Mocks, signals: Record<string, unknown>) =>
  unwrap(api.POST("/workflows/test", { body: { definition: { ...def, kind: "workflow" }, input, mocks, signals, max_steps: 1000 } }));

/** Every action type (built-ins and those seen in use), all pages. */
export async function actionTypes(signal?: AbortSignal): Promise<ActionType[]> {
  const out: ActionType[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const got = await unwrap(api.GET("/actions", { params: { query: { limit: 500, cursor } }, signal }));
    out.push(...got.items);
    if (!got.next_cursor) break;
    cursor = got.next_cursor;
  }
  return out;
}

export const publish = (def: WorkflowDef) =>
  unwrap(api.POST("/definitions", { body: { ...def, kind: "workflow" } }));

export const setStatus = (id: string, version: string, status: "active" | "paused" | "deprecated") =>
  unwrap(api.POST("/definitions/{kind}/{definition_id}/versions/{version}/status", {
    params: { path: { kind: "workflow", definition_id: id, version } }, body: { status, reason: "from the designer" } }));

export const startExecution = (id: string, version: string, input: Record<string, unknown>) =>
  unwrap(api.POST("/workflows/{workflow_id}/executions", {
    params: { path: { workflow_id: id } }, body: { input, version, trigger_type: "manual", priority: "normal" } }));

/** Resolves once the views know the execution (the engine starts it a moment after the API
 * accepted the start); gives up after `ms`. */
export async function waitForExecution(id: string, ms = 15000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const { response } = await api.GET("/executions/{execution_id}", { params: { path: { execution_id: id } } });
    if (response.ok) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
