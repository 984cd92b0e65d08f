"""What a signed AWS request is (service, operation, Region, access key) and protocol-correct errors.

The operation name is derived per protocol, as the botocore service models define them:

* awsJson (KMS, Organizations): the ``X-Amz-Target`` header, ``<prefix>.<Operation>``;
* query (STS, RDS, IAM): the ``Action`` parameter, in the form body or the query string;
* restJson / restXml (Backup): HTTP method + path matched against the model's
  ``requestUri`` templates (moto's router over the botocore model).
"""

import functools
import io
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
from botocore.exceptions import UnknownServiceError
from botocore.model import ServiceModel
from moto.core.request import Request
from moto.core.routing import get_service_router

_CREDENTIAL = re.compile(r"Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
UNKNOWN_OPERATION = "Unknown"


@dataclass(frozen=True)
class Call:
    service: str  # the SigV4 signing name, e.g. "backup", "kms", "sts"
    operation: str  # the AWS operation name, e.g. "ListBackupVaults"
    region: str
    access_key: str
    protocol: str  # botocore protocol: "rest-json", "json", "query", "rest-xml", "ec2" or "unknown"


@functools.cache
def service_model(service: str) -> ServiceModel | None:
    try:
        return botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return None


def classify(environ: dict[str, Any]) -> Call | None:
    """Describe a SigV4-signed request, or return None for anything unsigned."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        return None
    service = match["service"]
    model = service_model(service)
    protocol = model.protocol if model is not None else "unknown"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-amz-json"):
        # The protocol the request speaks: a service may offer several (the Tagging API, signed
        # as "tagging", takes JSON 1.1 and CBOR), and its errors must come back in the same one.
        protocol = "json"
    return Call(
        service=service,
        operation=_operation(environ, service, protocol),
        region=match["region"],
        access_key=match["key"],
        protocol=protocol,
    )


def _operation(environ: dict[str, Any], service: str, protocol: str) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    if protocol in ("query", "ec2"):
        return _query_action(environ) or UNKNOWN_OPERATION
    if protocol in ("rest-json", "rest-xml"):
        try:
            operation, _ = get_service_router(service).match(Request(environ))
            return operation.name
        except Exception:  # any routing failure means the path names no operation
            return UNKNOWN_OPERATION
    return UNKNOWN_OPERATION


def _query_action(environ: dict[str, Any]) -> str | None:
    return query_parameter(environ, "Action")


def query_parameter(environ: dict[str, Any], name: str) -> str | None:
    """A parameter of a query-protocol request (STS, RDS, IAM): from the query string, else
    from the form-encoded body (which stays readable for the application)."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if name in query:
        return query[name][0]
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = read_body(environ)
    form = parse_qs(body.decode("utf-8", errors="replace"))
    return form[name][0] if name in form else None


def read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back so the application can read it again.

    A body sent without ``Content-Length`` (``Transfer-Encoding: chunked``, as SDKs stream some
    uploads) is read until its end: werkzeug's server de-chunks it and marks the stream
    terminated (``wsgi.input_terminated``), and ignores a ``Content-Length`` sent with it, as
    HTTP does [source: RFC 9112 section 6.3]. It is put back with its length as
    ``CONTENT_LENGTH``, so moto, which reads ``CONTENT_LENGTH`` bytes, sees all of it (it answered
    HTTP 500 before).
    """
    if _streamed(environ):
        body = environ["wsgi.input"].read()
        environ["CONTENT_LENGTH"] = str(len(body))
    else:
        length = _content_length(environ)
        body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _content_length(environ: dict[str, Any]) -> int:
    """``CONTENT_LENGTH``, 0 when absent or not a length (negative, not a number): a stream is
    never read "to its end" on a connection the client keeps open."""
    value = environ.get("CONTENT_LENGTH", "")
    return int(value) if value.isdigit() else 0


def _streamed(environ: dict[str, Any]) -> bool:
    """The body has no length and is read until the end of the (de-chunked) stream."""
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or bool(environ.get("wsgi.input_terminated"))


# Throttling error codes and messages AWS uses, per service; other services get the usual
# code of their protocol family (ThrottlingException for JSON, Throttling for query/XML).
# [source: docs/aws-behaviour.md section 10: KMS ThrottlingException with this message,
#  Organizations TooManyRequestsException]
_THROTTLING = {
    "kms": (
        "ThrottlingException",
        "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.",
    ),
    "organizations": (
        "TooManyRequestsException",
        "You have sent too many requests in too short a period of time. The quota helps protect "
        "against denial-of-service attacks. Try again later.",
    ),
}


def throttling_response(call: Call) -> tuple[int, list[tuple[str, str]], bytes]:
    """An HTTP 400 throttling error in the wire shape of the call's protocol."""
    request_id = str(uuid.uuid4())
    json_protocol = call.protocol in ("json", "rest-json")
    code, message = _THROTTLING.get(
        call.service, ("ThrottlingException" if json_protocol else "Throttling", "Rate exceeded")
    )
    if not json_protocol:
        return query_error_response(call, 400, code, message, request_id)
    headers, body = json_error(call, code, message)
    headers.append(("x-amzn-RequestId", request_id))
    return 400, headers, body


def json_error(call: Call, code: str, message: str) -> tuple[list[tuple[str, str]], bytes]:
    """The headers and body of an error with ``code`` in the awsJson or restJson shape."""
    if call.protocol == "json":
        model = service_model(call.service)
        version = model.metadata.get("jsonVersion", "1.1") if model is not None else "1.1"
        body = json.dumps({"__type": code, "message": message}).encode()
        return [("Content-Type", f"application/x-amz-json-{version}")], body
    body = json.dumps({"message": message}).encode()
    return [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)], body


def query_error_response(
    call: Call, status: int, code: str, message: str, request_id: str | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """An error in the query protocol's XML shape (STS, RDS, IAM): ``<ErrorResponse>`` with a
    ``Sender`` ``<Error>``, in the service's XML namespace when its model names one."""
    request_id = request_id or str(uuid.uuid4())
    model = service_model(call.service)
    namespace = model.metadata.get("xmlNamespace") if model is not None else None
    opening = f'<ErrorResponse xmlns="{escape(namespace)}">' if namespace else "<ErrorResponse>"
    body = (
        f"{opening}<Error><Type>Sender</Type>"
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()
    return status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body
