import { describe, expect, it } from "vitest";

import { fieldPaths, fromJson, toJson, type Group } from "./conditions";

describe("condition builder JSON", () => {
  it("writes the rule language and reads it back", () => {
    const g: Group = {
      kind: "group", join: "and", children: [
        { kind: "leaf", field: "data.country", op: "eq", value: "FR" },
        { kind: "leaf", field: "data.amount", op: "gt", value: 100 },
        { kind: "group", join: "or", children: [
          { kind: "leaf", field: "subject", op: "ex", value: null },
          { kind: "leaf", field: "data.tier", op: "neq", value: "free" },
        ] },
      ],
    };
    const json = toJson(g);
    expect(json).toEqual({ $and: [
      { "data.country": "FR" }, { $gt: { "data.amount": 100 } },
      { $or: [{ $ex: { subject: 1 } }, { $neq: { "data.tier": "free" } }] },
    ] });
    expect(fromJson(json)).toEqual(g);
  });

  it("gives no condition for an empty builder and wraps a single leaf", () => {
    expect(toJson({ kind: "group", join: "and", children: [] })).toBeNull();
    expect(fromJson({ "data.x": 1 })).toEqual({ kind: "group", join: "and", children: [{ kind: "leaf", field: "data.x", op: "eq", value: 1 }] });
  });

  it("leaves to the JSON view what it cannot show", () => {
    expect(fromJson({ $iany: { "data.tags": { $mt: "prod-.*" } } })).toBeNull();
    expect(fromJson({ $expr: "event.data.a > 1" })).toBeNull();
    expect(fromJson({ "data.obj": { nested: 1 } })).toBeNull();
  });

  it("lists an event's field paths", () => {
    expect(fieldPaths({ type: "order.placed", data: { total: 5, customer: { tier: "gold" } } }))
      .toEqual(["type", "data.total", "data.customer.tier"]);
  });
});
