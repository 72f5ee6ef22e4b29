// The node components React Flow renders for a workflow graph (read-only here; the designer
// may register its own editable ones under the same type names).
import { Handle, Position, type NodeProps } from "@xyflow/react";

import { KindIcon } from "./icons";
import { stepKind, type GraphNode } from "./model";

export interface NodeStatus {
  status: string;
  attempts: number;
  /** How many loop iterations or branch runs the status sums up. */
  runs: number;
  error?: { code: string; message: string } | null;
}

export interface StepData {
  node: GraphNode;
  status?: NodeStatus;
  selected?: boolean;
  [key: string]: unknown;
}

function detail(node: GraphNode): string {
  const step = node.step;
  if (!step) return "";
  const kind = stepKind(step);
  if (kind === "action") return step.action ?? "";
  if (kind === "wait") return step.signal ? `signal ${step.signal}` : step.event ? "event" : step.duration ? `timer ${String(step.duration)}` : "wait";
  if (kind === "subprocess") return step.workflow_id ?? "";
  if (kind === "condition") return `${step.branches?.length ?? 0} branch${step.branches?.length === 1 ? "" : "es"}`;
  return kind;
}

/** One step: kind, id, what it does, and (on an execution) its status and attempts. */
export function StepNode({ data }: NodeProps) {
  const { node, status } = data as StepData;
  const kind = node.step ? stepKind(node.step) : "action";
  return (
    <div className={`gnode gnode-${kind} ${status ? `st-${status.status}` : ""}`}
      title={status?.error ? `${status.error.code}: ${status.error.message}` : undefined}
      aria-label={`${kind} step ${node.label}${status ? `, ${status.status}${status.attempts > 1 ? `, ${status.attempts} attempts` : ""}` : ""}`}>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <span className="gnode-icon"><KindIcon kind={kind} /></span>
      <span className="gnode-text">
        <span className="gnode-id">{node.label}</span>
        <span className="gnode-detail">{detail(node)}</span>
      </span>
      {status && (
        <span className="gnode-status">
          <span className={`dot st-${status.status}`} aria-hidden="true" />
          <span className="sr-only">{status.status}</span>
          {status.attempts > 1 && <span className="gnode-attempts" title="attempts">×{status.attempts}</span>}
        </span>
      )}
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
}

/** A loop or parallel step, or one branch of a parallel step, holding its steps. */
export function ContainerNode({ data }: NodeProps) {
  const { node, status } = data as StepData;
  return (
    <div className={`gcontainer gcontainer-${node.kind} ${status ? `st-${status.status}` : ""}`}>
      <Handle type="target" position={Position.Top} isConnectable={false} />
      <div className="gcontainer-label">
        <KindIcon kind={node.kind} size={12} />
        {node.label}
        {status && <span className={`dot st-${status.status}`} aria-hidden="true" />}
        {status && status.runs > 1 && <span className="faint">{status.runs} runs</span>}
      </div>
      <Handle type="source" position={Position.Bottom} isConnectable={false} />
    </div>
  );
}

/** Where a sequence starts or ends. */
export function TerminalNode({ data }: NodeProps) {
  const { node } = data as StepData;
  return (
    <div className={`gterminal gterminal-${node.kind}`}>
      {node.kind === "start" ? <Handle type="source" position={Position.Bottom} isConnectable={false} />
        : <Handle type="target" position={Position.Top} isConnectable={false} />}
      {node.label}
    </div>
  );
}

export const nodeTypes = { step: StepNode, container: ContainerNode, terminal: TerminalNode };
