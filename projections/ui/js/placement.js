// Puts the problems of a 422 from POST /definitions next to the step they name: a path such as
// $.steps[2].branches[0].steps[1].with.url is walked through the definition that was sent.
import {stepType} from "./graph.js";

/** Splits a JSONPath ($.a[0]["b c"]) into its parts: ["a", 0, "b c"]. */
export function parsePath(path) {
  const parts = [];
  const pattern = /\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let at = String(path).startsWith("$") ? 1 : 0;
  pattern.lastIndex = at;
  let match;
  while (at < path.length && (match = pattern.exec(path))) {
    if (match[1] !== undefined) parts.push(match[1]);
    else if (match[2] !== undefined) parts.push(Number(match[2]));
    else parts.push(JSON.parse(match[3]));
    at = pattern.lastIndex;
  }
  return parts;
}

/** Formats parts back as a short field label: ["branches", 0, "next"] → "branches[0].next". */
export function fieldLabel(parts) {
  return parts.map((part, i) => (typeof part === "number" ? `[${part}]`
    : `${i ? "." : ""}${part}`)).join("");
}

/** The deepest step a path goes through, and the rest of the path inside it. */
export function locate(definition, path) {
  const parts = parsePath(path);
  let node = definition;
  let owner = null;
  let rest = parts;
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i];
    if (node === null || typeof node !== "object" || !(part in node)) break;
    const parent = node;
    node = node[part];
    const inSteps = typeof part === "number" && i > 0 && parts[i - 1] === "steps";
    if (inSteps && Array.isArray(parent) && node && typeof node === "object" &&
        typeof node.id === "string" && isStepList(parts, i, definition)) {
      owner = node.id;
      rest = parts.slice(i + 1);
    }
  }
  return {step: owner, field: fieldLabel(rest)};
}

function isStepList(parts, i, definition) {
  // "steps" lists hold steps at the top, in a loop's body and in a parallel branch; walk the
  // prefix to check that the list's owner is one of those (a `with.steps` is just data).
  let node = definition;
  for (let j = 0; j < i - 1; j += 1) node = node?.[parts[j]];
  if (node === definition) return true;
  if (node && stepType(node) === "loop") return true;
  return Boolean(node && typeof node.name === "string" && parts[i - 3] === "branches");
}

/**
 * Groups problems by the step they name.
 * @returns {{steps: Object<string, object[]>, workflow: object[]}} each problem with `field`.
 */
export function placeErrors(definition, errors) {
  const placed = {steps: {}, workflow: []};
  for (const error of errors || []) {
    const {step, field} = locate(definition, error.path || "$");
    const item = {...error, field};
    if (step === null) placed.workflow.push(item);
    else (placed.steps[step] = placed.steps[step] || []).push(item);
  }
  return placed;
}
