"""The audit log page, with filters.

(Being built for issue 7.)
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
