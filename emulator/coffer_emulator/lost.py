"""Losing the answer of a call that took effect (``faults.LostResponse``): what the client gets
instead of the answer.

* ``reset``: the TCP connection is reset (RST) before any byte of the answer is sent;
* ``timeout``: the answer is held ``hold_seconds`` (bounded), then the connection is reset, as a
  client's read timeout ends a call;
* ``500``: HTTP 500 with an empty body, no error code;
* ``InternalFailure`` (HTTP 500) and ``ServiceUnavailable`` (HTTP 503): AWS's common errors, in
  the wire shape of the call's protocol.
"""

import os
import socket
import struct
import time
import uuid
from collections.abc import Iterable
from typing import Any

from .faults import LostResponse
from .wire import Call, json_error

_STATUS = {"500": 500, "InternalFailure": 500, "ServiceUnavailable": 503}
_REASON = {500: "Internal Server Error", 503: "Service Unavailable"}
_MESSAGE = {
    "InternalFailure": "The request processing has failed because of an unknown error, exception or failure.",
    "ServiceUnavailable": "The request has failed due to a temporary failure of the server.",
}


class ConnectionLost(ConnectionResetError):
    """Raised out of the WSGI application once the connection is reset: the server treats it as
    a connection the client dropped and writes nothing more."""


def deliver(rule: LostResponse, call: Call, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """Answer with the loss ``rule`` describes, in place of the answer the call got."""
    if rule.kind in ("reset", "timeout"):
        if rule.kind == "timeout":
            time.sleep(rule.hold_seconds)
        reset_connection(environ)
        raise ConnectionLost(f"lost response ({rule.kind}) injected for {call.service}:{call.operation}")
    status, headers, body = server_error(call, rule.kind)
    start_response(f"{status} {_REASON[status]}", headers)
    return [body]


def status_of(rule: LostResponse) -> int:
    """The HTTP status the request log records for a lost answer (0: no answer at all)."""
    return _STATUS.get(rule.kind, 0)


def server_error(call: Call, kind: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """A 500 or 503 for ``kind``: without an error code (``500``), or AWS's common error."""
    status = _STATUS[kind]
    request_id = str(uuid.uuid4())
    if kind == "500":
        return status, [("Content-Type", "text/plain"), ("x-amzn-RequestId", request_id)], b""
    message = _MESSAGE[kind]
    if call.protocol in ("json", "rest-json"):
        headers, body = json_error(call, kind, message)
    else:
        body = (
            f"<ErrorResponse><Error><Type>Receiver</Type><Code>{kind}</Code>"
            f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    headers.append(("x-amzn-RequestId", request_id))
    return status, headers, body


def reset_connection(environ: dict[str, Any]) -> None:
    """Reset the request's TCP connection at once. With ``SO_LINGER`` 0 the kernel sends RST when
    the socket's last descriptor closes; the server still holds the descriptor number, so it is
    pointed (``dup2``) at one end of a closed socket pair: the connection is released (RST) and
    the server's later reads see end of file and its writes a broken pipe, on a descriptor no
    other connection can be given."""
    connection = environ.get("werkzeug.socket")
    if connection is None:
        return
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    kept, peer = socket.socketpair()
    peer.close()
    try:
        os.dup2(kept.fileno(), connection.fileno())
    finally:
        kept.close()
