"""A copy of the demo installation (``web_support.demo_app``) for each test, made from one
built per module: building it takes seconds, copying the SQLite file milliseconds."""

from __future__ import annotations

import shutil
from pathlib import Path

from web_support import ISSUED_AT, demo_app

from autoinvoice.adapters.clock import ManualClock
from autoinvoice.bootstrap import App, build
from autoinvoice.config import Settings


def demo_template(directory: Path) -> Path:
    """Build the demo installation in ``directory`` once; returns it."""
    app = demo_app(directory)
    app.engine.dispose()  # the SQLite file complete on disk (WAL checkpointed)
    return directory


def copied_demo_app(template: Path, target: Path) -> App:
    """The demo installation, copied from ``template`` into ``target``, its clock at the
    moment the demo's two invoices were issued."""
    shutil.copytree(template, target)
    return build(Settings(data_dir=target), clock=ManualClock(ISSUED_AT), migrate=False)
