"""The control flow of a workflow: step references, reachability, cycles, data flow.

Each step list (the workflow's, a loop body, a parallel branch) is a scope with its own
flow. `next`, branch targets, `default` and `on_error.goto` must stay in their scope.
Which steps surely finished before a step starts ("upstream") is kept as bit masks so
that data-flow checks stay linear-ish at a thousand steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from schemas.definitions import (
    END,
    AnyStep,
    ConditionStep,
    LoopStep,
    ParallelStep,
    WorkflowDefinition,
)
from schemas.validation._report import Problem

ScopeKind = Literal["top", "loop", "branch"]


@dataclass
class Scope:
    """One list of steps that flows on its own."""

    kind: ScopeKind
    path: str
    steps: list[AnyStep]
    container: int | None  # global index of the loop/parallel step holding it
    sequential: bool = True
    indices: list[int] = field(default_factory=list)


@dataclass
class Node:
    """One step with where it sits."""

    index: int
    step: AnyStep
    path: str
    scope: Scope
    descendants: int = 0  # bit mask of the steps nested inside it


class FlowGraph:
    """Checks the flow of a workflow and answers data-flow questions about it."""

    def __init__(self, workflow: WorkflowDefinition) -> None:
        self.workflow = workflow
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.nodes: list[Node] = []
        self.by_id: dict[str, Node] = {}
        self.scopes: list[Scope] = []
        top_sequential = workflow.execution_mode == "sequential"
        self._collect(Scope("top", "$.steps", list(workflow.steps), None, top_sequential))
        self.upstream = [0] * len(self.nodes)
        for scope in self.scopes:
            self._check_scope(scope)

    def _collect(self, scope: Scope) -> None:
        self.scopes.append(scope)
        for i, step in enumerate(scope.steps):
            node = Node(len(self.nodes), step, f"{scope.path}[{i}]", scope)
            self.nodes.append(node)
            scope.indices.append(node.index)
            if step.id in self.by_id:
                first = self.by_id[step.id].path
                self.errors.append(
                    Problem(
                        f"{node.path}.id",
                        "duplicate_step",
                        f"step id {step.id!r} is already used at {first}",
                    )
                )
            else:
                self.by_id[step.id] = node
            start = len(self.nodes)
            for sub in _subscopes(step, node):
                self._collect(sub)
            node.descendants = _mask(range(start, len(self.nodes)))

    def bit(self, step_id: str) -> int:
        """The bit of a step in the upstream masks, or 0 for an unknown id."""
        node = self.by_id.get(step_id)
        return 0 if node is None else 1 << node.index

    def writers(self) -> dict[str, int]:
        """For each var name some step sets, the mask of steps whose output mapping sets it."""
        masks: dict[str, int] = {}
        for node in self.nodes:
            output = node.step.output
            if isinstance(output, dict):
                for key in output:
                    masks[str(key)] = masks.get(str(key), 0) | 1 << node.index
        return masks

    def _check_scope(self, scope: Scope) -> None:
        edges = self._edges(scope)
        if scope.kind == "top" and not scope.sequential:
            self._check_concurrent_top(scope)
        else:
            roots = self._roots(scope)
            self._check_reachable(scope, edges, roots)
            self._check_cycles(scope, edges)
            self._flow_upstream(scope, edges)

    def _edges(self, scope: Scope) -> dict[int, list[tuple[int, str]]]:
        """Local index -> [(local target, path of the field naming it)] within a scope."""
        local = _first_index(scope.steps)
        edges: dict[int, list[tuple[int, str]]] = {k: [] for k in range(len(scope.indices))}
        for k, g in enumerate(scope.indices):
            node = self.nodes[g]
            for target, where in self._targets(node, k):
                if isinstance(target, int):
                    edges[k].append((target, where))
                elif target == END:
                    continue
                elif target in local:
                    edges[k].append((local[target], where))
                else:
                    self._bad_target(node, target, where)
        return edges

    def _targets(self, node: Node, k: int) -> list[tuple[str | int, str]]:
        """Targets by id, or by position for the implicit "the following step"."""
        step, scope, path = node.step, node.scope, node.path
        concurrent_top = scope.kind == "top" and not scope.sequential
        following: str | int = k + 1 if k + 1 < len(scope.steps) else END
        targets: list[tuple[str | int, str]] = []
        if concurrent_top and step.next is not None:
            self.warnings.append(
                Problem(
                    f"{path}.next",
                    "ignored_field",
                    "`next` is ignored: top-level steps of a parallel or "
                    "hybrid workflow start by `depends_on`",
                )
            )
        fallthrough: tuple[str | int, str] = (
            (step.next, f"{path}.next") if step.next else (following, path)
        )
        if isinstance(step, ConditionStep):
            targets += [(b.next, f"{path}.branches[{j}].next") for j, b in enumerate(step.branches)]
            targets.append((step.default, f"{path}.default") if step.default else fallthrough)
            if not step.default and not step.next and following == END:
                self._silent_end(node)
        elif not concurrent_top:
            targets.append(fallthrough)
        if step.on_error is not None and step.on_error.goto is not None:
            targets.append((step.on_error.goto, f"{path}.on_error.goto"))
        return targets

    def _silent_end(self, node: Node) -> None:
        # The last step of a list without `default` or `next` falls through to the end: when
        # no branch holds, the scope (at the top level, the workflow) just stops.
        where = "the workflow" if node.scope.kind == "top" else "its " + node.scope.kind
        self.warnings.append(
            Problem(
                f"{node.path}.default",
                "ends_silently",
                f"when no branch holds, {where} ends here; set `default` (or `next: $end` "
                "to say so)",
            )
        )

    def _bad_target(self, node: Node, target: str, where: str) -> None:
        if target not in self.by_id:
            self.errors.append(Problem(where, "unknown_step", f"no step has id {target!r}"))
        elif node.scope.kind == "branch":
            self.errors.append(
                Problem(
                    where,
                    "branch_never_joins",
                    f"{target!r} is outside this parallel branch; a branch "
                    "ends with `$end` and joins its parallel step",
                )
            )
        else:
            self.errors.append(
                Problem(
                    where,
                    "out_of_scope",
                    f"{target!r} is in another scope; a step can only go to "
                    "steps of its own list (loop bodies and branches are "
                    "scopes of their own)",
                )
            )

    def _roots(self, scope: Scope) -> list[int]:
        if not scope.steps:
            return []
        if scope.kind != "top":
            return [0]
        local = _first_index(scope.steps)
        roots = [local.get(self.workflow.start_at or scope.steps[0].id, 0)]
        handler = self.workflow.on_error.goto
        if handler is not None and handler in local:
            roots.append(local[handler])  # the workflow's catch path is an entry of its own
        return roots

    def _check_reachable(
        self, scope: Scope, edges: dict[int, list[tuple[int, str]]], roots: list[int]
    ) -> None:
        seen = set(roots)
        stack = list(roots)
        while stack:
            for target, _ in edges[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        for k, g in enumerate(scope.indices):
            if k not in seen:
                node = self.nodes[g]
                self.errors.append(
                    Problem(
                        node.path,
                        "unreachable_step",
                        f"step {node.step.id!r} can never run: no step leads to it",
                    )
                )

    def _check_cycles(self, scope: Scope, edges: dict[int, list[tuple[int, str]]]) -> None:
        reported: set[frozenset[int]] = set()
        for _, target, where, cycle in _back_edges(edges, len(scope.indices)):
            if frozenset(cycle) in reported:
                continue
            reported.add(frozenset(cycle))
            names = " -> ".join(scope.steps[k].id for k in [*cycle, target])
            self.errors.append(
                Problem(
                    where,
                    "cycle",
                    f"steps {names} form a cycle; repeat work with a loop step, which is bounded",
                )
            )

    def _flow_upstream(self, scope: Scope, edges: dict[int, list[tuple[int, str]]]) -> None:
        order, preds = _topological(edges, len(scope.indices))
        base = self._container_upstream(scope)
        for k in order:
            mask = base
            for p in preds[k]:
                node = self.nodes[scope.indices[p]]
                mask |= self.upstream[node.index] | (1 << node.index) | node.descendants
            self.upstream[scope.indices[k]] = mask

    def _container_upstream(self, scope: Scope) -> int:
        return 0 if scope.container is None else self.upstream[scope.container]

    def _check_concurrent_top(self, scope: Scope) -> None:
        hybrid = self.workflow.execution_mode == "hybrid"
        local = _first_index(scope.steps)
        deps: dict[int, list[tuple[int, str]]] = {k: [] for k in range(len(scope.steps))}
        for k, step in enumerate(scope.steps):
            path = self.nodes[scope.indices[k]].path
            if isinstance(step, ConditionStep):
                self.warnings.append(
                    Problem(
                        path,
                        "ignored_field",
                        "a condition step only routes inside a sequential scope",
                    )
                )
            for j, dep in enumerate(step.depends_on if hybrid else ()):
                where = f"{path}.depends_on[{j}]"
                if dep in local:
                    deps[k].append((local[dep], where))
                else:
                    self.errors.append(
                        Problem(where, "unknown_step", f"no top-level step has id {dep!r}")
                    )
        self._check_cycles(scope, deps)
        flows: dict[int, list[tuple[int, str]]] = {k: [] for k in deps}
        for k, targets in deps.items():
            for d, where in targets:
                flows[d].append((k, where))
        self._flow_upstream(scope, flows)


def _subscopes(step: AnyStep, node: Node) -> list[Scope]:
    if isinstance(step, LoopStep):
        return [Scope("loop", f"{node.path}.steps", list(step.steps), node.index)]
    if isinstance(step, ParallelStep):
        return [
            Scope("branch", f"{node.path}.branches[{j}].steps", list(b.steps), node.index)
            for j, b in enumerate(step.branches)
        ]
    return []


def _first_index(steps: list[AnyStep]) -> dict[str, int]:
    """Step id -> position in its list; a duplicate id (reported apart) keeps the first."""
    local: dict[str, int] = {}
    for k, step in enumerate(steps):
        local.setdefault(step.id, k)
    return local


def _mask(indices: range) -> int:
    if not indices:
        return 0
    return ((1 << (indices.stop - indices.start)) - 1) << indices.start


def _back_edges(
    edges: dict[int, list[tuple[int, str]]], size: int
) -> list[tuple[int, int, str, list[int]]]:
    """Edges that close a cycle, found by iterative depth-first search, with the cycle."""
    state = [0] * size  # 0 new, 1 on the stack, 2 done
    found: list[tuple[int, int, str, list[int]]] = []
    for start in range(size):
        if state[start]:
            continue
        path: list[int] = [start]
        iters = [iter(edges[start])]
        state[start] = 1
        while iters:
            step = next(iters[-1], None)
            if step is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            target, where = step
            if state[target] == 1:
                found.append((path[-1], target, where, path[path.index(target) :]))
            elif state[target] == 0:
                state[target] = 1
                path.append(target)
                iters.append(iter(edges[target]))
    return found


def _topological(
    edges: dict[int, list[tuple[int, str]]], size: int
) -> tuple[list[int], list[list[int]]]:
    """An order in which every step follows its predecessors, cycles broken at back edges."""
    back = {(s, t) for s, t, _, _ in _back_edges(edges, size)}
    preds: list[list[int]] = [[] for _ in range(size)]
    indegree = [0] * size
    for source, targets in edges.items():
        for target, _ in targets:
            if (source, target) not in back:
                preds[target].append(source)
                indegree[target] += 1
    ready = [k for k in range(size) if indegree[k] == 0]
    order: list[int] = []
    while ready:
        k = ready.pop()
        order.append(k)
        for target, _ in edges[k]:
            if (k, target) not in back:
                indegree[target] -= 1
                if indegree[target] == 0:
                    ready.append(target)
    return order, preds
