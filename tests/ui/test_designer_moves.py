"""Placed steps move between containers by dragging them on the designer's canvas: out of a
parallel branch onto the top level, from the top level into a branch and into a loop's body;
the saved draft holds each step in its new list."""

from __future__ import annotations

from typing import Any

from tests.ui.conftest import Stack, shot, sync_api

expect = sync_api.expect if sync_api else None

WORKFLOW = {
    "kind": "workflow", "id": "ui-moves", "name": "Moves",
    "steps": [
        {"id": "first", "action": "log", "with": {"message": "first"}},
        {"id": "fan", "type": "parallel", "branches": [
            {"name": "a", "steps": [{"id": "a1", "action": "log", "with": {"message": "a1"}}]},
            {"name": "b", "steps": [{"id": "b1", "action": "log", "with": {"message": "b1"}}]}]},
        {"id": "each", "type": "loop", "for_each": "[1, 2]", "steps": [
            {"id": "l1", "action": "log", "with": {"message": "l1"}}]},
        {"id": "last", "action": "log", "with": {"message": "last"}},
    ],
    # fan spans x 0-512, y 120-320; each x 600-872, y 120-296; nothing right of last
    "layout": {"nodes": {"first": {"x": 0, "y": 0}, "fan": {"x": 0, "y": 120},
                         "a1": {"x": 16, "y": 40}, "b1": {"x": 16, "y": 40},
                         "each": {"x": 600, "y": 120}, "l1": {"x": 16, "y": 56},
                         "last": {"x": 0, "y": 480}}},
}


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box


def _drag(page: Any, step: str, x: float, y: float) -> None:
    """Drag a step's node by its title to the screen point (x, y)."""
    start = _box(page, f'.react-flow__node[data-id="{step}"] .node-title, '
                       f'.react-flow__node[data-id="{step}"] .container-head')
    page.mouse.move(start["x"] + 20, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(start["x"] + 30, start["y"] + 10, steps=3)
    page.mouse.move(x, y, steps=15)
    page.mouse.up()
    page.wait_for_timeout(200)


def _lists(definition: dict[str, Any]) -> dict[str, list[str]]:
    """Each list of steps by where it sits: top, a loop's id, a parallel's <id>/<branch>."""
    out: dict[str, list[str]] = {}

    def walk(key: str, steps: list[dict[str, Any]]) -> None:
        out[key] = [s["id"] for s in steps]
        for s in steps:
            if s.get("type") == "loop":
                walk(s["id"], s["steps"])
            if s.get("type") == "parallel":
                for i, b in enumerate(s["branches"]):
                    walk(f"{s['id']}/{i}", b["steps"])

    walk("top", definition["steps"])
    return out


def test_steps_move_into_and_out_of_branches_and_loops(stack: Stack, page: Any) -> None:
    stack.publish(WORKFLOW)
    stack.until("the workflow to be listed", lambda: stack.active("workflow", "ui-moves"))
    page.goto("/ui/designer/ui-moves")
    page.wait_for_selector('.react-flow__node[data-id="l1"]')
    page.wait_for_timeout(300)  # fitted
    last = _box(page, '.react-flow__node[data-id="last"]')
    zoom = last["width"] / 200

    # Out of branch a, onto the empty canvas right of `last`: a top-level step now.
    _drag(page, "a1", last["x"] + 420 * zoom, last["y"] + 30 * zoom)
    expect(page.locator('[data-lane="fan/0"]')).to_contain_text("Drop steps here")
    # From the top level into branch a, and into the loop's body below l1.
    lane = _box(page, '[data-lane="fan/0"]')
    _drag(page, "last", lane["x"] + lane["width"] / 2, lane["y"] + lane["height"] / 2)
    expect(page.locator('[data-lane="fan/0"]')).not_to_contain_text("Drop steps here")
    loop = _box(page, '.react-flow__node[data-id="each"]')
    _drag(page, "first", loop["x"] + loop["width"] / 2, loop["y"] + loop["height"] - 12 * zoom)
    shot(page, "designer-moved")

    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".toast")).to_contain_text("Draft")

    def saved() -> dict[str, Any] | None:
        body = stack.client.get("/definitions/workflow/ui-moves/versions/latest").json()
        return body["definition"] if "draft" in body.get("version", "") else None

    lists = _lists(stack.until("the draft to be saved", saved))
    assert lists == {"top": ["fan", "each", "a1"], "fan/0": ["last"], "fan/1": ["b1"],
                     "each": ["l1", "first"]}


BRANCHING = {
    "kind": "workflow", "id": "ui-onto-branch", "name": "Onto a branch",
    "steps": [
        {"id": "audit", "action": "log", "with": {"message": "audit"}},
        {"id": "route", "type": "condition", "default": "small",
         "branches": [{"when": "has(input.big)", "next": "big"}]},
        {"id": "big", "action": "log", "with": {"message": "big"}, "next": "$end"},
        {"id": "small", "action": "log", "with": {"message": "small"}},
    ],
    "layout": {"nodes": {"audit": {"x": 420, "y": 0}, "route": {"x": 0, "y": 0},
                         "big": {"x": -200, "y": 220}, "small": {"x": 200, "y": 220}}},
}


def test_a_step_dropped_on_a_condition_branch_joins_it(stack: Stack, page: Any) -> None:
    stack.publish(BRANCHING)
    stack.until("the workflow to be listed", lambda: stack.active("workflow", "ui-onto-branch"))
    page.goto("/ui/designer/ui-onto-branch")
    page.wait_for_selector('.react-flow__node[data-id="small"]')
    page.wait_for_timeout(300)
    label = _box(page, '.react-flow__edge[data-id="route->branch-0->big"] .react-flow__edge-text')
    _drag(page, "audit", label["x"] + label["width"] / 2, label["y"] + label["height"] / 2)
    expect(page.locator('.react-flow__edge[data-id="route->branch-0->audit"]')).to_have_count(1)
    expect(page.locator('.react-flow__edge[data-id="audit->next->big"]')).to_have_count(1)
    shot(page, "designer-onto-branch")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".toast")).to_contain_text("Draft")

    def saved() -> dict[str, Any] | None:
        body = stack.client.get("/definitions/workflow/ui-onto-branch/versions/latest").json()
        return body["definition"] if "draft" in body.get("version", "") else None

    steps = {s["id"]: s for s in stack.until("the draft to be saved", saved)["steps"]}
    assert list(steps) == ["route", "big", "small", "audit"]  # the workflow starts at route now
    assert steps["route"]["branches"][0]["next"] == "audit"
    assert steps["audit"]["next"] == "big"
