import { OPS, type Cond, type Group, type Leaf, type Op, type ValueType, valueAt } from "./conditions";

const typeOf = (v: unknown): ValueType =>
  typeof v === "number" ? "number" : typeof v === "boolean" ? "boolean" : v === null ? "null" : "string";

function cast(text: string, type: ValueType): unknown {
  if (type === "number") return text.trim() === "" || Number.isNaN(Number(text)) ? text : Number(text);
  if (type === "boolean") return text === "true";
  if (type === "null") return null;
  return text;
}

/** "All of" / "any of" a list of conditions over the event's fields, nested as deep as needed. */
export function ConditionBuilder({ value, onChange, fields, sample }: {
  value: Group; onChange: (g: Group) => void; fields: string[]; sample?: unknown;
}) {
  return (
    <div className="cond-builder">
      <datalist id="event-fields">{fields.map((f) => <option key={f} value={f} />)}</datalist>
      <GroupEditor group={value} onChange={onChange} sample={sample} depth={0} />
    </div>
  );
}

function GroupEditor({ group, onChange, onRemove, sample, depth }: {
  group: Group; onChange: (g: Group) => void; onRemove?: () => void; sample?: unknown; depth: number;
}) {
  const set = (i: number, c: Cond) => onChange({ ...group, children: group.children.map((x, j) => (j === i ? c : x)) });
  const remove = (i: number) => onChange({ ...group, children: group.children.filter((_, j) => j !== i) });
  const add = (c: Cond) => onChange({ ...group, children: [...group.children, c] });
  return (
    <div className={`cond-group depth-${depth}`}>
      <div className="row cond-group-head">
        <label className="sr-only" htmlFor={`join-${depth}`}>Match</label>
        <select id={`join-${depth}`} aria-label="Match" value={group.join} onChange={(e) => onChange({ ...group, join: e.target.value as "and" | "or" })}>
          <option value="and">All of these hold</option>
          <option value="or">Any of these holds</option>
        </select>
        <span className="spacer" />
        {onRemove && <button type="button" className="btn btn-ghost btn-sm" onClick={onRemove}>Remove group</button>}
      </div>
      {group.children.length === 0 && <p className="muted small cond-empty">No condition: every event of the trigger's type matches.</p>}
      {group.children.map((c, i) =>
        c.kind === "group"
          ? <GroupEditor key={i} group={c} onChange={(g) => set(i, g)} onRemove={() => remove(i)} sample={sample} depth={depth + 1} />
          : <LeafEditor key={i} leaf={c} index={i} onChange={(l) => set(i, l)} onRemove={() => remove(i)} sample={sample} />,
      )}
      <div className="row">
        <button type="button" className="btn btn-sm" onClick={() => add({ kind: "leaf", field: "", op: "eq", value: "" })}>+ Condition</button>
        {depth < 3 && <button type="button" className="btn btn-sm btn-ghost" onClick={() => add({ kind: "group", join: group.join === "and" ? "or" : "and", children: [] })}>+ Group</button>}
      </div>
    </div>
  );
}

function LeafEditor({ leaf, index, onChange, onRemove, sample }: {
  leaf: Leaf; index: number; onChange: (l: Leaf) => void; onRemove: () => void; sample?: unknown;
}) {
  const op = OPS.find((o) => o.op === leaf.op)!;
  const type = leaf.vtype ?? typeOf(leaf.value);
  const actual = leaf.field ? valueAt(sample, leaf.field) : undefined;
  return (
    <div className="cond-leaf" role="group" aria-label={`Condition ${index + 1}`}>
      <input aria-label="Field" list="event-fields" placeholder="data.amount" value={leaf.field}
        onChange={(e) => onChange({ ...leaf, field: e.target.value })} className="mono" />
      <select aria-label="Operator" value={leaf.op} onChange={(e) => onChange({ ...leaf, op: e.target.value as Op })}>
        {OPS.map((o) => <option key={o.op} value={o.op}>{o.label}</option>)}
      </select>
      {op.needsValue ? (
        <>
          <select aria-label="Value type" value={type} onChange={(e) => {
            const vtype = e.target.value as ValueType;
            onChange({ ...leaf, vtype, value: cast(vtype === "boolean" ? "true" : String(leaf.value ?? ""), vtype) });
          }}>
            <option value="string">text</option><option value="number">number</option>
            <option value="boolean">true/false</option><option value="null">null</option>
          </select>
          {type === "boolean" ? (
            <select aria-label="Value" value={String(leaf.value)} onChange={(e) => onChange({ ...leaf, value: e.target.value === "true" })}>
              <option value="true">true</option><option value="false">false</option>
            </select>
          ) : type === "null" ? <span className="muted small">null</span> : (
            <input aria-label="Value" value={String(leaf.value ?? "")} type={type === "number" ? "number" : "text"}
              onChange={(e) => onChange({ ...leaf, value: cast(e.target.value, type) })} />
          )}
        </>
      ) : <span />}
      <button type="button" className="btn btn-ghost btn-sm" aria-label={`Remove condition ${index + 1}`} onClick={onRemove}>✕</button>
      {actual !== undefined && <span className="cond-sample faint small">sample: <code>{JSON.stringify(actual)}</code></span>}
    </div>
  );
}
