import { Background, Controls, MiniMap, ReactFlow, type Edge, type Node } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useEffect, useMemo, useState } from "react";

import { layoutGraph } from "./layout";
import { definitionGraph, type WorkflowDef } from "./model";
import { nodeTypes, type NodeStatus } from "./nodes";
import "./graph.css";

/**
 * A workflow drawn read-only, optionally with an execution over it: each node's status and
 * attempts, the edges it took, the failed node marked. A click on a step selects it.
 */
export function WorkflowGraph({ definition, statuses, selected, onSelect, height = 520 }: {
  definition: WorkflowDef;
  statuses?: Map<string, NodeStatus>;
  selected?: string | null;
  onSelect?: (key: string | null) => void;
  height?: number | string;
}) {
  const graph = useMemo(() => definitionGraph(definition), [definition]);
  const [laid, setLaid] = useState<{ nodes: Node[]; edges: Edge[] } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    layoutGraph(graph).then((l) => live && setLaid(l), (e) => live && setError(String(e)));
    return () => {
      live = false;
    };
  }, [graph]);

  const { nodes, edges } = useMemo(() => {
    if (!laid) return { nodes: [], edges: [] };
    const visited = (key: string) => {
      const s = statuses?.get(key);
      return !!s && s.status !== "scheduled";
    };
    const nodes = laid.nodes.map((n) => ({
      ...n,
      selected: n.id === selected,
      data: { ...n.data, status: statuses?.get(n.id), selected: n.id === selected },
    }));
    const edges = laid.edges.map((e) => {
      const taken = !!statuses && visited(e.source) && (visited(e.target) || e.target.endsWith("$end") && statuses.get(e.source)?.status === "completed")
        || (!!statuses && e.source.endsWith("$start") && visited(e.target));
      return { ...e, animated: taken && statuses?.get(e.target)?.status === "running", className: `${e.className ?? ""}${taken ? " taken" : ""}` };
    });
    return { nodes, edges };
  }, [laid, statuses, selected]);

  if (error) return <div className="banner banner-error">The graph could not be laid out: {error}</div>;
  return (
    <div className="wgraph" style={{ height }} data-testid="workflow-graph">
      {laid && (
        <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} fitView fitViewOptions={{ padding: 0.15, maxZoom: 1.1 }}
          nodesDraggable={false} nodesConnectable={false} elementsSelectable={!!onSelect}
          onNodeClick={(_, n) => n.type !== "terminal" && onSelect?.(n.id)} onPaneClick={() => onSelect?.(null)}
          // Keyboard: Tab reaches the nodes and Enter selects the focused one; React Flow says
          // so as a "select" change (the nodes are controlled here, so nothing else applies it).
          onNodesChange={(changes) => {
            const pick = changes.find((c) => c.type === "select" && c.selected);
            if (pick && "id" in pick && pick.id !== selected && !pick.id.endsWith("$start") && !pick.id.endsWith("$end")) onSelect?.(pick.id);
          }}
          nodesFocusable
          minZoom={0.2} proOptions={{ hideAttribution: true }}>
          <Background gap={20} size={1} />
          <Controls showInteractive={false} />
          <MiniMap pannable zoomable nodeStrokeWidth={2} />
        </ReactFlow>
      )}
    </div>
  );
}
