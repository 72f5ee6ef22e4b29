"""What every endpoint works with: the views, the producer, the tokens, the clock, and the
access checks that tie a request to the object it touches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from projections.access import Acl, Principal, Right, allowed
from projections.auth import TokenTable, check
from projections.errors import problem
from projections.producer import EventProducer
from projections.store import ViewStore
from projections.views.definitions import DefinitionRecord, read_definition
from projections.views.executions import ExecutionSummary, read_summary

__all__ = ["ApiContext"]


@dataclass
class ApiContext:
    """Shared by the routers of one API instance."""

    store: ViewStore
    producer: EventProducer
    tokens: TokenTable
    clock: Callable[[], datetime]

    def definition(self, kind: str, definition_id: str) -> DefinitionRecord | None:
        """The definitions view's record, or None if it has not seen one."""
        return read_definition(self.store, kind, definition_id)

    def acl(self, kind: str, definition_id: str) -> Acl:
        """Whose a workflow or rule is; one the views have not seen yet belongs to nobody."""
        record = self.definition(kind, definition_id)
        return Acl() if record is None else record.acl

    def may(self, principal: Principal, right: Right, kind: str, definition_id: str) -> bool:
        """Whether ``principal`` may exercise ``right`` on that workflow or rule."""
        return allowed(principal, right, self.acl(kind, definition_id))

    def execution(self, principal: Principal, right: Right, execution_id: str) -> ExecutionSummary:
        """The execution's summary, once ``principal`` may exercise ``right`` on its workflow.

        Raises:
            HTTPException: 404 (unknown or not visible), 403 (visible, right denied).
        """
        summary = read_summary(self.store, execution_id)
        what = f"execution {execution_id!r}"
        if summary is None:
            raise problem(404, f"{what} not found")
        check(principal, right, self.acl("workflow", summary.workflow_id), what)
        return summary
