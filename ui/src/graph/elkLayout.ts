// Automatic layout with elkjs (layered, top to bottom), one scope at a time from the
// innermost out, so a container is laid out around what it already holds.
import type { ELK as Elk } from "elkjs/lib/elk-api";

import { HEADER, PAD, sizes } from "./convert";
import { setPositions } from "./edit";
import { scopeEdges, scopes, type NodePosition, type WorkflowDef } from "./steps";

// elkjs is large (1.5 MB): it loads the first time a layout is asked for, so opening a
// workflow that has positions does not wait for it.
let elk: Promise<Elk> | undefined;
const loadElk = () => (elk ??= import("elkjs/lib/elk.bundled.js").then((m) => new m.default()));
const OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.spacing.nodeNode": "40",
  "elk.layered.spacing.nodeNodeBetweenLayers": "56",
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
  "elk.edgeRouting": "ORTHOGONAL",
};

/** Positions for every step (relative to its container), as `layout.nodes` holds them. */
export async function autoLayout(def: WorkflowDef): Promise<Record<string, NodePosition>> {
  // Containers are sized by what they hold: forget sizes a user gave them.
  const stripped = Object.fromEntries(Object.entries(def.layout?.nodes ?? {}).map(([k, v]) => [k, { x: v.x, y: v.y }]));
  let working: WorkflowDef = { ...def, layout: { ...def.layout, nodes: stripped } };
  const positions: Record<string, NodePosition> = {};
  const engine = await loadElk();
  for (const scope of scopes(def).reverse()) {
    if (!scope.steps.length) continue;
    const { steps: size } = sizes(working);
    const graph = await engine.layout({
      id: `scope:${scope.key}`,
      layoutOptions: OPTIONS,
      children: scope.steps.map((s) => ({ id: s.id, width: size.get(s.id)!.w, height: size.get(s.id)!.h })),
      edges: scopeEdges(working, scope).map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target] })),
    });
    const top = scope.kind === "loop" ? HEADER : scope.kind === "branch" ? 24 : 0;
    const placed: Record<string, NodePosition> = {};
    for (const child of graph.children ?? []) {
      placed[child.id] = { x: Math.round((child.x ?? 0) + PAD), y: Math.round((child.y ?? 0) + top + PAD) };
    }
    Object.assign(positions, placed);
    working = setPositions(working, placed);
  }
  return positions;
}
