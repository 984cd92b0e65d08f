"""The launcher: ``python emulator/run.py --port PORT [--world FILE] [--job-delay SECONDS]``.

It binds 127.0.0.1 only (``--port 0`` picks a free port), prints exactly one line
``coffer-emulator listening on http://127.0.0.1:PORT`` to stdout once it is ready to serve,
and runs in the foreground until SIGTERM or SIGINT, then exits with status 0.
"""

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import NoReturn

from werkzeug.serving import ThreadedWSGIServer

from . import patches, world
from .connections import KeepAliveRequestHandler
from .middleware import Emulator

HOST = "127.0.0.1"

# How long a request thread may keep the interpreter while another waits for it (Python's
# default: 5 ms). A call needs about 1.5 ms of the interpreter and gives it up at each read,
# write or sleep. With hundreds of calls in flight the default hands the interpreter from thread
# to thread in the middle of calls, and each handover costs CPU: with 50 ms of injected latency a
# 100-account plan used 0.66 s more of the emulator's CPU than without (3.41 s against 2.75 s,
# the means of 4 plans each), CPU AWS's endpoints do not spend. With 50 ms the difference was
# 0.12 s (2.95 s against 2.83 s).
SWITCH_INTERVAL_SECONDS = 0.05


class Server(ThreadedWSGIServer):
    """werkzeug's threaded server, with connections kept open between calls
    (``connections.KeepAliveRequestHandler``) and a listen backlog that holds a fleet's
    connections.

    werkzeug listens with a backlog of 128. A client with hundreds of calls in flight (Coffer
    reading a fleet: 256 by default) opens connections faster than the accepting thread takes
    them while the request threads hold the interpreter; the kernel then drops the surplus
    connection requests and each such client waits a second before it tries again, a stall
    AWS's endpoints never cause. The kernel caps the backlog at ``net.core.somaxconn``.
    """

    request_queue_size = 4096


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="run.py", description="Coffer's local AWS emulator (moto + AWS Backup extensions)"
    )
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--world", type=Path, help="world file (YAML) to load at start")
    parser.add_argument(
        "--job-delay",
        type=float,
        help="seconds a backup/copy/restore job takes (default: the world's job_delay_seconds, else 1.0)",
    )
    args = parser.parse_args(argv)
    if args.job_delay is not None and args.job_delay < 0:
        parser.error("--job-delay must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.environ.pop("MOTO_ACCOUNT_ID", None) is not None:
        print("coffer-emulator: ignoring MOTO_ACCOUNT_ID (it would override assumed-role credentials)", file=sys.stderr)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    patches.install()
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    emulator = Emulator(job_delay_override=args.job_delay)
    if args.world is not None:
        try:
            emulator.load_world(world.read(args.world.read_text()))
        except (OSError, world.WorldError) as error:
            print(f"coffer-emulator: cannot load world {args.world}: {error}", file=sys.stderr)
            return 2

    server = Server(HOST, args.port, emulator, handler=KeepAliveRequestHandler)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"coffer-emulator listening on http://{HOST}:{server.server_port}", flush=True)
    # The ready line is the only stdout output: anything printed later (moto prints some
    # diagnostics) goes to stderr.
    sys.stdout = sys.stderr
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


def run() -> NoReturn:
    """Run ``main()`` and exit with its status without interpreter finalization: tearing down
    moto's in-memory state takes seconds, and the server socket is already closed."""
    status = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
