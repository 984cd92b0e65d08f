"""Handing a call to moto: straight to the response class that answers it, where moto's own
server would find that class by routing.

moto's server gives each service a Flask application whose URL rules all lead to the service's
response class (``BaseResponse.dispatch``), which routes the call to its operation again, from
the service model. For every call, Flask then matches the path against the rules, pushes an
application and a request context, runs its request hooks and builds a response: about a
third of the emulator's time for a signed call, which is most of what the emulator does.

Here a call whose operation is known (``wire.classify`` found it in the service model), whose
service's rules all lead to one handler and whose path one of them matches goes to that handler
directly, with the request moto's Flask application would have built (``BackendRequest``) and
the answer turned into a response as moto's view does (``convert_to_flask_response``), with the
header Flask-CORS adds to every answer of moto's server. Anything else (unsigned requests,
``/moto-api``, an unknown operation, a path no rule matches, a service whose rules lead to
several handlers, a browser's request with ``Origin``) goes through moto's server unchanged.
"""

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from flask import Flask, Response
from moto.moto_api import recorder
from moto.moto_server.werkzeug_app import BackendRequest, DomainDispatcherApplication, create_backend_app
from moto.settings import DISABLE_GLOBAL_CORS
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

from .wire import UNKNOWN_OPERATION, Call

StartResponse = Callable[..., Any]
Handler = Callable[[Any, str, dict[str, str]], Any]


class Dispatcher:
    """moto's server (``DomainDispatcherApplication``), with the direct way for known calls."""

    def __init__(self) -> None:
        self.server = DomainDispatcherApplication(create_backend_app)
        self._routes: dict[int, tuple[Flask, _Route | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer as moto's server does."""
        return self.server(environ, start_response)

    def answer(self, call: Call, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer a signed call, the direct way when its operation is known."""
        if call.operation == UNKNOWN_OPERATION:
            return self(environ, start_response)
        app = self.server.get_application(environ)
        route = self._route(app)
        if route is None or not route.leads_here(app, environ) or _asks_cors(environ):
            return app(environ, start_response)
        request = BackendRequest(environ)
        recorder._record_request(request)
        try:
            # ``raw_url`` as moto's view passes it, so every mode hands the handler the same URL.
            result = route.handler(request, request.raw_url, dict(request.headers))
        except ClientError as error:
            result = 400, {}, error.response["Error"]["Message"]
        except HTTPException as error:  # Flask answers these with their own response
            return _with_cors(error.get_response(environ))(environ, start_response)
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        response = Response(response=content, status=status, headers=headers)
        if request.method == "HEAD" and "content-length" in headers:
            response.headers["Content-Length"] = headers["content-length"]
        return _with_cors(response)(environ, start_response)

    def _route(self, app: Flask) -> "_Route | None":
        """The one handler every URL rule of ``app`` leads to, or None if there are several."""
        known = self._routes.get(id(app))
        if known is not None and known[0] is app:
            return known[1]
        handlers = {view.callback for view in app.view_functions.values() if hasattr(view, "callback")}
        route = None
        if len(handlers) == 1 and not (app.before_request_funcs or app.url_value_preprocessors):
            rules = list(app.url_map.iter_rules())
            static = None if any(rule.arguments for rule in rules) else frozenset(r.rule for r in rules)
            route = _Route(next(iter(handlers)), static)
        with self._lock:
            self._routes[id(app)] = (app, route)
        return route


@dataclass(frozen=True)
class _Route:
    handler: Handler
    # The paths of the rules when none has a variable part (``/`` for the JSON and query
    # services), else None: the path is then matched against the rules as Flask matches it.
    static_paths: frozenset[str] | None

    def leads_here(self, app: Flask, environ: dict[str, Any]) -> bool:
        """Whether Flask would route the request to the handler (moto's server answers 404
        otherwise, or redirects)."""
        if self.static_paths is not None:
            return environ.get("PATH_INFO", "") in self.static_paths
        try:
            app.url_map.bind_to_environ(environ).match()
        except (HTTPException, RoutingException):
            return False
        return True


def _asks_cors(environ: dict[str, Any]) -> bool:
    """A browser's request (``Origin``), whose CORS answer Flask-CORS works out."""
    return "HTTP_ORIGIN" in environ or "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK" in environ


def _with_cors(response: Any) -> Any:
    """The header Flask-CORS adds to every answer of moto's server to a request without
    ``Origin`` (``CORS(app)`` with its defaults), unless moto's server runs without it."""
    if not DISABLE_GLOBAL_CORS:
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
    return response
