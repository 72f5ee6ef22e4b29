import { Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, type Edge } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useEffect, useMemo, useState } from "react";

import { toFlow, type FlowNode, type RunInfo } from "./convert";
import { autoLayout } from "./elkLayout";
import type { WorkflowDef } from "./steps";
import { nodeTypes } from "./StepNodes";

/** A workflow drawn read-only with a run laid over it (`foldEvents` of an execution's
 * events, or a test run): each node's status and attempts, the path taken, the failed node.
 * The execution page and the designer draw the same nodes. */
export function ExecutionGraph({ definition, run, selected, onSelect, height = 480 }: {
  definition: WorkflowDef; run: Map<string, RunInfo>; selected?: string; onSelect?: (stepId: string) => void;
  height?: number;
}) {
  const [drawn, setDrawn] = useState<WorkflowDef | null>(null);
  useEffect(() => {
    let live = true;
    if (definition.layout?.nodes && Object.keys(definition.layout.nodes).length) setDrawn(definition);
    else autoLayout(definition).then((nodes) => live && setDrawn({ ...definition, layout: { ...definition.layout, nodes } }));
    return () => { live = false; };
  }, [definition]);
  const flow = useMemo(() => (drawn ? toFlow(drawn, { run, selected: new Set(selected ? [selected] : []) }) : null),
                       [drawn, run, selected]);
  if (!flow) return <div className="state" role="status">Drawing the workflow…</div>;
  return (
    <div style={{ height }} className="execution-graph" data-testid="execution-graph">
      <ReactFlowProvider>
        <ReactFlow<FlowNode, Edge> nodes={flow.nodes} edges={flow.edges} nodeTypes={nodeTypes} fitView
                   fitViewOptions={{ maxZoom: 1 }} nodesDraggable={false} nodesConnectable={false}
                   elementsSelectable onNodeClick={(_, node) => node.type !== "lane" && onSelect?.(node.id)}
                   proOptions={{ hideAttribution: true }}>
          <Background gap={16} />
          <MiniMap pannable zoomable />
          <Controls showInteractive={false} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}
