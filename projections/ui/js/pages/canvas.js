// Draws toGraph(definition) as SVG: a node per step (errors marked), an arrow per jump.
import {h} from "../dom.js";

const W = 190;
const H = 56;
const PAD = 16;

function summaryOf(node) {
  const s = node.step;
  switch (node.type) {
    case "action": return `action · ${s.action ?? "?"}`;
    case "condition": return `condition · ${(s.branches || []).length} branch(es)`;
    case "loop": return s.while !== undefined ? "loop · while" : "loop · for each";
    case "parallel": return `parallel · join ${s.join || "all"}`;
    case "subprocess": return `subprocess · ${s.workflow_id ?? "?"}`;
    case "wait": return `wait · ${["duration", "until", "signal", "event"].find((k) => s[k] !== undefined) || "?"}`;
    default: return "unknown type";
  }
}

function clip(text, n) {
  const s = String(text ?? "");
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function edgePath(a, b, edge, lane, clearance) {
  const ax = a.x + PAD;
  const ay = a.y + PAD;
  const bx = b.x + PAD;
  const by = b.y + PAD;
  if (edge.kind === "contains") {
    return {d: `M ${ax + 14} ${ay + H} V ${by + H / 2} H ${bx}`, lx: ax + 18, ly: by + H / 2 - 4};
  }
  if ((edge.kind === "flow" || edge.kind === "next") && ax === bx && by > ay && by - ay <= 90) {
    return {d: `M ${ax + W / 2} ${ay + H} V ${by}`, lx: ax + W / 2 + 4, ly: (ay + H + by) / 2 + 4};
  }
  const x1 = ax + W;
  const x2 = bx + W;
  // Out to a vertical lane right of everything between the two rows, along it, and back in.
  const laneX = Math.max(x1, x2, clearance) + 18 + lane * 14;
  const y1 = ay + H / 2;
  const y2 = by + H / 2;
  const r = Math.min(8, Math.abs(y2 - y1) / 2);
  const down = y2 > y1 ? 1 : -1;
  return {d: `M ${x1} ${y1} H ${laneX - r} Q ${laneX} ${y1} ${laneX} ${y1 + down * r} V ${y2 - down * r} Q ${laneX} ${y2} ${laneX - r} ${y2} H ${x2}`,
    lx: laneX + 4, ly: (y1 + y2) / 2 + 4};
}

/** Lanes for the edges routed beside the nodes: shortest first, each in the first free lane. */
export function assignLanes(edges, byId) {
  const spans = edges.map((edge) => {
    const a = byId.get(edge.from);
    const b = byId.get(edge.to);
    return a && b && edge.kind !== "contains" ? {edge, top: Math.min(a.y, b.y), bottom: Math.max(a.y, b.y), x: a.x} : null;
  }).filter(Boolean).sort((p, q) => (p.bottom - p.top) - (q.bottom - q.top));
  const taken = [];
  const lanes = new Map();
  for (const span of spans) {
    let lane = 0;
    while (taken.some((t) => t.lane === lane && t.x === span.x && t.top <= span.bottom && span.top <= t.bottom)) lane += 1;
    taken.push({...span, lane});
    lanes.set(span.edge, lane);
  }
  return lanes;
}

function defs() {
  const marker = (id) => h("marker", {id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse"},
    h("path", {d: "M 0 0 L 10 5 L 0 10 z", class: `arrow ${id}`}));
  return h("defs", {}, ["arrow-next", "arrow-flow", "arrow-branch", "arrow-default", "arrow-error", "arrow-depends", "arrow-contains"].map(marker));
}

/**
 * The SVG of a graph. onSelect(id) is called when a node is clicked or activated by keyboard.
 * placed: placeErrors() output; selected: the selected step id.
 */
export function drawGraph(graph, {selected, placed, onSelect}) {
  const width = graph.width + 260;
  const height = graph.height + PAD * 2;
  const svg = h("svg", {class: "canvas", width, height, viewBox: `0 0 ${width} ${height}`,
    role: "group", "aria-label": "Workflow graph: each step is a button"}, defs());
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const lanes = assignLanes(graph.edges, byId);
  for (const edge of graph.edges) {
    const a = byId.get(edge.from);
    const b = byId.get(edge.to);
    if (!a || !b) continue;
    const lane = lanes.get(edge) || 0;
    const [top, bottom] = a.y < b.y ? [a.y, b.y] : [b.y, a.y];
    const between = graph.nodes.filter((n) => n.y > top && n.y < bottom).map((n) => n.x + PAD + W);
    const {d, lx, ly} = edgePath(a, b, edge, lane, Math.max(0, ...between));
    svg.append(h("g", {class: `edge edge-${edge.kind}`},
      h("path", {d, "marker-end": `url(#arrow-${edge.kind})`}),
      h("title", {}, `${edge.from} → ${edge.to} (${edge.kind}${edge.label ? `: ${edge.label}` : ""})`),
      edge.label && edge.kind !== "contains" ? h("text", {x: lx, y: ly, class: "edge-label"}, clip(edge.label, 22)) : null,
      edge.kind === "contains" && edge.label ? h("text", {x: lx, y: ly, class: "edge-label"}, clip(edge.label, 18)) : null));
  }
  for (const node of graph.nodes) {
    const problems = placed?.steps?.[node.id] || [];
    const classes = ["node", `node-${node.type || "unknown"}`, node.id === selected ? "selected" : "", problems.length ? "invalid" : ""];
    const g = h("g", {class: classes.join(" "), tabindex: 0, role: "button", "data-step": node.id,
      "aria-label": `step ${node.id}, ${summaryOf(node)}${problems.length ? `, ${problems.length} problem(s)` : ""}`,
      "aria-pressed": node.id === selected ? "true" : "false"},
      h("rect", {x: node.x + PAD, y: node.y + PAD, width: W, height: H, rx: 8}),
      h("text", {x: node.x + PAD + 10, y: node.y + PAD + 22, class: "node-id"}, clip(node.id, 24)),
      h("text", {x: node.x + PAD + 10, y: node.y + PAD + 42, class: "node-type"}, clip(summaryOf(node), 28)),
      node.step.next === "$end" ? h("text", {x: node.x + PAD + W - 8, y: node.y + PAD + H - 6, class: "node-end", "text-anchor": "end"}, "ends ■") : null,
      problems.length ? h("g", {class: "node-badge"},
        h("circle", {cx: node.x + PAD + W - 4, cy: node.y + PAD + 4, r: 10}),
        h("text", {x: node.x + PAD + W - 4, y: node.y + PAD + 8, "text-anchor": "middle"}, problems.length),
        h("title", {}, problems.map((p) => `${p.field || p.path}: ${p.message}`).join("\n"))) : null);
    g.addEventListener("click", () => onSelect(node.id));
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onSelect(node.id); }
    });
    svg.append(g);
  }
  return svg;
}
