"""The language of headwater: definition models, their validation, expressions, events.

Import from the submodules, e.g. `from schemas.definitions import WorkflowDefinition`,
`from schemas.validation import validate_workflow`,
`from schemas.expressions import compile_expression`; this package re-exports nothing so
that its submodules load independently.
"""

__all__: list[str] = []
