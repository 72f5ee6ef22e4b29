import {
  Background, Controls, MiniMap, ReactFlow, applyNodeChanges, useReactFlow,
  type Connection, type Edge, type IsValidConnection, type NodeChange, type OnNodeDrag, type OnSelectionChangeParams,
  type ReactFlowInstance, type XYPosition,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useEffect, useMemo, useRef, useState, type DragEvent } from "react";

import { toFlow, type FlowNode, type Overlay } from "../graph/convert";
import { addStep, canConnect, connect, disconnect, newStep, removeSteps, setPositions } from "../graph/edit";
import { canMove, insertOnEdge, moveStep } from "../graph/move";
import { placeSteps, scopeOfNode, type Handle, type NodePosition, type WorkflowDef } from "../graph/steps";
import { nodeTypes } from "../graph/StepNodes";
import { DRAG_TYPE, type PaletteItem } from "./Palette";

interface Holder { id: string; type: "loop" | "lane"; abs: XYPosition }

/** The innermost container (loop body or parallel lane) under `point`, leaving out `moving`
 * and everything inside it (a step cannot go into itself); none means the top level. */
function containerAt(flow: ReactFlowInstance, point: XYPosition, moving?: string): Holder | undefined {
  const inside = (id: string): boolean => {
    for (let n = flow.getInternalNode(id); n; n = n.parentId ? flow.getInternalNode(n.parentId) : undefined) {
      if (n.id === moving) return true;
    }
    return false;
  };
  return flow.getNodes().filter((n) => (n.type === "loop" || n.type === "lane") && !(moving && inside(n.id))).map((n) => {
    const abs = flow.getInternalNode(n.id)!.internals.positionAbsolute;
    return { id: n.id, type: n.type as Holder["type"], abs, w: n.width ?? 0, h: n.height ?? 0 };
  }).filter(({ abs, w, h }) => point.x >= abs.x && point.y >= abs.y && point.x <= abs.x + w && point.y <= abs.y + h)
    .sort((a, b) => a.w * a.h - b.w * b.h)[0];
}

/** The edge whose line passes under `point` (flow coordinates: the edges' own), leaving
 * out the edges of `step`; React Flow draws each edge a wide invisible "interaction" path. */
function edgeAt(point: XYPosition, edges: Edge[], step: string): Edge | undefined {
  return edges.find((e) => {
    if (e.source === step || e.target === step) return false;
    const path = document.querySelector<SVGPathElement>(
      `.react-flow__edge[data-id="${CSS.escape(e.id)}"] path.react-flow__edge-interaction`);
    return !!path && path.isPointInStroke(new DOMPoint(point.x, point.y));
  });
}

/** Where a step's top-left lands inside `holder` (below its header), or on the top level. */
function relative(at: XYPosition, holder?: Holder): NodePosition {
  if (!holder) return { x: Math.round(at.x), y: Math.round(at.y) };
  return { x: Math.round(Math.max(16, at.x - holder.abs.x)), y: Math.round(Math.max(holder.type === "lane" ? 24 : 40, at.y - holder.abs.y)) };
}

/** The workflow on a React Flow canvas: drop, connect, move, select and delete edit it;
 * dragging a step into or out of a loop or a parallel branch moves it there, and dropping it
 * on an edge puts it on that path. */
export function Canvas({ def, overlay, onEdit, onSelect, readOnly }: {
  def: WorkflowDef; overlay: Overlay; readOnly: boolean;
  onEdit: (next: WorkflowDef) => void; onSelect: (ids: string[]) => void;
}) {
  const flow = useReactFlow();
  const previous = useRef<Map<string, FlowNode>>(new Map());
  const previousEdges = useRef<Map<string, Edge>>(new Map());
  const derived = useMemo(() => {
    const out = toFlow(def, overlay, previous.current, previousEdges.current);
    previous.current = new Map(out.nodes.map((n) => [n.id, n]));
    previousEdges.current = new Map(out.edges.map((e) => [e.id, e]));
    return out;
  }, [def, overlay]);
  const [nodes, setNodes] = useState<FlowNode[]>(derived.nodes);
  const [hint, setHint] = useState<string | null>(null);
  const [large] = useState(() => derived.nodes.length > 100);
  // The minimap draws every node (the canvas only those in view): on a large workflow it
  // comes once the canvas is up, so it does not hold the first paint back.
  const [minimap, setMinimap] = useState(!large);
  useEffect(() => {
    if (minimap) return;
    const idle = window.requestIdleCallback ?? ((f: () => void) => window.setTimeout(f, 200));
    const cancel = window.cancelIdleCallback ?? window.clearTimeout;
    const handle = idle(() => setMinimap(true), { timeout: 1000 });
    return () => cancel(handle);
  }, [minimap]);
  const defRef = useRef(def);
  defRef.current = def;
  useEffect(() => setNodes(derived.nodes), [derived.nodes]);

  // Dragging only moves the drawing; the definition changes when the drag ends.
  const onNodesChange = useCallback((changes: NodeChange<FlowNode>[]) => {
    setNodes((current) => applyNodeChanges(changes.filter((c) => c.type !== "remove"), current));
  }, []);

  const say = useCallback((why: string) => {
    setHint(why);
    setTimeout(() => setHint(null), 2500);
  }, []);

  const onNodeDragStop: OnNodeDrag<FlowNode> = useCallback((event, node, dragged) => {
    if (readOnly) return;
    const def = defRef.current;
    if (dragged.length === 1 && node.type !== "lane") {
      const pointer = "changedTouches" in event ? event.changedTouches[0] : event;
      const point = flow.screenToFlowPosition({ x: pointer.clientX, y: pointer.clientY });
      const holder = containerAt(flow, point, node.id);
      const scope = holder ? scopeOfNode(def, holder.id)?.key ?? "" : "";
      // Dropped on an edge: the step goes on that path (a condition's branch, a next…).
      const edge = edgeAt(point, derived.edges, node.id);
      if (edge) {
        const parent = node.parentId ? flow.getInternalNode(node.parentId)?.internals.positionAbsolute : undefined;
        const abs = { x: node.position.x + (parent?.x ?? 0), y: node.position.y + (parent?.y ?? 0) };
        const top = placeSteps(def).get(edge.source)?.scope.kind === "top";
        const next = insertOnEdge(def, node.id, edge.source, (edge.sourceHandle ?? "next") as Handle, edge.target,
                                  relative(abs, top ? undefined : holder));
        if (next !== def) {
          onEdit(next);
          return;
        }
      }
      if (scope !== placeSteps(def).get(node.id)?.scope.key) {
        const why = canMove(def, node.id, scope);
        if (why) {
          say(why);
          setNodes(derived.nodes);  // back where it was
          return;
        }
        const parent = node.parentId ? flow.getInternalNode(node.parentId)?.internals.positionAbsolute : undefined;
        const abs = { x: node.position.x + (parent?.x ?? 0), y: node.position.y + (parent?.y ?? 0) };
        onEdit(moveStep(def, node.id, scope, relative(abs, holder)));
        return;
      }
    }
    onEdit(setPositions(def, Object.fromEntries(dragged.map((n) => [n.id, n.position]))));
  }, [derived.nodes, derived.edges, flow, onEdit, readOnly, say]);

  const isValidConnection: IsValidConnection = useCallback((c) => {
    const why = c.source && c.target ? canConnect(defRef.current, c.source, (c.sourceHandle ?? "next") as Handle, c.target) : "connect two steps";
    setHint(why);
    return why === null;
  }, []);

  const onConnect = useCallback((c: Connection) => {
    setHint(null);
    onEdit(connect(defRef.current, c.source, (c.sourceHandle ?? "next") as Handle, c.target));
  }, [onEdit]);

  const onEdgesDelete = useCallback((edges: Edge[]) => {
    let next = defRef.current;
    for (const e of edges) next = disconnect(next, e.source, (e.sourceHandle ?? "next") as Handle, e.target);
    onEdit(next);
  }, [onEdit]);

  const onNodesDelete = useCallback((deleted: FlowNode[]) => {
    onEdit(removeSteps(defRef.current, deleted.filter((n) => n.type !== "lane").map((n) => n.id)));
  }, [onEdit]);

  const onDrop = useCallback((event: DragEvent) => {
    event.preventDefault();
    const raw = event.dataTransfer.getData(DRAG_TYPE);
    if (!raw || readOnly) return;
    const item = JSON.parse(raw) as PaletteItem;
    const point = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
    // The innermost container (loop body or parallel lane) under the pointer takes the step.
    const holder = containerAt(flow, point);
    const scope = holder ? scopeOfNode(defRef.current, holder.id) : undefined;
    const step = newStep(defRef.current, item.kind, item.action);
    onEdit(addStep(defRef.current, scope?.key ?? "", step, relative({ x: point.x - 100, y: point.y - 24 }, holder)));
    onSelect([step.id]);
  }, [flow, onEdit, onSelect, readOnly]);

  const onSelectionChange = useCallback(({ nodes: picked }: OnSelectionChangeParams) => {
    onSelect(picked.filter((n) => n.type !== "lane").map((n) => n.id));
  }, [onSelect]);

  return (
    <div className="canvas" onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }} onDrop={onDrop}
         data-testid="canvas">
      <ReactFlow<FlowNode, Edge>
        nodes={nodes} edges={derived.edges} nodeTypes={nodeTypes}
        onNodesChange={onNodesChange} onNodeDragStop={onNodeDragStop} onConnect={onConnect} isValidConnection={isValidConnection}
        onConnectEnd={() => setTimeout(() => setHint(null), 2500)}
        onEdgesDelete={onEdgesDelete} onNodesDelete={onNodesDelete} onSelectionChange={onSelectionChange}
        nodesDraggable={!readOnly} nodesConnectable={!readOnly} elementsSelectable
        deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]} multiSelectionKeyCode={["Meta", "Control", "Shift"]}
        selectionKeyCode="Shift" minZoom={0.1} maxZoom={2}
        // A large workflow opens where it was left (or at its top, at 100 %) and draws only the
        // nodes in view; a small one is fitted to the screen.
        {...(large ? { defaultViewport: def.layout?.viewport ?? { x: 40, y: 40, zoom: 1 }, onlyRenderVisibleElements: true }
          : { fitView: true, fitViewOptions: { maxZoom: 1 } })} proOptions={{ hideAttribution: true }}
        elevateNodesOnSelect={false} defaultEdgeOptions={{ type: "smoothstep" }}>
        <Background gap={16} />
        {minimap && <MiniMap pannable zoomable nodeStrokeWidth={2} className="minimap" />}
        <Controls />
      </ReactFlow>
      {hint && <div className="connect-hint" role="status" data-testid="connect-hint">{hint}</div>}
    </div>
  );
}
