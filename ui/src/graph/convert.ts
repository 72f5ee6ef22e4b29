// Definition → React Flow nodes and edges. Steps are nodes (id = step id); a loop is a
// container node holding its body; a parallel step holds one lane node per branch. Positions
// come from the definition's `layout` (relative to the container); containers are sized to
// what they hold. Edges are what `next`, branches, `default` and `on_error.goto` say.
import type { Edge, Node } from "@xyflow/react";

import {
  laneId, scopeEdges, scopes, stepKind,
  type Handle, type NodePosition, type StepDef, type StepKind, type WorkflowDef,
} from "./steps";
import type { PlacedProblem } from "./problems";

export const STEP_W = 200;
export const STEP_H = 64;
export const HEADER = 40;
export const PAD = 16;
const LANE_MIN = { w: STEP_W + 2 * PAD, h: STEP_H + 2 * PAD + 24 };
const LOOP_MIN = { w: STEP_W + 2 * PAD + 40, h: HEADER + STEP_H + 2 * PAD };

/** What a run (test run or execution) says about one step, shown on its node. */
export interface RunInfo {
  status: string;
  attempts?: number;
  /** How many runs (loop iterations) the status sums up, on an execution. */
  runs?: number;
  output?: unknown;
  error?: { code?: string; message?: string } | null;
  input?: unknown;
  params?: unknown;
  mocked?: boolean;
}

export interface StepNodeData extends Record<string, unknown> {
  step: StepDef;
  kind: StepKind;
  problems: PlacedProblem[];
  run?: RunInfo;
  pinned?: boolean;
}
export interface LaneNodeData extends Record<string, unknown> {
  parallel: string; branch: number; name: string; empty: boolean; run?: RunInfo;
}

export type FlowNode = Node<StepNodeData, "step" | "loop" | "parallel"> | Node<LaneNodeData, "lane">;

export interface Overlay {
  problems?: Map<string, PlacedProblem[]>;
  run?: Map<string, RunInfo>;
  pinned?: ReadonlySet<string>;
  selected?: ReadonlySet<string>;
}

interface Size { w: number; h: number }

/** The drawn size of every step, containers sized to hold what they contain. */
export function sizes(def: WorkflowDef): { steps: Map<string, Size>; lanes: Map<string, Size> } {
  const out = new Map<string, Size>();
  const lanes = new Map<string, Size>();
  const pos = def.layout?.nodes ?? {};
  const extent = (list: StepDef[], min: Size): Size => {
    let w = min.w;
    let h = min.h;
    for (const s of list) {
      const p = pos[s.id] ?? { x: PAD, y: PAD };
      const size = sizeOf(s);
      w = Math.max(w, Math.max(PAD, p.x) + size.w + PAD);
      h = Math.max(h, Math.max(PAD, p.y) + size.h + PAD);
    }
    return { w, h };
  };
  const sizeOf = (step: StepDef): Size => {
    const known = out.get(step.id);
    if (known) return known;
    const kind = stepKind(step);
    let size: Size = { w: STEP_W, h: STEP_H };
    if (kind === "loop") {
      const inner = extent(step.steps ?? [], { w: LOOP_MIN.w, h: LOOP_MIN.h - HEADER });
      const stored = pos[step.id];
      size = { w: Math.max(inner.w, stored?.width ?? 0), h: Math.max(inner.h + HEADER, stored?.height ?? 0) };
    } else if (kind === "parallel") {
      const own = lanesOf(step);
      own.forEach((l, j) => lanes.set(laneId(step.id, j), l));
      size = { w: own.reduce((a, l) => a + l.w + PAD, PAD), h: HEADER + Math.max(...own.map((l) => l.h), LANE_MIN.h) + PAD };
    }
    out.set(step.id, size);
    return size;
  };
  const lanesOf = (step: StepDef): Size[] =>
    (step.branches ?? []).map((b) => extent(b.steps ?? [], { w: LANE_MIN.w, h: LANE_MIN.h - 24 })).map((s) => ({ w: s.w, h: s.h + 24 }));
  for (const scope of scopes(def)) for (const s of scope.steps) sizeOf(s);
  return { steps: out, lanes };
}

function handlesOf(step: StepDef, kind: StepKind): Handle[] {
  if (kind === "condition") return [...(step.branches ?? []).map((_, j) => `branch-${j}` as Handle), "default", "error"];
  return ["next", "error"];
}

const NONE: PlacedProblem[] = [];

function same(a: FlowNode, b: FlowNode): boolean {
  const x = a.data as Record<string, unknown>;
  const y = b.data as Record<string, unknown>;
  for (const key of Object.keys(y)) if (key !== "handles" && x[key] !== y[key]) return false;
  return a.parentId === b.parentId && a.selected === b.selected && a.width === b.width && a.height === b.height
    && a.position.x === b.position.x && a.position.y === b.position.y;
}

/** The nodes and edges for a definition, with problems and a run laid over them. Nodes equal
 * to one in `previous` are that very object, so React Flow redraws only what changed. */
export function toFlow(def: WorkflowDef, overlay: Overlay = {},
                       previous?: ReadonlyMap<string, FlowNode>,
                       previousEdges?: ReadonlyMap<string, Edge>): { nodes: FlowNode[]; edges: Edge[] } {
  const { steps: size, lanes } = sizes(def);
  const pos = def.layout?.nodes ?? {};
  const nodes: FlowNode[] = [];
  const place = (list: StepDef[], parentId: string | undefined, top: number) => {
    list.forEach((step, i) => {
      const kind = stepKind(step);
      const stored: NodePosition = pos[step.id] ?? { x: PAD + (i % 4) * (STEP_W + 40), y: top + PAD + Math.floor(i / 4) * (STEP_H + 60) };
      const s = size.get(step.id)!;
      const type = kind === "loop" || kind === "parallel" ? kind : "step";
      nodes.push({
        // no `extent`: a step can be dragged out of its container (the designer then moves it)
        id: step.id, type, parentId,
        position: { x: Math.max(parentId ? PAD : -1e7, stored.x), y: Math.max(parentId ? top : -1e7, stored.y) },
        width: s.w, height: s.h, style: { width: s.w, height: s.h },
        selected: overlay.selected?.has(step.id) ?? false,
        data: { step, kind, problems: overlay.problems?.get(step.id) ?? NONE, run: overlay.run?.get(step.id),
                pinned: overlay.pinned?.has(step.id) ?? false, handles: handlesOf(step, kind) },
      } as FlowNode);
      if (kind === "loop") place(step.steps ?? [], step.id, HEADER);
      if (kind === "parallel") {
        let x = PAD;
        (step.branches ?? []).forEach((b, j) => {
          const id = laneId(step.id, j);
          const l = lanes.get(id)!;
          nodes.push({ id, type: "lane", parentId: step.id, extent: "parent", position: { x, y: HEADER },
                       width: l.w, height: l.h, style: { width: l.w, height: l.h }, selectable: false, draggable: false,
                       data: { parallel: step.id, branch: j, name: b.name ?? `branch ${j + 1}`, empty: !(b.steps ?? []).length,
                               run: overlay.run?.get(id) } });
          x += l.w + PAD;
          place(b.steps ?? [], id, 24);
        });
      }
    });
  };
  place(def.steps ?? [], undefined, 0);
  if (previous) {
    for (let i = 0; i < nodes.length; i++) {
      const old = previous.get(nodes[i].id);
      if (old && old.type === nodes[i].type && same(old, nodes[i])) nodes[i] = old;
    }
  }
  const edges: Edge[] = [];
  for (const scope of scopes(def)) {
    for (const e of scopeEdges(def, scope)) {
      const from = overlay.run?.get(e.source);
      const to = overlay.run?.get(e.target);
      const taken = !!from && !!to && to.status !== "skipped" && to.status !== "cancelled";
      const classes = [e.handle === "error" ? "edge-error" : "", e.implicit ? "edge-implicit" : "", taken ? "edge-taken" : ""];
      const edge: Edge = {
        id: `${e.source}->${e.handle}->${e.target}`, source: e.source, sourceHandle: e.handle, target: e.target,
        targetHandle: "in", label: e.label, className: classes.filter(Boolean).join(" ") || undefined,
        type: "smoothstep", animated: taken && to?.status === "running", data: { handle: e.handle },
      };
      const old = previousEdges?.get(edge.id);
      edges.push(old && old.className === edge.className && old.label === edge.label && old.animated === edge.animated
        ? old : edge);
    }
  }
  return { nodes, edges };
}
