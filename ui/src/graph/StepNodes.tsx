// The canvas' node components, named for what the user sees: a step, a loop or parallel
// container, and a parallel step's branch lane. The designer and the execution page draw these
// same nodes (the execution page read-only, with the execution laid over them).
import { Handle as FlowHandle, Position, type NodeProps } from "@xyflow/react";

import type { LaneNodeData, StepNodeData } from "./convert";
import "./canvas.css";
import type { Handle } from "./steps";

const KIND_LABEL: Record<string, string> = {
  action: "Action", condition: "Condition", loop: "Loop", parallel: "Parallel", subprocess: "Subprocess", wait: "Wait",
};
const KIND_ICON: Record<string, string> = {
  action: "▶", condition: "◆", loop: "↻", parallel: "⇉", subprocess: "⧉", wait: "⏸",
};

/** One line saying what the step does (its action, condition count, wait…). */
export function summary(data: StepNodeData): string {
  const s = data.step;
  switch (data.kind) {
    case "action": return String(s.action ?? "");
    case "condition": return `${(s.branches ?? []).length} branch${(s.branches ?? []).length === 1 ? "" : "es"}`;
    case "loop": return s.for_each ? `for each ${String(s.for_each)}` : `while ${String(s.while ?? "")}`;
    case "parallel": return `join ${String(s.join ?? "all")}`;
    case "subprocess": return String(s.workflow_id || "no workflow yet");
    case "wait": return s.signal ? `signal ${String(s.signal)}` : s.event ? "event" : s.duration ? `for ${String(s.duration)}` : `until ${String(s.until ?? "")}`;
  }
}

function Badges({ data }: { data: StepNodeData }) {
  const errors = data.problems.filter((p) => p.level === "error");
  const warnings = data.problems.filter((p) => p.level === "warning");
  const run = data.run;
  return (
    <span className="node-badges">
      {run && <span className="sr-only">{run.status}</span>}
      {data.pinned && <span className="badge badge-pin" title="Its test-run answer is pinned">pinned</span>}
      {run?.runs && run.runs > 1 ? <span className="badge" title="loop iterations">{run.runs} runs</span> : null}
      {run?.attempts && run.attempts > 1 ? <span className="badge" title="attempts">×{run.attempts}</span> : null}
      {errors.length > 0 && (
        <span className="badge badge-error" data-testid="node-problems" title={errors.map((p) => `${p.field || "step"}: ${p.message}`).join("\n")}>
          {errors.length} problem{errors.length > 1 ? "s" : ""}
        </span>
      )}
      {warnings.length > 0 && (
        <span className="badge badge-warn" title={warnings.map((p) => `${p.field || "step"}: ${p.message}`).join("\n")}>
          {warnings.length} warning{warnings.length > 1 ? "s" : ""}
        </span>
      )}
    </span>
  );
}

function classes(data: StepNodeData, selected: boolean, base: string): string {
  const out = [base, `kind-${data.kind}`];
  if (selected) out.push("is-selected");
  if (data.run) out.push(`run-${data.run.status}`);
  if (data.problems.some((p) => p.level === "error")) out.push("has-errors");
  return out.join(" ");
}

function SourceHandles({ handles, labels }: { handles: Handle[]; labels: Record<string, string> }) {
  const bottom = handles.filter((h) => h !== "error");
  return (
    <>
      {bottom.map((h, i) => (
        <FlowHandle key={h} id={h} type="source" position={Position.Bottom}
                    className={`handle handle-${h.startsWith("branch") ? "branch" : h}`}
                    style={{ left: `${((i + 1) * 100) / (bottom.length + 1)}%` }}
                    title={labels[h] ?? h} data-handle={h}>
          {bottom.length > 1 && <span className="handle-label">{labels[h] ?? h}</span>}
        </FlowHandle>
      ))}
      {handles.includes("error") && (
        <FlowHandle id="error" type="source" position={Position.Right} className="handle handle-error" title="on error: go to" data-handle="error" />
      )}
    </>
  );
}

function labelsOf(data: StepNodeData): Record<string, string> {
  const labels: Record<string, string> = { next: "next", default: "otherwise", error: "on error" };
  (data.step.branches ?? []).forEach((b, j) => { labels[`branch-${j}`] = b.when ? `if ${b.when}` : `branch ${j + 1}`; });
  return labels;
}

/** What a run's error says, as the node's tooltip. */
function runTitle(data: StepNodeData): string | undefined {
  const error = data.run?.error;
  return error ? `${error.code ?? "error"}: ${error.message ?? ""}` : undefined;
}

/** An action, condition, subprocess or wait step. */
export function StepNode({ data, selected }: NodeProps & { data: StepNodeData }) {
  const handles = (data.handles as Handle[]) ?? ["next", "error"];
  return (
    <div className={classes(data, selected, "step-node")} data-step={data.step.id} data-status={data.run?.status ?? ""}
         title={runTitle(data)}>
      <FlowHandle id="in" type="target" position={Position.Top} className="handle handle-in" />
      <div className="node-head">
        <span className="node-icon" aria-hidden="true">{KIND_ICON[data.kind]}</span>
        <span className="node-kind">{KIND_LABEL[data.kind]}</span>
        <Badges data={data} />
      </div>
      <div className="node-title">{data.step.name ? String(data.step.name) : data.step.id}</div>
      <div className="node-sub">{summary(data)}</div>
      <SourceHandles handles={handles} labels={labelsOf(data)} />
    </div>
  );
}

/** A loop or parallel step: a container whose body is drawn inside it. */
export function ContainerNode({ data, selected }: NodeProps & { data: StepNodeData }) {
  return (
    <div className={classes(data, selected, "container-node")} data-step={data.step.id} data-status={data.run?.status ?? ""}
         title={runTitle(data)}>
      <FlowHandle id="in" type="target" position={Position.Top} className="handle handle-in" />
      <div className="container-head">
        <span className="node-icon" aria-hidden="true">{KIND_ICON[data.kind]}</span>
        <strong>{data.step.name ? String(data.step.name) : data.step.id}</strong>
        <span className="node-sub">{summary(data)}</span>
        <Badges data={data} />
      </div>
      {data.kind === "loop" && !(data.step.steps ?? []).length && <div className="container-empty">Drop steps here</div>}
      <SourceHandles handles={["next", "error"]} labels={labelsOf(data)} />
    </div>
  );
}

/** One branch of a parallel step: a lane its steps are dropped into. */
export function LaneNode({ data }: NodeProps & { data: LaneNodeData }) {
  return (
    <div className={`lane-node${data.run ? ` run-${data.run.status}` : ""}`} data-lane={`${data.parallel}/${data.branch}`}
         data-status={data.run?.status ?? ""}>
      <div className="lane-head">{data.name}{data.run && <span className="sr-only"> {data.run.status}</span>}</div>
      {data.empty && <div className="container-empty">Drop steps here</div>}
    </div>
  );
}

export const nodeTypes = { step: StepNode, loop: ContainerNode, parallel: ContainerNode, lane: LaneNode };
