"""The answer to an invalid request, each service's own (HTTP 400, the protocol's wire shape):
see the package's docs for each service's codes and messages."""

import json
import uuid

from botocore import xform_name

from .. import wire
from .violations import Text, Violation, java_string, wire_path

# An HTTP answer: status, headers, body.
Answer = tuple[int, list[tuple[str, str]], bytes]

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
