"""The model's patterns, Java regular expressions, translated for Python's ``re`` (``\\p{X}``
classes spelled out as Unicode ranges; Java's ASCII ``\\w``, ``\\d``, ``\\s`` with ``re.ASCII``)."""

import functools
import re
import sys
import unicodedata
import warnings
from collections.abc import Iterator

from .. import wire

class UnsupportedPattern(Exception):
    """A Java regular expression construct the translation does not handle."""


_PROPERTY = re.compile(r"\\([pP])\{(\w+)\}")


@functools.cache
def _code_point_categories() -> dict[str, list[tuple[int, int]]]:
    """Runs of consecutive code points per Unicode general category (``Lu``, ``Nd``, ...), in
    one pass over the code space."""
    runs: dict[str, list[tuple[int, int]]] = {}
    start, current = 0, unicodedata.category("\0")
    for code in range(1, sys.maxunicode + 1):
        category = unicodedata.category(chr(code))
        if category != current:
            runs.setdefault(current, []).append((start, code - 1))
            start, current = code, category
    runs.setdefault(current, []).append((start, sys.maxunicode))
    return runs


@functools.cache
def _category_ranges(category: str) -> str:
    """A character-class body (no brackets) of every code point whose Unicode general category
    starts with ``category`` (``L``, ``Lu``, ``N``, ``Z``, ...), for Java's ``\\p{...}``."""
    if not re.fullmatch(r"[A-Z][a-z]?", category):
        raise UnsupportedPattern(f"\\p{{{category}}}")
    runs = sorted(run for name, found in _code_point_categories().items() if name.startswith(category) for run in found)
    if not runs:
        raise UnsupportedPattern(f"\\p{{{category}}}")
    merged: list[tuple[int, int]] = []
    for first, last in runs:
        if merged and first == merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return "".join(_escaped(a) if a == b else f"{_escaped(a)}-{_escaped(b)}" for a, b in merged)


def _escaped(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def python_pattern(java: str) -> str:
    """Translate a botocore (Java) pattern for Python's ``re``: ``\\p{X}`` / ``\\P{X}`` become
    explicit Unicode ranges; Java's nested classes and intersections are refused. Java's
    ``\\w``, ``\\d``, ``\\s`` are ASCII, which :func:`compiled_pattern` gets with ``re.ASCII``."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(java):
        match = _PROPERTY.match(java, i)
        if match:
            body = _category_ranges(match[2])
            if in_class and match[1] == "P":
                raise UnsupportedPattern(match[0])
            out.append(body if in_class else f"[{'^' if match[1] == 'P' else ''}{body}]")
            i = match.end()
            continue
        char = java[i]
        if char == "\\":
            out.append(java[i : i + 2])
            i += 2
            continue
        if in_class and (char == "[" or java.startswith("&&", i)):
            raise UnsupportedPattern(java)
        if char == "[" and not in_class:
            in_class = True
            out.append(char)
            i += 1
            if java.startswith("^", i):
                out.append("^")
                i += 1
            if java.startswith("]", i):  # a leading "]" is a literal in both dialects
                out.append("\\]")
                i += 1
            continue
        if char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@functools.cache
def compiled_pattern(java: str) -> re.Pattern[str] | None:
    """The compiled translation of a model pattern, or None (logged once) if it cannot be."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(python_pattern(java), re.ASCII)
    except (re.error, UnsupportedPattern) as error:
        print(f"coffer-emulator: skipping model pattern {java!r}: {error}", file=sys.stderr)
        return None


def iter_patterns(service: str) -> Iterator[str]:
    """Every pattern of a service's model (used by tests to prove each one compiles or is skipped)."""
    model = wire.service_model(service)
    if model is None:
        return
    for name in model.shape_names:
        pattern = model.shape_for(name).metadata.get("pattern")
        if pattern:
            yield pattern
