// Positions for a Graph from elkjs (layered, top to bottom, containers laid out with their
// children), as React Flow nodes: a child's position is relative to its container.
import ELK, { type ElkExtendedEdge, type ElkNode } from "elkjs/lib/elk.bundled.js";
import type { Edge, Node } from "@xyflow/react";

import type { Graph, GraphNode } from "./definitionGraph";

const elk = new ELK();

export const SIZES: Record<GraphNode["kind"], { width: number; height: number }> = {
  step: { width: 208, height: 60 },
  start: { width: 72, height: 28 },
  end: { width: 72, height: 28 },
  loop: { width: 240, height: 120 },
  parallel: { width: 240, height: 120 },
  branch: { width: 220, height: 100 },
};

const ROOT_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.layered.spacing.nodeNodeBetweenLayers": "44",
  "elk.spacing.nodeNode": "32",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
};
const CONTAINER_OPTIONS = { "elk.padding": "[top=36,left=16,bottom=16,right=16]" };

export interface Laid {
  nodes: Node[];
  edges: Edge[];
}

/** Lay `graph` out; `data` adds per-node data (status and the like) to each React Flow node. */
export async function layoutGraph(graph: Graph, data: (n: GraphNode) => Record<string, unknown> = () => ({})): Promise<Laid> {
  const byParent = new Map<string | undefined, GraphNode[]>();
  graph.nodes.forEach((n) => byParent.set(n.parent, [...(byParent.get(n.parent) ?? []), n]));
  const container = (n: GraphNode) => byParent.has(n.key);
  const elkNode = (n: GraphNode): ElkNode => {
    const children = byParent.get(n.key);
    return children
      ? { id: n.key, layoutOptions: CONTAINER_OPTIONS, children: children.map(elkNode) }
      : { id: n.key, ...SIZES[n.kind] };
  };
  const root: ElkNode = {
    id: "root",
    layoutOptions: ROOT_OPTIONS,
    children: (byParent.get(undefined) ?? []).map(elkNode),
    edges: graph.edges.map((e): ElkExtendedEdge => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  };
  const laid = await elk.layout(root);
  const positions = new Map<string, ElkNode>();
  const walk = (n: ElkNode) => {
    positions.set(n.id, n);
    n.children?.forEach(walk);
  };
  walk(laid);
  const nodes: Node[] = graph.nodes.map((n) => {
    const p = positions.get(n.key);
    const size = container(n) ? { width: p?.width ?? 200, height: p?.height ?? 100 } : SIZES[n.kind];
    return {
      id: n.key,
      // "exec-" types: the designer registers its own "step", "loop", ... node types and styles
      type: n.kind === "step" ? "exec-step" : n.kind === "start" || n.kind === "end" ? "exec-terminal" : "exec-container",
      position: { x: p?.x ?? 0, y: p?.y ?? 0 },
      parentId: n.parent,
      extent: n.parent ? "parent" : undefined,
      data: { node: n, ...data(n) },
      style: size,
      width: size.width,
      height: size.height,
      draggable: false,
      selectable: n.kind !== "start" && n.kind !== "end",
    } as Node;
  });
  // React Flow wants a parent before its children.
  const depth = (n: Node): number => (n.parentId ? 1 + depth(nodes.find((m) => m.id === n.parentId)!) : 0);
  nodes.sort((a, b) => depth(a) - depth(b));
  const edges: Edge[] = graph.edges.map((e) => ({
    id: e.id, source: e.source, target: e.target, label: e.label,
    type: "smoothstep", className: `edge-${e.kind}`, data: { kind: e.kind },
  }));
  return { nodes, edges };
}
