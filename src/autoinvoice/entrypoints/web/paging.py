"""Cursor paging of the REST API's lists.

Every list answers ``{"items": [...], "next_cursor": str | null}``, newest first. The cursor
is the id of the last item shown: pass it back as ``after`` for the next page; it is null on
the last page. Ids only grow, so a page never repeats or skips an item that existed when the
first page was read, whatever is added meanwhile.

>>> cut([9, 8, 7], 2, key=lambda n: n)
([9, 8], '8')
>>> cut([9, 8], 2, key=lambda n: n)
([9, 8], None)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from fastapi import Query

T = TypeVar("T")

After = Annotated[int | None, Query(ge=1, description="the `next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]


def cut(rows: Sequence[T], limit: int, *, key: Callable[[T], int]) -> tuple[list[T], str | None]:
    """The page (``rows`` were fetched with ``limit + 1``) and the cursor of the next one."""
    page = list(rows[:limit])
    return page, (str(key(page[-1])) if len(rows) > limit and page else None)


def after_id(rows: Sequence[T], after: int | None, *, key: Callable[[T], int]) -> list[T]:
    """Rows read whole (short lists: clients, contracts), newest first, past the cursor."""
    ordered = sorted(rows, key=key, reverse=True)
    return [r for r in ordered if after is None or key(r) < after]


__all__ = ["After", "Limit", "after_id", "cut"]
