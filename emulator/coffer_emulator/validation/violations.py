"""What request validation finds and how AWS words it: a ``Violation`` (one broken rule of one
member), Coral's member paths and value rendering, and the kinds of values a request carries
(``Text`` sent as text, ``Key`` a map key in a path)."""

from dataclasses import dataclass
from typing import Any


class Text(str):
    """A value that arrived as text (query parameter, URI label, query string, header): its
    type is whatever the model says, once parsed."""


class Key(str):
    """A map key in a member path (shown as sent, not lowerCamel-cased)."""


@dataclass(frozen=True)
class Violation:
    """One broken rule. ``path`` holds member names and 1-based list indices; ``rule`` is one
    of required, type, pattern, min_length, max_length, min_value, max_value, enum."""

    path: tuple[str | int, ...]
    member: str
    rule: str
    constraint: str
    value: Any = None
    sensitive: bool = False
    type_name: str = ""

    @property
    def missing(self) -> bool:
        return self.rule == "required"

    def coral(self) -> str:
        """Coral's sentence for it: ``Value 'x' at 'keyId' failed to satisfy constraint: ...``."""
        if self.missing:
            shown = "Value null"
        elif self.sensitive:
            shown = "Value"
        else:
            shown = f"Value '{java_string(self.value)}'"
        return f"{shown} at '{coral_path(self.path)}' failed to satisfy constraint: {self.constraint}"


def coral_path(path: tuple[str | int, ...]) -> str:
    """Coral's member path: lowerCamel member names, list elements as ``name.N.member``."""
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"{step}.member")
        elif isinstance(step, Key):
            parts.append(step)
        else:
            parts.append(step[:1].lower() + step[1:])
    return ".".join(parts)


def wire_path(path: tuple[str | int, ...]) -> str:
    """The member path in the API's own names, list elements by 1-based index."""
    return ".".join(str(step) for step in path)


def java_string(value: Any) -> str:
    """How Java's ``toString`` shows a value in Coral's messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, list):
        return "[" + ", ".join(java_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{java_string(k)}={java_string(v)}" for k, v in value.items()) + "}"
    if value is None:
        return "null"
    return str(value)


def utf16_length(text: str) -> int:
    """The length Java's ``String.length()`` reports (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def leaf_member(path: tuple[str | int, ...]) -> str:
    """The innermost member name of a path."""
    for step in reversed(path):
        if isinstance(step, str) and not isinstance(step, Key):
            return step
    return ""
