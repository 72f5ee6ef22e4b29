import { useMemo, useState } from "react";

import type { StepKind } from "../graph/steps";
import type { ActionType } from "./api";

/** What a palette entry drops: a step kind, with an action type for actions. */
export interface PaletteItem { kind: StepKind; action?: string; label: string; hint: string }

export const DRAG_TYPE = "application/x-headwater-step";

const KINDS: PaletteItem[] = [
  { kind: "condition", label: "Condition", hint: "branch on an expression" },
  { kind: "loop", label: "Loop", hint: "repeat steps for each item or while true" },
  { kind: "parallel", label: "Parallel", hint: "run branches at once and join" },
  { kind: "wait", label: "Wait", hint: "pause for a time, a signal or an event" },
  { kind: "subprocess", label: "Subprocess", hint: "run another workflow" },
];

/** The step kinds and action types, searchable, dragged onto the canvas (or added with Enter). */
export function Palette({ actions, onAdd }: { actions: ActionType[]; onAdd: (item: PaletteItem) => void }) {
  const [search, setSearch] = useState("");
  const items = useMemo(() => {
    const all: PaletteItem[] = [
      ...actions.map((a) => ({ kind: "action" as const, action: a.type, label: a.type,
                               hint: a.description || (a.builtin ? "built-in action" : `external task type (${a.seen_in.join(", ")})`) })),
      ...KINDS,
    ];
    const needle = search.trim().toLowerCase();
    return needle ? all.filter((i) => `${i.label} ${i.hint} ${i.kind}`.toLowerCase().includes(needle)) : all;
  }, [actions, search]);
  const groups: [string, PaletteItem[]][] = [
    ["Actions", items.filter((i) => i.kind === "action")],
    ["Flow", items.filter((i) => i.kind !== "action")],
  ];
  return (
    <aside className="palette" aria-label="Step palette">
      <input type="search" placeholder="Search steps and actions" value={search} aria-label="Search steps and actions"
             onChange={(e) => setSearch(e.target.value)} />
      {groups.map(([title, list]) => list.length > 0 && (
        <section key={title}>
          <h3>{title}</h3>
          <ul>
            {list.map((item) => (
              <li key={`${item.kind}:${item.action ?? ""}`}>
                <button className="palette-item" draggable title={item.hint} data-palette={item.action ?? item.kind}
                        onDragStart={(e) => {
                          e.dataTransfer.setData(DRAG_TYPE, JSON.stringify(item));
                          e.dataTransfer.effectAllowed = "move";
                        }}
                        onClick={() => onAdd(item)}>
                  <span className={`palette-dot kind-${item.kind}`} aria-hidden="true" />
                  <span className="palette-label">{item.label}</span>
                  <span className="palette-hint">{item.hint}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {items.length === 0 && <p className="muted">Nothing matches “{search}”.</p>}
    </aside>
  );
}
