// Puts each validation problem on the step (and field) its JSON path names, e.g.
// `$.steps[2].branches[0].steps[1].with.url` → step of that index, field `with.url`.
import type { StepDef, WorkflowDef } from "./steps";

export interface Problem { path: string; code: string; message: string }
export interface PlacedProblem extends Problem {
  level: "error" | "warning";
  /** The innermost step the path goes through; undefined: the workflow itself. */
  step?: string;
  /** The rest of the path inside that step (or the workflow), e.g. `with.url`, `branches[0].when`. */
  field: string;
}

type Token = string | number;

/** `$.a.b[2].c` → ["a", "b", 2, "c"]. */
export function parsePath(path: string): Token[] {
  const tokens: Token[] = [];
  const re = /\.([^.[\]]+)|\[(\d+)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(path.startsWith("$") ? path.slice(1) : path))) {
    tokens.push(m[1] !== undefined ? m[1] : Number(m[2]));
  }
  return tokens;
}

function fieldOf(tokens: Token[]): string {
  return tokens.map((t, i) => (typeof t === "number" ? `[${t}]` : i === 0 ? t : `.${t}`)).join("");
}

/** The innermost step a path points into and the field path inside it. */
export function locate(def: WorkflowDef, path: string): { step?: string; field: string } {
  const tokens = parsePath(path);
  let node: unknown = def;
  let step: StepDef | undefined;
  let rest = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (node === null || typeof node !== "object") break;
    node = (node as Record<string | number, unknown>)[t];
    const isStepList = t === "steps" && Array.isArray(node);
    if (isStepList && typeof tokens[i + 1] === "number") {
      const candidate = (node as StepDef[])[tokens[i + 1] as number];
      if (candidate && typeof candidate === "object") {
        step = candidate;
        node = candidate;
        i += 1;
        rest = i + 1;
      }
    }
  }
  return { step: typeof step?.id === "string" ? step.id : undefined, field: fieldOf(tokens.slice(rest)) };
}

/** Every problem and warning with its step and field. */
export function placeProblems(def: WorkflowDef, problems: Problem[], warnings: Problem[]): PlacedProblem[] {
  const out: PlacedProblem[] = [];
  for (const [level, list] of [["error", problems], ["warning", warnings]] as const) {
    for (const p of list) out.push({ ...p, level, ...locate(def, p.path) });
  }
  return out;
}

/** Problems grouped by step id ("" for the workflow's own). */
export function byStep(placed: PlacedProblem[]): Map<string, PlacedProblem[]> {
  const map = new Map<string, PlacedProblem[]>();
  for (const p of placed) {
    const key = p.step ?? "";
    map.set(key, [...(map.get(key) ?? []), p]);
  }
  return map;
}
