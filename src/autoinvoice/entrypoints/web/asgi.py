"""An ASGI factory for running the web app under a process manager with several
processes (``uvicorn autoinvoice.entrypoints.web.asgi:create --factory --workers 4``).
Settings come from the environment; each process builds its own app (nothing at import)."""

from __future__ import annotations

from fastapi import FastAPI

from ...bootstrap import build
from .app import create_app


def create() -> FastAPI:
    return create_app(build(migrate=False))
