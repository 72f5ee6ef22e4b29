// The condition builder's model and its round trip to the rule language's JSON
// (docs/rules.md: `{"data.country": "FR"}`, `{"$gt": {"data.amount": 100}}`, `$and`, `$or`).
// A condition the builder cannot show (`$iany`, `$expr`, nesting it lacks) stays raw JSON.

export type Op = "eq" | "neq" | "gt" | "gte" | "lt" | "lte" | "mt" | "imt" | "ex" | "nex";

export const OPS: { op: Op; label: string; needsValue: boolean }[] = [
  { op: "eq", label: "equals", needsValue: true },
  { op: "neq", label: "does not equal", needsValue: true },
  { op: "gt", label: ">", needsValue: true },
  { op: "gte", label: "≥", needsValue: true },
  { op: "lt", label: "<", needsValue: true },
  { op: "lte", label: "≤", needsValue: true },
  { op: "mt", label: "matches regex", needsValue: true },
  { op: "imt", label: "matches regex (any case)", needsValue: true },
  { op: "ex", label: "exists", needsValue: false },
  { op: "nex", label: "is absent", needsValue: false },
];

export type ValueType = "string" | "number" | "boolean" | "null";
/** `vtype`: the type the author picked for the value (an empty number field is still a number). */
export interface Leaf { kind: "leaf"; field: string; op: Op; value: unknown; vtype?: ValueType }
export interface Group { kind: "group"; join: "and" | "or"; children: (Leaf | Group)[] }
export type Cond = Leaf | Group;

const OPS_WITH_KEY = new Set(["neq", "gt", "gte", "lt", "lte", "mt", "imt", "ex", "nex"]);

export function emptyGroup(): Group {
  return { kind: "group", join: "and", children: [] };
}

/** The JSON the engine reads; an empty builder is no condition at all (null). */
export function toJson(c: Cond): unknown {
  if (c.kind === "leaf") {
    if (c.op === "eq") return { [c.field]: c.value };
    if (c.op === "ex" || c.op === "nex") return { [`$${c.op}`]: { [c.field]: 1 } };
    return { [`$${c.op}`]: { [c.field]: c.value } };
  }
  const parts = c.children.filter((x) => x.kind === "group" || x.field.trim()).map(toJson).filter((x) => x !== null);
  if (parts.length === 0) return null;
  return { [`$${c.join}`]: parts };
}

/** The builder's model of `json`, or null when the builder cannot show it. */
export function fromJson(json: unknown): Group | null {
  if (json === null || json === undefined) return emptyGroup();
  const node = parse(json);
  if (!node) return null;
  return node.kind === "group" ? node : { kind: "group", join: "and", children: [node] };
}

function parse(json: unknown): Cond | null {
  if (!json || typeof json !== "object" || Array.isArray(json)) return null;
  const entries = Object.entries(json as Record<string, unknown>);
  if (entries.length !== 1) return null;
  const [key, value] = entries[0];
  if (key === "$and" || key === "$or") {
    if (!Array.isArray(value)) return null;
    const children = value.map(parse);
    if (children.some((c) => c === null)) return null;
    return { kind: "group", join: key === "$and" ? "and" : "or", children: children as Cond[] };
  }
  if (key.startsWith("$")) {
    const op = key.slice(1);
    if (!OPS_WITH_KEY.has(op) || !value || typeof value !== "object" || Array.isArray(value)) return null;
    const inner = Object.entries(value as Record<string, unknown>);
    if (inner.length !== 1 || inner[0][0].startsWith("$")) return null;
    return { kind: "leaf", field: inner[0][0], op: op as Op, value: op === "ex" || op === "nex" ? null : inner[0][1] };
  }
  if (value !== null && typeof value === "object") return null;
  return { kind: "leaf", field: key, op: "eq", value };
}

/** Every field path of a sample event, for the field picker ("data.customer.tier"). */
export function fieldPaths(value: unknown, prefix = "", out: string[] = []): string[] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === "object" && !Array.isArray(v)) fieldPaths(v, path, out);
      else out.push(path);
    }
  }
  return out;
}

/** The value a field has in `event` (for showing a sample next to the field). */
export function valueAt(event: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), event);
}
