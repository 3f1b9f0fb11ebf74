"""Where a JSON prefix stands lexically: inside a string or not, and whether a backslash escape is pending.

Guards and finish mode (``slot.engine.cpu.guards.runaway``, ``slot.engine.cpu.guards.finish``) read it from the
output so far, since
the same token (``]``, ``,``) closes a container outside a string and is plain text inside one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ESCAPE = re.compile(r"\\.", re.DOTALL)


@dataclass(frozen=True)
class StringState:
    """Inside a string or not, and (inside one) whether the next character is escaped."""

    inside: bool = False
    escaped: bool = False

    @classmethod
    def of(cls, text: str) -> "StringState":
        """The state at the end of a JSON prefix (outside strings JSON has no backslashes; inside them each
        escape is a backslash and one character)."""
        plain = _ESCAPE.sub("", text)
        return cls(inside=plain.count('"') % 2 == 1, escaped=plain.endswith("\\"))

    def after(self, piece: str) -> "StringState":
        """The state once ``piece`` follows."""
        if '"' not in piece and "\\" not in piece:
            return self if not self.escaped or not piece else StringState(self.inside, False)
        inside, escaped = self.inside, self.escaped
        for char in piece:
            if escaped:
                escaped = False
            elif inside and char == "\\":
                escaped = True
            elif char == '"':
                inside = not inside
        return StringState(inside, escaped)


def in_string(text: str) -> bool:
    """Whether a JSON prefix ends inside a string."""
    return StringState.of(text).inside
