import { Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, type Edge, type NodeChange } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useEffect, useMemo, useRef, useState } from "react";

import { toFlow, type FlowNode, type RunInfo } from "./convert";
import { autoLayout } from "./elkLayout";
import { hasLayout, type WorkflowDef } from "./steps";
import { nodeTypes } from "./StepNodes";
import "./execution-graph.css";

/** A workflow drawn read-only with a run laid over it (`fromExecution` of an execution's step
 * views, `foldEvents` of its events, or a test run): each node's status, attempts and loop
 * runs, the path taken, the failed node. The same nodes as the designer's canvas, at the
 * positions the designer saved (elk lays out only a definition that has none). A click, or
 * Enter on a focused node, selects a step; a click on the pane clears the selection. */
export function ExecutionGraph({ definition, run, selected, onSelect, height = 480 }: {
  definition: WorkflowDef; run: Map<string, RunInfo>; selected?: string | null;
  onSelect?: (stepId: string | null) => void; height?: number | string;
}) {
  const [drawn, setDrawn] = useState<WorkflowDef | null>(() => (hasLayout(definition) ? definition : null));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    if (hasLayout(definition)) setDrawn(definition);
    else autoLayout(definition).then((nodes) => live && setDrawn({ ...definition, layout: { ...definition.layout, nodes } }),
                                     (e) => live && setError(String(e)));
    return () => { live = false; };
  }, [definition]);
  const previous = useRef<{ nodes: Map<string, FlowNode>; edges: Map<string, Edge> }>({ nodes: new Map(), edges: new Map() });
  const flow = useMemo(() => {
    if (!drawn) return null;
    const out = toFlow(drawn, { run, selected: new Set(selected ? [selected] : []) },
                       previous.current.nodes, previous.current.edges);
    previous.current = { nodes: new Map(out.nodes.map((n) => [n.id, n])), edges: new Map(out.edges.map((e) => [e.id, e])) };
    return out;
  }, [drawn, run, selected]);
  const steps = useMemo(() => new Set(flow?.nodes.filter((n) => n.type !== "lane").map((n) => n.id)), [flow]);

  // Keyboard: Tab reaches the nodes and Enter selects the focused one; React Flow says so as
  // a "select" change (the nodes are controlled here, so nothing else applies it).
  const onNodesChange = (changes: NodeChange<FlowNode>[]) => {
    const pick = changes.find((c) => c.type === "select" && c.selected);
    if (pick && "id" in pick && pick.id !== selected && steps.has(pick.id)) onSelect?.(pick.id);
  };

  if (error) return <div className="banner banner-error">The graph could not be laid out: {error}</div>;
  if (!flow) return <div className="state" role="status">Drawing the workflow…</div>;
  return (
    <div style={{ height }} className="execution-graph" data-testid="execution-graph">
      <ReactFlowProvider>
        <ReactFlow<FlowNode, Edge> nodes={flow.nodes} edges={flow.edges} nodeTypes={nodeTypes} fitView
                   fitViewOptions={{ padding: 0.15, maxZoom: 1.1 }} nodesDraggable={false} nodesConnectable={false}
                   elementsSelectable={!!onSelect} nodesFocusable onNodesChange={onNodesChange}
                   onNodeClick={(_, node) => node.type !== "lane" && onSelect?.(node.id)} onPaneClick={() => onSelect?.(null)}
                   minZoom={0.1} proOptions={{ hideAttribution: true }}>
          <Background gap={16} />
          <MiniMap pannable zoomable nodeStrokeWidth={2} />
          <Controls showInteractive={false} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}
