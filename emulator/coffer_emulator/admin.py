"""The unsigned admin HTTP API under ``/_coffer/`` (documented in ``README.md``).

Bodies and answers are JSON, except ``POST /_coffer/world`` which takes the world document
as YAML or JSON. Errors answer ``{"error": "..."}`` with status 400, 404 or 405.
"""

import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from . import consistency, world
from .backup.jobs import JobTiming
from .clock import CLOCK
from .faults import FaultConfig, FaultInjector, RequestLog


class Emulator(Protocol):
    """What the admin API works on: the emulator's faults, its request log and its state
    (``middleware.Emulator``)."""

    faults: FaultInjector
    requests: RequestLog

    def reset(self) -> None: ...

    def load_world(self, document: dict[str, Any]) -> None: ...


Handler = Callable[[Emulator, Request], Any]


class AdminError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _json_body(request: Request) -> dict[str, Any]:
    raw = request.get_data()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise AdminError(f"body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise AdminError("body must be a JSON object")
    return body


def health(emulator: Emulator, request: Request) -> Any:
    return {"status": "ok"}


def get_world(emulator: Emulator, request: Request) -> Any:
    return {"world": world.CURRENT.document, "default_account": world.CURRENT.default_account}


def load_world(emulator: Emulator, request: Request) -> Any:
    document = world.read(request.get_data(as_text=True))
    try:
        emulator.load_world(document)
    except world.WorldError as error:
        raise AdminError(str(error)) from error
    return {"loaded": True, "default_account": world.CURRENT.default_account}


def reset(emulator: Emulator, request: Request) -> Any:
    emulator.reset()
    return {"reset": True}


def get_faults(emulator: Emulator, request: Request) -> Any:
    return emulator.faults.config().to_dict()


def put_faults(emulator: Emulator, request: Request) -> Any:
    try:
        config = FaultConfig.from_dict(_json_body(request))
    except ValueError as error:
        raise AdminError(str(error)) from error
    emulator.faults.configure(config)
    return config.to_dict()


def delete_faults(emulator: Emulator, request: Request) -> Any:
    emulator.faults.configure(FaultConfig())
    return FaultConfig().to_dict()


def _log_filters(request: Request) -> dict[str, str | None]:
    return {name: request.args.get(name) for name in ("account", "service", "operation", "region")}


def get_requests(emulator: Emulator, request: Request) -> Any:
    return {"requests": emulator.requests.entries(**_log_filters(request))}


def delete_requests(emulator: Emulator, request: Request) -> Any:
    return {"cleared": emulator.requests.clear(request.args.get("account"))}


def get_clock(emulator: Emulator, request: Request) -> Any:
    return {"now": CLOCK.now().isoformat(), "offset_seconds": CLOCK.offset_seconds()}


def advance_clock(emulator: Emulator, request: Request) -> Any:
    seconds = _json_body(request).get("advance_seconds")
    if not isinstance(seconds, (int, float)) or seconds < 0:
        raise AdminError("advance_seconds must be a number >= 0")
    CLOCK.advance(float(seconds))
    return get_clock(emulator, request)


def get_settings(emulator: Emulator, request: Request) -> Any:
    return {"job_delay_seconds": JobTiming.delay_seconds}


def put_settings(emulator: Emulator, request: Request) -> Any:
    body = _json_body(request)
    delay = body.get("job_delay_seconds")
    if set(body) != {"job_delay_seconds"} or not isinstance(delay, (int, float)) or delay < 0:
        raise AdminError('body must be {"job_delay_seconds": <number >= 0>}')
    JobTiming.delay_seconds = float(delay)
    return get_settings(emulator, request)


def get_consistency(emulator: Emulator, request: Request) -> Any:
    return consistency.STATE.config().to_dict()


def put_consistency(emulator: Emulator, request: Request) -> Any:
    """Replace the delays (kinds left out: 0) for changes made from now on."""
    try:
        config = consistency.ConsistencyConfig.from_dict(_json_body(request))
    except ValueError as error:
        raise AdminError(f"eventual_consistency: {error}") from error
    consistency.STATE.configure(config)
    return config.to_dict()


def delete_consistency(emulator: Emulator, request: Request) -> Any:
    """No delays, and every pending change visible at once."""
    consistency.STATE.reset()
    return consistency.STATE.config().to_dict()


ROUTES: dict[str, dict[str, Handler]] = {
    "health": {"GET": health},
    "world": {"GET": get_world, "POST": load_world},
    "reset": {"POST": reset},
    "faults": {"GET": get_faults, "PUT": put_faults, "DELETE": delete_faults},
    "requests": {"GET": get_requests, "DELETE": delete_requests},
    "clock": {"GET": get_clock, "POST": advance_clock},
    "settings": {"GET": get_settings, "PUT": put_settings},
    "consistency": {"GET": get_consistency, "PUT": put_consistency, "DELETE": delete_consistency},
}


def handle(emulator: Emulator, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    request = Request(environ)
    name = request.path.removeprefix("/_coffer/").strip("/")
    try:
        methods = ROUTES.get(name)
        if methods is None:
            raise AdminError(f"no admin endpoint /_coffer/{name}; see emulator/README.md", 404)
        handler = methods.get(request.method)
        if handler is None:
            raise AdminError(f"/_coffer/{name} accepts {', '.join(methods)}", 405)
        status, body = 200, handler(emulator, request)
    except (AdminError, world.WorldError) as error:
        status, body = getattr(error, "status", 400), {"error": str(error)}
    response = Response(json.dumps(body, default=str), status=status, mimetype="application/json")
    return response(environ, start_response)
