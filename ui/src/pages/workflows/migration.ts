// The step mapping of a version migration (`POST /executions/migrate`), worked out in the
// browser before anything is sent: which step of the running version becomes which step of
// the target, and what in that mapping will refuse executions. The API's dry run is the
// verdict per execution (it knows which steps are active); these problems are the ones the
// mapping alone shows, so they can be fixed before the dry run.

import { scopes, stepKind, type StepKind, type WorkflowDef } from "../../graph/steps";

/** One step of a version: its id, its kind and where it sits (`""`: the workflow's top level). */
export interface VersionStep { id: string; kind: StepKind; scope: string }

/** Source step id → target step id; `""` leaves the step unmapped. */
export type Mapping = Record<string, string>;

export interface MappingProblem {
  /** The source step it is about. */
  step: string;
  code: "unmapped" | "unknown_target_step" | "step_type_changed" | "mapping_collision";
  message: string;
}

/** Every step of a definition, in every scope (loop bodies and parallel branches included),
 * as the engine's mapping sees them: by id. */
export function versionSteps(def: WorkflowDef): VersionStep[] {
  return scopes(def).flatMap((scope) => scope.steps.map((s) => ({ id: s.id, kind: stepKind(s), scope: scope.key })));
}

/** The mapping a migration starts from: each source step to the target step of the same id,
 * unmapped where the target has none. */
export function defaultMapping(source: VersionStep[], target: VersionStep[]): Mapping {
  const have = new Set(target.map((s) => s.id));
  return Object.fromEntries(source.map((s) => [s.id, have.has(s.id) ? s.id : ""]));
}

/** What the mapping alone will refuse: unmapped steps (an execution active on one cannot
 * move; finished ones need no counterpart), targets that do not exist, a different kind, and
 * two steps mapped onto one. */
export function mappingProblems(source: VersionStep[], target: VersionStep[], mapping: Mapping, targetVersion: string): MappingProblem[] {
  const byId = new Map(target.map((s) => [s.id, s]));
  const problems: MappingProblem[] = [];
  const taken = new Map<string, string>();
  for (const step of source) {
    const to = mapping[step.id] ?? "";
    if (!to) {
      problems.push({ step: step.id, code: "unmapped", message:
        `${step.id} has no step in ${targetVersion}: executions active on it will be refused (finished steps need none)` });
      continue;
    }
    const found = byId.get(to);
    if (!found) {
      problems.push({ step: step.id, code: "unknown_target_step", message: `${to} is not a step of ${targetVersion}` });
      continue;
    }
    if (found.kind !== step.kind) {
      problems.push({ step: step.id, code: "step_type_changed", message:
        `${step.id} is a ${step.kind} step, ${to} in ${targetVersion} a ${found.kind}: executions active on it will be refused` });
    }
    const before = taken.get(to);
    if (before !== undefined) {
      problems.push({ step: step.id, code: "mapping_collision", message: `${before} and ${step.id} both map to ${to}` });
    }
    taken.set(to, step.id);
  }
  return problems;
}

/** The mapping as the API takes it: only the renames (a step not named maps to itself, so an
 * unmapped step is left out and refused where it is active). */
export function requestMapping(mapping: Mapping): Record<string, string> {
  return Object.fromEntries(Object.entries(mapping).filter(([from, to]) => to && to !== from));
}

/** Split ids into requests of at most `size` (the API takes up to 1,000 ids at once). */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
