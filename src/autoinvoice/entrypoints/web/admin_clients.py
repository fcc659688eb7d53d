"""Client pages: create and edit a client's billing data.

(Being built for issue 7.)
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
