// Opening a stored workflow in the designer. The route's loader calls this as the navigation
// starts, so the API calls run while the designer's own code is still loading: the workflow's
// record and the version's body in parallel (`latest` when no version is asked for), then the
// first validation as soon as the body is there (a few milliseconds on the server, done before
// the designer's chunk is), so the designer's first render already shows the verdict instead
// of rendering everything twice. This module is part of the entry chunk: it imports only the
// API client.
import { api, unwrap } from "../api/client";
import type { Schemas } from "../api/types";
import type { WorkflowDef } from "../graph/steps";

export type Validation = Schemas["ValidationOut"];

export const validate = (def: WorkflowDef, signal?: AbortSignal) =>
  unwrap(api.POST("/definitions/validate", { body: { ...def, kind: "workflow" }, signal }));

export interface Opened {
  definition: WorkflowDef;
  /** Every version of the workflow with its status. */
  published: Record<string, string>;
  /** The validation of `definition` as it was opened; undefined if it failed (the designer
   * then asks again). */
  validation?: Validation;
  /** How long that validation took, as the designer shows it. */
  validationMs: number;
}

export async function openWorkflow(id: string, version: string | null, signal?: AbortSignal): Promise<Opened> {
  const [record, body] = await Promise.all([
    unwrap(api.GET("/workflows/{workflow_id}", { params: { path: { workflow_id: id } }, signal })),
    unwrap(api.GET("/definitions/{kind}/{definition_id}/versions/{version}", {
      params: { path: { kind: "workflow", definition_id: id, version: version ?? "latest" } }, signal })),
  ]);
  const definition = body.definition as unknown as WorkflowDef;
  const asked = performance.now();
  const validation = await validate(definition, signal).catch(() => undefined);
  const validationMs = Math.round(performance.now() - asked);
  const published = Object.fromEntries(record.versions.map((v) => [v.version, v.status]));
  return { definition, published, validation, validationMs };
}

/** The route's loader: starts opening `/designer/<id>?version=<v>` and hands the promise on
 * (not awaited, so the page renders its own loading state meanwhile). */
export function designerLoader({ params, request }: { params: Record<string, string | undefined>; request: Request }) {
  const id = params["*"] || null;
  const version = new URL(request.url).searchParams.get("version");
  if (!id) return { opening: null };
  const opening = openWorkflow(id, version, request.signal);
  opening.catch(() => undefined); // the page shows the error
  return { opening };
}
