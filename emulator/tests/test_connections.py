"""Connections: kept open between calls as AWS's endpoints keep them, closed when the client asks,
never confused by a body the application left unread, and queued while the emulator is busy."""

import http.client
import json
import os
import select
import signal
import socket
import time
from pathlib import Path

import pytest
from support import RunningEmulator

pytestmark = pytest.mark.emulator_only(reason="the emulator's HTTP server")


def _connection(running: RunningEmulator) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", running.port, timeout=30)


def _requests_log(connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
    connection.request("GET", "/_coffer/requests?service=none")
    return connection.getresponse()


def test_a_clients_calls_share_one_connection(emu):
    emu.admin("DELETE", "requests")
    sts = emu.client("sts")
    for _ in range(3):
        sts.get_caller_identity()
    entries = emu.admin("GET", "requests?service=sts&operation=GetCallerIdentity")["requests"]
    assert len(entries) == 3, entries
    assert len({entry["connection"] for entry in entries}) == 1, entries
    assert entries[0]["connection"].startswith("127.0.0.1:"), entries


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_left_unread_does_not_become_the_next_request(running_emulator, chunked):
    connection = _connection(running_emulator)
    try:
        # Not an AWS call: moto answers it without reading its body.
        body = b"GET /_coffer/world HTTP/1.1\r\nHost: x\r\n\r\n" * 20
        if chunked:
            connection.request("POST", "/", body=iter([body[:100], body[100:]]), encode_chunked=True)
        else:
            connection.request("POST", "/", body=body)
        first = connection.getresponse()
        first.read()
        assert not first.will_close
        port = connection.sock.getsockname()[1]

        second = _requests_log(connection)
        assert second.status == 200
        assert json.loads(second.read()) == {"requests": []}
        assert connection.sock.getsockname()[1] == port  # the same connection
    finally:
        connection.close()


def test_a_length_that_is_no_length_does_not_swallow_the_next_request(running_emulator):
    connection = _connection(running_emulator)
    try:
        connection.putrequest("POST", "/")
        connection.putheader("Content-Length", "-1")
        connection.endheaders()
        connection.getresponse().read()
        # Read "to the end" of a kept connection, the body would wait for the client to close it.
        answer = _requests_log(connection)
        assert answer.status == 200
        assert json.loads(answer.read()) == {"requests": []}
    finally:
        connection.close()


def test_a_client_that_asks_for_close_gets_it(running_emulator):
    connection = _connection(running_emulator)
    try:
        connection.request("GET", "/_coffer/requests?service=none", headers={"Connection": "close"})
        answer = connection.getresponse()
        assert answer.getheader("Connection") == "close"
        assert json.loads(answer.read()) == {"requests": []}
    finally:
        connection.close()

    with socket.create_connection(("127.0.0.1", running_emulator.port), timeout=30) as raw:
        raw.sendall(b"GET /_coffer/requests?service=none HTTP/1.0\r\n\r\n")
        received = b""
        while chunk := raw.recv(65536):  # an HTTP/1.0 connection ends after its answer
            received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:100]  # a server answers with its version
    assert received.endswith(b'{"requests": []}'), received[-100:]


def _somaxconn() -> int:
    path = Path("/proc/sys/net/core/somaxconn")
    return int(path.read_text()) if path.exists() else 0


CONNECTIONS = 400


@pytest.mark.skipif(_somaxconn() < CONNECTIONS, reason="the kernel caps listen backlogs below the connections opened")
def test_connections_wait_in_the_backlog_while_the_emulator_is_busy():
    """A fleet's client opens hundreds of connections at once; while the emulator takes none of
    them (stopped here), the kernel must hold them all rather than drop connection requests."""
    running = RunningEmulator.start()
    sockets: list[socket.socket] = []
    try:
        os.kill(running.process.pid, signal.SIGSTOP)
        try:
            pending = {}
            for _ in range(CONNECTIONS):
                client = socket.socket()
                client.setblocking(False)
                sockets.append(client)
                client.connect_ex(("127.0.0.1", running.port))
                pending[client.fileno()] = client
            poller = select.poll()
            for fd in pending:
                poller.register(fd, select.POLLOUT)
            deadline = time.monotonic() + 30  # guards against a hang; connections complete at once
            while pending and time.monotonic() < deadline:
                for fd, _ in poller.poll(500):
                    assert pending[fd].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                    poller.unregister(fd)
                    del pending[fd]
            assert not pending, f"{len(pending)} of {CONNECTIONS} connections were not accepted into the backlog"
        finally:
            os.kill(running.process.pid, signal.SIGCONT)
        last = sockets[-1]
        last.setblocking(True)
        last.settimeout(30)
        last.sendall(b"GET /_coffer/requests?service=none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := last.recv(65536):
            received += chunk
        assert received.startswith(b"HTTP/1.1 200"), received[:100]
    finally:
        for client in sockets:
            client.close()
        running.stop()
