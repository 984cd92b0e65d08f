"""Every request to Backup, KMS, Organizations, STS, IAM and RDS is validated against its botocore
input shape before moto sees it, as AWS validates a request before serving it.

1. **Decoding** (per protocol, into a structure shaped like the operation's input shape):

   * json (KMS, Organizations): the JSON body;
   * rest-json (Backup): URI labels of the model's ``requestUri`` template (moto's router over the
     botocore model, greedy ``{Name+}`` labels included), ``location: querystring`` members from
     the query string, ``location: header`` members from the headers, the rest from the JSON body;
   * query (STS, IAM, RDS): the form body and query string, un-flattened the way botocore's
     ``QuerySerializer`` flattens them (``Name.member.N``, the list member's ``locationName``
     such as RDS's ``Tags.Tag.N.Key``, flattened lists, ``Name.entry.N.key/value`` maps), with
     moto's own ``QueryParser`` made to keep every scalar as the text that was sent.

   Values that arrive as text (query parameters, URI labels, query strings, headers) are
   :class:`Text`; a Text integer, boolean, timestamp or blob that does not parse is a type error.

2. **Validation**: required members, types, ``min``/``max`` lengths of strings (UTF-16 code units,
   as Java counts them), blobs (bytes), lists and maps, ``min``/``max`` of numbers, ``pattern``
   (a Java regular expression, full-match as AWS applies it; translated for Python's ``re``,
   see :func:`python_pattern`; one that still does not compile is skipped, logged once on
   stderr) and ``enum``. Members the model does not know are ignored, as AWS ignores them.
   AWS Backup's ``CreatorRequestId`` rule, documented but absent from the model, is added
   (:data:`DOCUMENTED`), and so are the typed restore metadata values the emulator's restore
   jobs read (:func:`restore_metadata_violations`), so no string where a number goes can fail a
   job later.

3. **The answer** is each service's own (HTTP 400, the protocol's wire shape):

   * KMS: ``ValidationException`` with Coral's message, ``1 validation error detected: Value 'x'
     at 'keyId' failed to satisfy constraint: Member must have length less than or equal to
     2048`` (``N validation errors detected: ...; ...`` for several);
     [source: https://github.com/stelligent/mu/issues/382 (KMS.ValidationException, 'keyId')]
     [source: https://github.com/boto/boto3/issues/3428 (KMS, "Member must satisfy enum value set: [...]")]
   * STS and IAM: ``ValidationError`` (query XML error) with the same message, a missing member
     being ``Value null at 'x' failed to satisfy constraint: Member must not be null``;
     [source: https://github.com/zalando-stups/aws-credentials-service/issues/7 (STS, regular expression)]
     [source: https://github.com/newscorpaus/consigliere/issues/18 (STS, "2 validation errors detected", Value '')]
     [source: https://github.com/crossplane-contrib/provider-aws/issues/1986 (IAM ValidationError, length)]
     [source: https://github.com/pulumi/pulumi-aws/issues/2357 ("Value null at ... Member must not be null",
      nested paths 'rules.4.member.statement')]
     [source: https://github.com/massif-press/compcon/issues/1951 (a sensitive member's value is left out:
      "Value at 'username'")]
   * Organizations: ``InvalidInputException`` with the message of its reason and ``Reason``
     ``<REASON>:<MEMBER>`` (``INVALID_PATTERN:RESOURCE_ID``), one violation per answer;
     [source: https://github.com/openshift/osdctl/pull/204 (Message_ "You provided a value that does
      not match the required pattern.", Reason "INVALID_PATTERN:RESOURCE_ID")]
     [source: https://docs.aws.amazon.com/botocore/latest/reference/services/organizations/client/exceptions/InvalidInputException.html
      (the reasons and their texts)]
   * RDS: ``MissingParameter`` for a missing member, else ``InvalidParameterValue`` (query XML
     error); the messages are modelled on RDS's ``Invalid value 3412 for MaxRecords. Must be
     between 20 and 1000``;
     [source: https://docs.aws.amazon.com/redshift/latest/APIReference/CommonErrors.html (the codes, common
      to the query APIs)]
     [source: https://github.com/hashicorp/terraform-provider-aws/issues/37221 (RDS InvalidParameterValue message)]
   * Backup: ``MissingParameterValueException`` for a missing member, else
     ``InvalidParameterValueException`` with the Coral message (the emulator's wording: AWS
     Backup's own is not documented); the shape is ``backup/errors.py``'s;
     [source: https://github.com/aws/aws-cdk/issues/8685 (InvalidParameterValueException, Status Code 400)]
   * a JSON value of the wrong type in a json / rest-json body: ``SerializationException``,
     ``STRING_VALUE can not be converted to an Integer`` (Coral's deserializer, before any
     validation); [source: https://github.com/aws/aws-cdk/pull/27087]
     [source: https://github.com/pplu/aws-sdk-perl/issues/237 (the bare "SerializationException" __type)]
     A text value that does not parse is a validation error of the service in the emulator's
     wording (``Member must be an integer``).
"""

import base64
import binascii
import functools
import json
import re
import sys
import unicodedata
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from botocore import xform_name
from botocore.model import OperationModel, Shape
from botocore.utils import parse_timestamp
from moto.core.parse import UNDEFINED, QueryParser
from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model

from . import wire

Answer = tuple[int, list[tuple[str, str]], bytes]

VALIDATED_SERVICES = frozenset({"backup", "kms", "organizations", "sts", "iam", "rds"})

# Rules AWS documents for a member but the botocore model does not carry, per service and
# member name: {"min", "max", "pattern"} as the model would state them.
# [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html
#  ("If used, this parameter must contain 1 to 50 alphanumeric or '-_.' characters.", the same
#  sentence on every Backup operation with a CreatorRequestId)]
# ``ByAccountId`` of the job lists: an account ID, or ``*`` from the management account for every
# account of the organization, although the model's pattern is ``^[0-9]{12}$``.
# [source: https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListBackupJobs.html
#  ("If used from an AWS Organizations management account, passing * returns all jobs across
#  the organization.")]
DOCUMENTED: dict[tuple[str, str], dict[str, Any]] = {
    ("backup", "CreatorRequestId"): {"min": 1, "max": 50, "pattern": r"^[a-zA-Z0-9\-\_\.]+$"},
    ("backup", "ByAccountId"): {"pattern": r"^([0-9]{12}|\*)$"},
}

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


class Text(str):
    """A value that arrived as text (query parameter, URI label, query string, header): its
    type is whatever the model says, once parsed."""


class Key(str):
    """A map key in a member path (shown as sent, not lowerCamel-cased)."""


class MalformedBody(Exception):
    """A JSON body that is not JSON, or not an object."""


# ----------------------------------------------------------------------------- violations


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


# ----------------------------------------------------------------------------- patterns


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


# ----------------------------------------------------------------------------- decoding


class _TextQueryParser(QueryParser):
    """moto's query-protocol un-flattening, keeping every scalar as the :class:`Text` sent."""

    def _default_handle(self, shape: Shape, value: Any, prefix: str = "") -> Any:
        found = value.get(prefix, UNDEFINED)
        return Text(found) if isinstance(found, str) else found

    _parse_integer = _parse_long = _parse_float = _parse_double = _default_handle  # type: ignore[assignment]
    _parse_boolean = _parse_timestamp = _parse_blob = _default_handle  # type: ignore[assignment]


def decode(call: wire.Call, environ: dict[str, Any], operation: OperationModel) -> dict[str, Any]:
    """The request's input, shaped like ``operation.input_shape`` (raises MalformedBody)."""
    if call.protocol == "query":
        return _decode_query(call, environ)
    if call.protocol == "rest-json":
        return _decode_rest_json(call, environ, operation)
    return _json_object(wire._read_body(environ))


def _decode_query(call: wire.Call, environ: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, str] = {}
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        values.update(_form(wire._read_body(environ).decode("utf-8", errors="replace")))
    values.update(_form(environ.get("QUERY_STRING", "")))
    operation = _moto_operation(call.service, call.operation)
    request = {"values": values}
    parsed = _TextQueryParser(operation)._do_parse(request, operation.input_shape)  # type: ignore[arg-type]
    return _defined(parsed)


@functools.cache
def _moto_model(service: str) -> Any:
    """moto's subclass of the botocore model (its query parser needs moto's shape classes)."""
    return get_service_model(service)


def _moto_operation(service: str, operation: str) -> Any:
    return _moto_model(service).operation_model(operation)


def _form(text: str) -> dict[str, str]:
    return dict(parse_qsl(text, keep_blank_values=True))


def _defined(value: Any) -> Any:
    """Drop moto's UNDEFINED sentinels (a map key sent without its value)."""
    if isinstance(value, dict):
        return {k: _defined(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, list):
        return [_defined(v) for v in value if v is not UNDEFINED]
    return value


def _decode_rest_json(call: wire.Call, environ: dict[str, Any], operation: OperationModel) -> dict[str, Any]:
    shape = operation.input_shape
    payload_name = shape.serialization.get("payload")
    body = wire._read_body(environ)
    decoded: dict[str, Any] = {} if payload_name else _json_object(body)
    decoded = {name: value for name, value in decoded.items() if name not in _located(shape)}
    if payload_name and shape.members[payload_name].type_name == "structure":
        decoded[payload_name] = _json_object(body) if body.strip() else None
    try:
        _, labels = get_service_router(call.service).match(Request(environ))
    except Exception:  # the path names no operation: nothing to take from it
        labels = {}
    query = _multi_form(environ.get("QUERY_STRING", ""))
    for name, member in shape.members.items():
        value = _located_value(member, labels, query, environ)
        if value is not None:
            decoded[name] = value
    return _body_names_to_members(shape, decoded)


def _located(shape: Shape) -> set[str]:
    """Wire names of members bound elsewhere than the body (they are not read from it)."""
    return {
        member.serialization.get("name", name)
        for name, member in shape.members.items()
        if member.serialization.get("location")
    }


def _multi_form(text: str) -> dict[str, list[str]]:
    return parse_qs(text, keep_blank_values=True)


def _located_value(member: Shape, labels: dict[str, str], query: dict[str, list[str]], environ: dict[str, Any]) -> Any:
    location = member.serialization.get("location")
    wire_name = member.serialization.get("name", "")
    if location == "uri":
        return Text(labels[wire_name]) if wire_name in labels else None
    if location == "querystring":
        if member.type_name == "map":
            return {k: Text(v[0]) for k, v in query.items()} or None
        if wire_name not in query:
            return None
        if member.type_name == "list":
            return [Text(v) for v in query[wire_name]]
        return Text(query[wire_name][0])
    if location == "header":
        key = "HTTP_" + wire_name.upper().replace("-", "_")
        if wire_name.lower() == "content-type":
            key = "CONTENT_TYPE"
        return Text(environ[key]) if key in environ else None
    return None


def _body_names_to_members(shape: Shape, decoded: dict[str, Any]) -> dict[str, Any]:
    """Body members keyed by their JSON name become keyed by member name; located members are
    already keyed by member name."""
    result = dict(decoded)
    for name, member in shape.members.items():
        json_name = member.serialization.get("name", name)
        if not member.serialization.get("location") and json_name != name and json_name in result:
            result[name] = result.pop(json_name)
    return result


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        parsed = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedBody("Unable to parse the request body as JSON.") from None
    if not isinstance(parsed, dict):
        raise MalformedBody(_unexpected(parsed, "structure"))
    return parsed


# ----------------------------------------------------------------------------- validation


@dataclass
class Validator:
    """Walks a decoded input against its shape, collecting violations in member order."""

    service: str
    violations: list[Violation] = field(default_factory=list)

    def check_structure(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        if shape.metadata.get("document"):
            return
        if not isinstance(value, dict):
            self._type(shape, value, path)
            return
        for name, member in shape.members.items():
            child = value.get(name)
            if child is None:
                if name in shape.required_members:
                    self.violations.append(Violation(path + (name,), name, "required", "Member must not be null"))
                continue
            self.check_value(member, child, path + (name,))

    def check_value(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        kind = shape.type_name
        if kind == "structure":
            self.check_structure(shape, value, path)
        elif kind == "list":
            self.check_list(shape, value, path)
        elif kind == "map":
            self.check_map(shape, value, path)
        else:
            for violation in self.check_scalar(shape, value, path):
                self.violations.append(violation)

    def check_list(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        if not isinstance(value, list):
            self._type(shape, value, path)
            return
        self._size(shape, value, path)
        if shape.member.type_name in ("structure", "list", "map"):
            for index, item in enumerate(value, start=1):
                if item is not None:
                    self.check_value(shape.member, item, path + (index,))
            return
        self._scalar_members(shape.member, [v for v in value if v is not None], value, path, "Member")

    def check_map(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        if not isinstance(value, dict):
            self._type(shape, value, path)
            return
        self._size(shape, value, path)
        self._scalar_members(shape.key, list(value), value, path, "Map keys")
        if shape.value.type_name in ("structure", "list", "map"):
            for key, item in value.items():
                if item is not None:
                    self.check_value(shape.value, item, path + (Key(key),))
        else:
            self._scalar_members(shape.value, [v for v in value.values() if v is not None], value, path, "Map value")

    def _scalar_members(
        self, shape: Shape, items: list[Any], whole: Any, path: tuple[str | int, ...], what: str
    ) -> None:
        """Scalars inside a list or map: a type error is reported as such; any other broken
        rule as Coral does, once, at the collection: ``Member must satisfy constraint: [...]``."""
        for item in items:
            problems = self.check_scalar(shape, item, path)
            typed = [p for p in problems if p.rule == "type"]
            if typed:
                self.violations.extend(typed)
                return
            if problems:
                listed = ", ".join(constraint_texts(shape, self.service))
                self.violations.append(
                    Violation(
                        path,
                        _leaf(path),
                        problems[0].rule,
                        f"{what} must satisfy constraint: [{listed}]",
                        whole,
                        bool(shape.metadata.get("sensitive")),
                    )
                )
                return

    def _size(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        self.violations.extend(length_violations(shape, len(value), value, path, self.service))

    def _type(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> None:
        self.violations.append(type_violation(shape, value, path))

    def check_scalar(self, shape: Shape, value: Any, path: tuple[str | int, ...]) -> list[Violation]:
        """The violations of one scalar (a type error alone, else every broken rule)."""
        typed = typed_scalar(shape, value)
        if typed is UNDEFINED:
            return [type_violation(shape, value, path)]
        kind = shape.type_name
        sensitive = bool(shape.metadata.get("sensitive"))
        found: list[Violation] = []
        if kind == "string":
            found += pattern_violations(shape, typed, path, self.service)
            found += length_violations(shape, utf16_length(typed), typed, path, self.service)
            enum = shape.enum
            if enum and typed not in enum:
                text = f"Member must satisfy enum value set: [{', '.join(enum)}]"
                found.append(Violation(path, _leaf(path), "enum", text, typed, sensitive))
        elif kind == "blob":
            found += length_violations(shape, len(typed), typed, path, self.service)
        elif kind in INTEGER_TYPES or kind in FLOAT_TYPES:
            found += range_violations(shape, typed, path)
        return [_with_sensitivity(v, sensitive) for v in found]


def _with_sensitivity(violation: Violation, sensitive: bool) -> Violation:
    if violation.sensitive == sensitive:
        return violation
    return Violation(violation.path, violation.member, violation.rule, violation.constraint, violation.value, sensitive)


def _leaf(path: tuple[str | int, ...]) -> str:
    """The innermost member name of a path."""
    for step in reversed(path):
        if isinstance(step, str) and not isinstance(step, Key):
            return step
    return ""


def _rules(shape: Shape, path: tuple[str | int, ...], service: str) -> dict[str, Any]:
    """The shape's min/max/pattern, with the documented rules of its member added."""
    rules = {k: shape.metadata[k] for k in ("min", "max", "pattern") if k in shape.metadata}
    rules.update(DOCUMENTED.get((service, _leaf(path)), {}) if path and isinstance(path[-1], str) else {})
    return rules


def constraint_texts(shape: Shape, service: str, path: tuple[str | int, ...] = ()) -> list[str]:
    """Every constraint of a scalar shape in Coral's words (for a list's or map's members)."""
    rules = _rules(shape, path, service)
    texts: list[str] = []
    numeric = shape.type_name in INTEGER_TYPES or shape.type_name in FLOAT_TYPES
    unit = "value" if numeric else "length"
    if "max" in rules:
        texts.append(f"Member must have {unit} less than or equal to {_number(rules['max'])}")
    if "min" in rules:
        texts.append(f"Member must have {unit} greater than or equal to {_number(rules['min'])}")
    if "pattern" in rules:
        texts.append(f"Member must satisfy regular expression pattern: {rules['pattern']}")
    if getattr(shape, "enum", None):
        texts.append(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    return texts


def _number(bound: Any) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def pattern_violations(shape: Shape, value: str, path: tuple[str | int, ...], service: str) -> list[Violation]:
    pattern = _rules(shape, path, service).get("pattern")
    if pattern is None:
        return []
    compiled = compiled_pattern(pattern)
    if compiled is None or compiled.fullmatch(value):
        return []
    text = f"Member must satisfy regular expression pattern: {pattern}"
    return [Violation(path, _leaf(path), "pattern", text, value)]


def length_violations(
    shape: Shape, length: int, value: Any, path: tuple[str | int, ...], service: str
) -> list[Violation]:
    rules = _rules(shape, path, service)
    found: list[Violation] = []
    if "min" in rules and length < rules["min"]:
        text = f"Member must have length greater than or equal to {_number(rules['min'])}"
        found.append(Violation(path, _leaf(path), "min_length", text, value))
    if "max" in rules and length > rules["max"]:
        text = f"Member must have length less than or equal to {_number(rules['max'])}"
        found.append(Violation(path, _leaf(path), "max_length", text, value))
    return found


def range_violations(shape: Shape, value: float, path: tuple[str | int, ...]) -> list[Violation]:
    found: list[Violation] = []
    if "min" in shape.metadata and value < shape.metadata["min"]:
        text = f"Member must have value greater than or equal to {_number(shape.metadata['min'])}"
        found.append(Violation(path, _leaf(path), "min_value", text, value))
    if "max" in shape.metadata and value > shape.metadata["max"]:
        text = f"Member must have value less than or equal to {_number(shape.metadata['max'])}"
        found.append(Violation(path, _leaf(path), "max_value", text, value))
    return found


def type_violation(shape: Shape, value: Any, path: tuple[str | int, ...]) -> Violation:
    """A value of the wrong type: Coral's deserializer message for JSON values, the emulator's
    ``Member must be ...`` for text that does not parse."""
    if isinstance(value, Text):
        text = TEXT_TYPE_RULE.get(shape.type_name, f"Member must be a {shape.type_name}")
    else:
        text = _unexpected(value, shape.type_name)
    return Violation(path, _leaf(path), "type", text, value, bool(shape.metadata.get("sensitive")), shape.type_name)


def _unexpected(value: Any, type_name: str) -> str:
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


# ----------------------------------------------------------------------------- extra rules


# The restore metadata keys the emulator's restore jobs turn into numbers and booleans (keys are
# case-insensitive there, see backup/jobs.py): a value that is not one is refused at the call
# instead of failing the job later. The emulator's rule: AWS's wording is not documented.
RESTORE_INTEGERS = ("port", "allocatedstorage")
RESTORE_BOOLEANS = ("multiaz", "publiclyaccessible")


def restore_metadata_violations(call: wire.Call, params: dict[str, Any]) -> list[Violation]:
    """Backup ``StartRestoreJob``: ``Metadata`` values the restore reads as numbers/booleans."""
    metadata = params.get("Metadata")
    if call.service != "backup" or call.operation != "StartRestoreJob" or not isinstance(metadata, dict):
        return []
    found: list[Violation] = []
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        lowered = key.lower()
        if lowered in RESTORE_INTEGERS and not re.fullmatch(r"[0-9]{1,9}", value):
            text = f"Restore metadata {key} must be a whole number"
        elif lowered in RESTORE_BOOLEANS and value.lower() not in ("true", "false"):
            text = f"Restore metadata {key} must be true or false"
        else:
            continue
        found.append(Violation(("Metadata", Key(key)), "Metadata", "type", text, value, type_name="string"))
    return found


# ----------------------------------------------------------------------------- answers


def check(call: wire.Call, environ: dict[str, Any]) -> Answer | None:
    """The service's validation error for an invalid request, else None (the call goes on).
    The body stays readable for moto. A failure of the validator itself lets the call through
    (logged on stderr): validation never turns a call into an HTTP 500."""
    if call.service not in VALIDATED_SERVICES:
        return None
    try:
        return _check(call, environ)
    except Exception as error:  # a validator bug must not break a valid call
        where = f"{call.service}:{call.operation}"
        print(f"coffer-emulator: request validation failed for {where}: {error!r}", file=sys.stderr)
        return None


def _check(call: wire.Call, environ: dict[str, Any]) -> Answer | None:
    model = wire.service_model(call.service)
    if model is None or call.operation not in model.operation_names:
        return None
    operation = model.operation_model(call.operation)
    if operation.input_shape is None:
        return None
    try:
        params = decode(call, environ, operation)
    except MalformedBody as error:
        return json_error_response(call, "SerializationException", str(error))
    validator = Validator(call.service)
    validator.check_structure(operation.input_shape, params, ())
    violations = validator.violations or restore_metadata_violations(call, params)
    if not violations:
        return None
    return answer(call, violations)


def answer(call: wire.Call, violations: list[Violation]) -> Answer:
    """The service's error for these violations."""
    typed = [v for v in violations if v.rule == "type"]
    json_typed = [v for v in typed if not isinstance(v.value, Text) and v.path[:1] != ("Metadata",)]
    if json_typed:
        return json_error_response(call, "SerializationException", json_typed[0].constraint)
    if call.service == "organizations":
        return _organizations(call, violations[0])
    if call.service == "rds":
        return _rds(call, violations)
    if call.service == "backup":
        return _backup(call, violations)
    code = "ValidationException" if call.protocol == "json" else "ValidationError"
    message = coral_message(violations)
    if call.protocol == "query":
        return wire.query_error_response(call, 400, code, message)
    return json_error_response(call, code, message)


def coral_message(violations: list[Violation]) -> str:
    """``N validation error(s) detected: ...; ...``."""
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} detected: " + "; ".join(v.coral() for v in violations)


# Organizations' InvalidInputException reasons and their texts. "does not" rather than the
# documentation's "doesn't": that is what AWS sends [source: https://github.com/openshift/osdctl/pull/204].
# [source: https://docs.aws.amazon.com/botocore/latest/reference/services/organizations/client/exceptions/InvalidInputException.html]
ORGANIZATIONS_REASONS = {
    "required": ("INPUT_REQUIRED", "You must include a value for all required parameters."),
    "pattern": ("INVALID_PATTERN", "You provided a value that does not match the required pattern."),
    "enum": ("INVALID_ENUM", "You specified an invalid value."),
    "max_length": ("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer than allowed."),
    "min_length": ("MIN_LENGTH_EXCEEDED", "You provided a string parameter that is shorter than allowed."),
    "max_value": ("MAX_VALUE_EXCEEDED", "You provided a numeric parameter that has a larger value than allowed."),
    "min_value": ("MIN_VALUE_EXCEEDED", "You provided a numeric parameter that has a smaller value than allowed."),
    "type": ("INVALID_ENUM", "You specified an invalid value."),
}


def _organizations(call: wire.Call, violation: Violation) -> Answer:
    reason, message = ORGANIZATIONS_REASONS[violation.rule]
    member = xform_name(violation.member).upper()
    return json_error_response(call, "InvalidInputException", message, {"Reason": f"{reason}:{member}"})


def _rds(call: wire.Call, violations: list[Violation]) -> Answer:
    missing = [v for v in violations if v.missing]
    if missing:
        message = f"The request must contain the parameter {wire_path(missing[0].path)}"
        return wire.query_error_response(call, 400, "MissingParameter", message)
    first = violations[0]
    shown = "null" if first.sensitive else java_string(first.value)
    requirement = first.constraint.replace("Member must ", "Must ", 1).replace("Member ", "")
    message = f"Invalid value {shown} for {wire_path(first.path)}. {requirement}"
    return wire.query_error_response(call, 400, "InvalidParameterValue", message)


def _backup(call: wire.Call, violations: list[Violation]) -> Answer:
    missing = [v for v in violations if v.missing]
    if missing:
        # The wording of the emulator's other Backup handlers (backup/errors.py MissingParameterValue).
        message = f"Missing required parameter: {wire_path(missing[0].path)}"
        return json_error_response(call, "MissingParameterValueException", message)
    return json_error_response(call, "InvalidParameterValueException", coral_message(violations))


def json_error_response(call: wire.Call, code: str, message: str, extra: dict[str, str] | None = None) -> Answer:
    """An HTTP 400 error in the json / rest-json wire shape (``__type`` + message body; the
    ``x-amzn-ErrorType`` header for rest-json), the message under the key the service's model
    uses for it (``message`` for KMS, ``Message`` for Organizations and Backup)."""
    request_id = str(uuid.uuid4())
    body = {"__type": code, _message_key(call, code): message, **(extra or {})}
    if call.protocol == "json":
        model = wire.service_model(call.service)
        version = model.metadata.get("jsonVersion", "1.1") if model is not None else "1.1"
        headers = [("Content-Type", f"application/x-amz-json-{version}")]
    else:
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    headers.append(("x-amzn-RequestId", request_id))
    return 400, headers, json.dumps(body).encode()


def _message_key(call: wire.Call, code: str) -> str:
    model = wire.service_model(call.service)
    names: list[str] = []
    if model is not None and code in model.shape_names:
        names = list(model.shape_for(code).members)
    elif model is not None:
        names = [name for error in model.error_shapes for name in error.members]
    return "Message" if "Message" in names else "message"


def iter_patterns(service: str) -> Iterator[str]:
    """Every pattern of a service's model (used by tests to prove each one compiles or is skipped)."""
    model = wire.service_model(service)
    if model is None:
        return
    for name in model.shape_names:
        pattern = model.shape_for(name).metadata.get("pattern")
        if pattern:
            yield pattern
