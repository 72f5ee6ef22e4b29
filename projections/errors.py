"""One error body for every failure the API answers, so clients parse errors one way.

``{"detail": "<summary>", "errors": [{"path": ..., "code": ..., "message": ...}]}``: ``path``
is a JSON path into what the client sent (``$.steps[2].retry`` for a definition,
``type`` or ``[3].source`` for trigger events, ``query.limit`` for parameters).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["ERROR_RESPONSES", "ErrorBody", "ErrorItem", "install_error_handlers", "problem"]

log = logging.getLogger(__name__)


class ErrorItem(BaseModel):
    """One thing wrong with a request."""

    path: str
    code: str
    message: str


class ErrorBody(BaseModel):
    """What every 4xx and 5xx answer carries."""

    detail: str
    errors: list[ErrorItem] = []


def problem(status: int, detail: str, errors: Iterable[ErrorItem] = ()) -> HTTPException:
    """An ``HTTPException`` whose body is an ``ErrorBody`` listing ``errors``."""
    return HTTPException(status, ErrorBody(detail=detail, errors=list(errors)).model_dump())


_DESCRIPTIONS = {
    "401": "No valid API token", "403": "The token's role or the object's owner forbids it",
    "404": "No such object, or not visible to this token", "409": "Not possible in its state",
    "413": "The request body is over the limit (the limit is named)",
    "422": "The request is invalid; every problem is listed with its path",
    "503": "Kafka or the views are not available",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in _DESCRIPTIONS.items()
}
"""OpenAPI ``responses`` for the error statuses (string keys: FastAPI then adds no other 422)."""


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    body = detail if isinstance(detail, dict) else {"detail": str(detail), "errors": []}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = [ErrorItem(path=".".join(str(part) for part in error.get("loc", ())),
                       code=str(error.get("type", "invalid")), message=str(error.get("msg", "")))
             for error in exc.errors()]
    body = ErrorBody(detail="invalid request", errors=items)
    return JSONResponse(body.model_dump(), status_code=422)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    """Whatever else escaped a handler: still the one error shape, never plain text."""
    if isinstance(exc, RecursionError):  # a body nested deeper than any parser goes
        body = ErrorBody(detail="request nests too deep", errors=[ErrorItem(
            path="body", code="too_deep", message="the body nests deeper than can be read")])
        return JSONResponse(body.model_dump(), status_code=422)
    log.error("unhandled %s in a request", type(exc).__name__, exc_info=exc)
    body = ErrorBody(detail="internal error", errors=[ErrorItem(
        path="", code="internal_error", message=type(exc).__name__)])
    return JSONResponse(body.model_dump(), status_code=500)


def install_error_handlers(api: FastAPI) -> None:
    """Make ``api`` answer every HTTP error, invalid request and unexpected failure with
    an ``ErrorBody``."""
    api.add_exception_handler(StarletteHTTPException, _http_error)
    api.add_exception_handler(RequestValidationError, _invalid_request)
    api.add_exception_handler(Exception, _unexpected)
