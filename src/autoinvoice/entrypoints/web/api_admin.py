"""REST API: users, roles and API keys (owner, admin scope).

(Being built for issue 7.)
"""

from __future__ import annotations

from fastapi import APIRouter

from .api import COMMON_RESPONSES

router = APIRouter(prefix="/api/v1", responses=COMMON_RESPONSES)
