import { describe, expect, it } from "vitest";

import { STEP_KINDS } from "../graph/steps";
import { errorSchemaOf } from "./PropertiesPanel";
import { simplify, stepSchema, uiSchemaFor, workflowFormSchema } from "./schema";

describe("forms from the exported JSON Schema", () => {
  it("gives every step kind a form without its nested steps", () => {
    for (const kind of STEP_KINDS) {
      const schema = stepSchema(kind) as { properties: Record<string, unknown> };
      expect(schema.properties.id).toBeTruthy();
      expect(schema.properties.steps).toBeUndefined();
      expect(schema.properties.type).toBeUndefined();
    }
    const parallel = stepSchema("parallel") as { $defs: Record<string, { properties: Record<string, unknown> }> };
    expect(parallel.$defs.ParallelBranch.properties.steps).toBeUndefined();
    const workflow = workflowFormSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(workflow.properties)).toEqual(expect.arrayContaining(["name", "triggers", "variables", "outputs", "retry", "on_error", "timeout"]));
    expect(workflow.properties.steps).toBeUndefined();
    expect(workflow.properties.layout).toBeUndefined();
  });

  it("shows X | null as an optional X and durations as text", () => {
    expect(simplify({ anyOf: [{ type: "string", minLength: 1 }, { type: "null" }], default: null, title: "T" }))
      .toEqual({ type: "string", minLength: 1, title: "T", description: undefined });
    const timeout = simplify({ anyOf: [{ anyOf: [{ type: "number" }, { type: "string", pattern: "d" }], gt: 0 }, { type: "null" }] });
    expect(timeout).toMatchObject({ type: "string", pattern: "d" });
  });

  it("picks the mapping editor for free-form values and the expression editor for CEL", () => {
    const ui = uiSchemaFor(stepSchema("action")) as Record<string, Record<string, unknown>>;
    expect(ui.with["ui:field"]).toBe("mapping");
    expect(ui.input["ui:field"]).toBe("mapping");
    expect(ui.output["ui:field"]).toBe("mapping");
    const loop = uiSchemaFor(stepSchema("loop")) as Record<string, Record<string, unknown>>;
    expect(loop.for_each["ui:widget"]).toBe("expression");
    const condition = uiSchemaFor(stepSchema("condition")) as Record<string, { items: Record<string, Record<string, unknown>> }>;
    expect(condition.branches.items.when["ui:widget"]).toBe("expression");
  });

  it("puts the API's problems on the form's fields", () => {
    const errors = errorSchemaOf([
      { path: "$.steps[1].branches[0].when", code: "invalid_expression", message: "bad", level: "error", step: "c", field: "branches[0].when" },
      { path: "$.steps[1]", code: "unreachable_step", message: "never", level: "error", step: "c", field: "" },
    ]);
    expect(errors).toEqual({ branches: { 0: { when: { __errors: ["bad"] } } } });
  });
});
