"""``/docs``: Swagger UI served from the installed ``swagger-ui-bundle-v2`` package, so the API's
interactive docs work offline (FastAPI's default page loads Swagger UI from a CDN)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

__all__ = ["install_docs"]

ASSETS = "/docs/assets"


def install_docs(api: FastAPI) -> None:
    """Serve Swagger UI at ``/docs`` with its assets at ``/docs/assets`` (create the app with
    ``docs_url=None, redoc_url=None``: ReDoc has no bundled copy and would need a CDN)."""
    api.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=api.openapi_url or "/openapi.json", title=f"{api.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png")
