"""Reading a rule file or the rule editor's text: YAML without aliases.

An alias (``*name``) repeats an anchored node wherever it is used, so a few hundred
characters of nested aliases unfold into billions of items (the "billion laughs"). A rule
has no use for them: this loader refuses the first alias with its line and column.

>>> load("a: &x [1]\\nb: *x\\n")
Traceback (most recent call last):
...
yaml.composer.ComposerError: YAML aliases (*x) are not allowed; write the value out
  in "<unicode string>", line 2, column 4:
    b: *x
       ^
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.events import AliasEvent
from yaml.nodes import Node

__all__ = ["NoAliasLoader", "load"]


class NoAliasLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that raises ``ComposerError`` at the first alias."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise ComposerError(
                None,
                None,
                f"YAML aliases (*{event.anchor}) are not allowed; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


def load(text: str) -> Any:
    """The YAML document in ``text`` (safe types only, no aliases); raises yaml.YAMLError."""
    return yaml.load(text, Loader=NoAliasLoader)  # a SafeLoader
