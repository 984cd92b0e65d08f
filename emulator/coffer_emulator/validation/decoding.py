"""A request's input, decoded per protocol into a structure shaped like the operation's input
shape (see the package's docs): the JSON body (json), URI labels, query string, headers and
body (rest-json), or the form un-flattened as botocore flattens it (query)."""

import functools
import json
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from botocore.model import OperationModel, Shape
from moto.core.parse import UNDEFINED, QueryParser
from moto.core.request import Request
from moto.core.routing import get_service_router
from moto.core.utils import get_service_model

from .. import wire
from .scalars import json_type_message
from .violations import Text


class MalformedBody(Exception):
    """A JSON body that is not JSON, or not an object."""


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
    return _json_object(wire.read_body(environ))


def _decode_query(call: wire.Call, environ: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, str] = {}
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        values.update(_form(wire.read_body(environ).decode("utf-8", errors="replace")))
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
    body = wire.read_body(environ)
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
        raise MalformedBody(json_type_message(parsed, "structure"))
    return parsed
