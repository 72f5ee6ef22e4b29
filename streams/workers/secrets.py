"""Where HTTP steps' secrets come from, and which references of a task may be resolved.

Values come from the worker's settings (``HEADWATER_SECRETS``, a JSON object) and from a
directory with one file per secret (``HEADWATER_SECRETS_DIR``, as Docker and Kubernetes mount
them); a file is read at every use, so a rotated secret applies without a restart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.definitions import (
    ActionStep,
    AnyStep,
    CallWebhook,
    LoopStep,
    ParallelStep,
    RuleDefinition,
    WorkflowDefinition,
)
from schemas.secrets import Path as ValuePath
from schemas.secrets import template_references
from schemas.tasks import TaskRequested

__all__ = ["MissingSecret", "SecretStore", "StepTemplates"]


class MissingSecret(LookupError):
    """A definition references a secret this worker does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(f"secret {name!r} is not configured on this worker")
        self.name = name


@dataclass(frozen=True)
class SecretStore:
    """Secret values by name.

    Attributes:
        values: Name -> value (from settings).
        directory: A folder whose files are secrets, the file name being the name.
    """

    values: Mapping[str, str] = field(default_factory=dict)
    directory: Path | None = None

    def __getitem__(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        if self.directory is not None:
            # Names are letters, digits and `_` (the reference syntax), never a path.
            file = self.directory / name
            if file.is_file():
                return file.read_text().rstrip("\r\n")
        raise MissingSecret(name)


TemplateLookup = Callable[[str, str | None], WorkflowDefinition | None]
RuleLookup = Callable[[str], RuleDefinition | None]

WEBHOOK_WORKFLOW = "headwater.webhook"
"""The built-in workflow a rule's `call_webhook` starts (`streams.triggers.effects`)."""

# A rule-started execution's id: rule id, the occasion's 80-bit digest, the action's position.
_RULE_EXECUTION = re.compile(r"^(?P<rule>[^:]+):[0-9a-f]{20}:(?P<position>\d+)$")


class StepTemplates:
    """The secret references each HTTP step's definition writes literally, per task.

    A rule's `call_webhook` runs as the built-in webhook workflow, whose step writes no
    reference itself: there the references are those the rule's action writes literally in
    its `headers` and `body`, found from the execution id the rule gave the call (only the
    trigger agent derives ids of that form; the API's are ``<workflow>-<hex>``).

    Args:
        workflow: Finds a workflow definition by id and exact version.
        rule: Finds the newest active rule by id (None: webhooks resolve no secret).
    """

    def __init__(self, workflow: TemplateLookup, rule: RuleLookup | None = None) -> None:
        self._workflow = workflow
        self._rule = rule
        self._cache: dict[tuple[str, str | None, str], dict[ValuePath, frozenset[str]]] = {}

    def references(self, task: TaskRequested) -> dict[ValuePath, frozenset[str]]:
        """Path in the task's params -> the secret names written there; empty if unknown."""
        if task.workflow_id is None:
            return {}
        if task.workflow_id == WEBHOOK_WORKFLOW:
            return self._webhook_references(task)
        key = (task.workflow_id, task.workflow_version, task.step_id)
        if key not in self._cache:
            definition = self._workflow(task.workflow_id, task.workflow_version)
            if definition is None:
                return {}  # not cached: the definition may arrive a moment later
            step = _find(definition.steps, task.step_id)
            template = step.params if isinstance(step, ActionStep) else None
            self._cache[key] = template_references(template)
        return self._cache[key]


    def _webhook_references(self, task: TaskRequested) -> dict[ValuePath, frozenset[str]]:
        # Not cached: a rule's new version may add or drop a reference.
        match = _RULE_EXECUTION.match(task.execution_id)
        if self._rule is None or match is None or task.step_id != "call":
            return {}
        rule = self._rule(match["rule"])
        position = int(match["position"])
        if rule is None or position >= len(rule.actions):
            return {}
        action = rule.actions[position]
        if not isinstance(action, CallWebhook):
            return {}
        return template_references({"headers": action.headers, "body": action.body})


def _find(steps: Iterable[AnyStep], step_id: str) -> AnyStep | None:
    for step in steps:
        if step.id == step_id:
            return step
        inner: list[Any] = []
        if isinstance(step, LoopStep):
            inner = [step.steps]
        elif isinstance(step, ParallelStep):
            inner = [branch.steps for branch in step.branches]
        for body in inner:
            found = _find(body, step_id)
            if found is not None:
                return found
    return None
