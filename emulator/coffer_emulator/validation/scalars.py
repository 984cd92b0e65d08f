"""Scalars against their model type: a value sent as JSON must already be of the type (else
Coral's deserializer message), a value sent as text must parse as it (else the emulator's
``Member must be ...``)."""

import base64
import binascii
import re
from typing import Any

from botocore.model import Shape
from botocore.utils import parse_timestamp
from moto.core.parse import UNDEFINED

from .violations import Text, Violation, leaf_member

INTEGER_TYPES = frozenset({"integer", "long", "short", "byte"})
FLOAT_TYPES = frozenset({"float", "double"})
JAVA_TYPE = {
    "integer": "Integer",
    "long": "Long",
    "short": "Short",
    "byte": "Byte",
    "float": "Float",
    "double": "Double",
    "boolean": "Boolean",
    "string": "String",
    "timestamp": "Date",
    "blob": "ByteBuffer",
    "structure": "Structure",
    "list": "List",
    "map": "Map",
}
JAVA_RANGE = {"integer": 2**31, "long": 2**63, "short": 2**15, "byte": 2**7}
TEXT_TYPE_RULE = {
    "integer": "Member must be an integer",
    "long": "Member must be an integer",
    "short": "Member must be an integer",
    "byte": "Member must be an integer",
    "float": "Member must be a number",
    "double": "Member must be a number",
    "boolean": "Member must be a boolean (true or false)",
    "timestamp": "Member must be a timestamp",
    "blob": "Member must be base64-encoded",
}


def type_violation(shape: Shape, value: Any, path: tuple[str | int, ...]) -> Violation:
    """A value of the wrong type: Coral's deserializer message for JSON values, the emulator's
    ``Member must be ...`` for text that does not parse."""
    if isinstance(value, Text):
        text = TEXT_TYPE_RULE.get(shape.type_name, f"Member must be a {shape.type_name}")
    else:
        text = json_type_message(value, shape.type_name)
    sensitive = bool(shape.metadata.get("sensitive"))
    return Violation(path, leaf_member(path), "type", text, value, sensitive, shape.type_name)


def json_type_message(value: Any, type_name: str) -> str:
    """Coral's JSON deserializer message, e.g. ``STRING_VALUE can not be converted to an Integer``."""
    if isinstance(value, dict):
        return "Start of structure or map found where not expected."
    if isinstance(value, list):
        return "Start of list found where not expected."
    if isinstance(value, bool):
        token = "TRUE_VALUE" if value else "FALSE_VALUE"
    elif isinstance(value, (int, float)):
        token = "NUMBER_VALUE"
    else:
        token = "STRING_VALUE"
    target = JAVA_TYPE.get(type_name, type_name.capitalize())
    article = "an" if target[:1] in "AEIOU" else "a"
    return f"{token} can not be converted to {article} {target}"


def typed_scalar(shape: Shape, value: Any) -> Any:
    """The value as its model type (bytes for blobs), or UNDEFINED when it is not one."""
    kind = shape.type_name
    if isinstance(value, Text):
        return _from_text(kind, value)
    if kind in ("string",):
        return value if isinstance(value, str) else UNDEFINED
    if kind in INTEGER_TYPES:
        return _json_integer(kind, value)
    if kind in FLOAT_TYPES:
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else UNDEFINED
    if kind == "boolean":
        return value if isinstance(value, bool) else UNDEFINED
    if kind == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        return _timestamp(value) if isinstance(value, str) else UNDEFINED
    if kind == "blob":
        return _base64(value) if isinstance(value, str) else UNDEFINED
    return value


def _json_integer(kind: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return UNDEFINED
    if isinstance(value, float):  # 10.0: SDKs send integers as such; moto would choke on a float
        return UNDEFINED
    bound = JAVA_RANGE[kind]
    return value if -bound <= value < bound else UNDEFINED


_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


def _from_text(kind: str, value: str) -> Any:
    if kind == "string":
        return str(value)
    if kind in INTEGER_TYPES:
        return _json_integer(kind, int(value)) if _INTEGER_TEXT.fullmatch(value) else UNDEFINED
    if kind in FLOAT_TYPES:
        try:
            number = float(value)
        except ValueError:
            return UNDEFINED
        return number if number == number else UNDEFINED  # NaN is not a number AWS takes
    if kind == "boolean":
        return {"true": True, "false": False}.get(value.lower(), UNDEFINED)
    if kind == "timestamp":
        return _timestamp(value)
    if kind == "blob":
        return _base64(value)
    return value


def _timestamp(value: str) -> Any:
    try:
        return parse_timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return UNDEFINED


def _base64(value: str) -> Any:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return UNDEFINED
