"""Settings: numbering series, taxes, payment terms, reminder policy, SMTP, sandbox mode,
users and roles, API keys.

(Being built for issue 7.)
"""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
