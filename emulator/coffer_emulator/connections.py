"""The emulator's HTTP request handler: moto's, with connections kept open between calls, as
AWS's endpoints keep them.

werkzeug's server closes every connection after its answer (its handler cannot tell where a
request's body ends if the application left some of it unread), so every call was a new TCP
connection and a new thread in the emulator, and the SDKs' connection pools never reused one.
Here the request's body is read to its end before the application sees it, so the next request
on the connection starts where this one ended, and the answer is collected whole and sent with
its ``Content-Length``. A connection is closed when the client asks for it (``Connection:
close``, HTTP/1.0), when the application fails, or when the connection is lost (``lost.py``
resets it).
"""

import socket
import traceback
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler

from . import wire

# Answers that carry no body, so no Content-Length either. [source: RFC 9110 section 8.6]
_NO_BODY = {204, 304}


class KeepAliveRequestHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"
    # An idle connection is closed after this many seconds (its thread ends), as AWS's
    # endpoints close idle connections.
    timeout = 60
    # Answers are written to a buffer and leave when ``_send`` flushes it: the head and a body that
    # fits the buffer in one write. (A larger body leaves after its head; with ``TCP_NODELAY`` it
    # does not wait for the client to acknowledge the head.)
    wbufsize = 1 << 16

    def setup(self) -> None:
        super().setup()
        # Answers go out as soon as they are written, as each is whole (see ``_send``).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def make_environ(self) -> dict[str, Any]:
        """werkzeug's environment, with the request's body read to its end and served from memory
        (``wire.read_body``), so the next request on the connection starts where this one ends."""
        environ = super().make_environ()
        wire.read_body(environ)
        return environ

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.wfile.flush()  # the client waits for it before it sends the body
        self.environ = environ = self.make_environ()
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Nothing is sent before the answer is whole, so a later call (with ``exc_info``)
            # replaces the answer.
            if exc_info is not None:
                chunks.clear()
            started[:] = [status, headers]
            return chunks.append

        try:
            answer = self.server.app(environ, start_response)
            try:
                chunks.extend(answer)
            finally:
                getattr(answer, "close", lambda: None)()
        except (ConnectionError, socket.timeout) as error:
            self.close_connection = True
            self.connection_dropped(error, environ)
            return
        except Exception:
            self.close_connection = True
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            started[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            chunks[:] = [b"Internal Server Error"]
        if not started:
            self.close_connection = True
            started[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]]
            chunks[:] = [b"the application answered without starting a response"]
        self._send(*started, b"".join(chunks))

    def _send(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        bodiless = 100 <= code < 200 or code in _NO_BODY
        head = self.command == "HEAD"
        self.send_response(code, reason)
        for name, value in headers:
            lowered = name.lower()
            if lowered in ("connection", "transfer-encoding", "keep-alive"):
                continue
            # A HEAD answer keeps the length the application gave (that of the body a GET gets).
            if lowered == "content-length" and not head:
                continue
            self.send_header(name, value)
        if not bodiless and not head:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not bodiless and not head:
            self.wfile.write(body)
        self.wfile.flush()
