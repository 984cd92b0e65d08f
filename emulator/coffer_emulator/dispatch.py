"""Handing a call to moto: straight to the response class that answers it, where moto's own
server would find that class by routing.

moto's server gives each service a Flask application whose URL rules all lead to the service's
response class (``BaseResponse.dispatch``), which routes the call to its operation again, from
the service model. For every call, Flask then matches the path against the rules, pushes an
application and a request context, runs its request hooks and builds a response: about a
third of the emulator's time for a signed call, which is most of what the emulator does.

Here a call whose operation is known (``wire.classify`` found it in the service model) and whose
service's rules all lead to one handler goes to that handler directly, with the request moto's
Flask application would have built (``BackendRequest``) and the answer turned into a response as
moto's view does (``convert_to_flask_response``), with the headers Flask-CORS adds to every
answer of moto's server. Anything else (unsigned requests, ``/moto-api``, an unknown operation,
a service whose rules lead to several handlers) goes through moto's server unchanged.
"""

import threading
from collections.abc import Callable, Iterable
from typing import Any

from botocore.exceptions import ClientError
from flask import Flask, Response
from moto.moto_api import recorder
from moto.moto_server.werkzeug_app import BackendRequest, DomainDispatcherApplication, create_backend_app

StartResponse = Callable[..., Any]
Handler = Callable[[Any, str, dict[str, str]], Any]


class Dispatcher:
    """moto's server (``DomainDispatcherApplication``), with the direct way for known calls."""

    def __init__(self) -> None:
        self.server = DomainDispatcherApplication(create_backend_app)
        self._handlers: dict[int, tuple[Flask, Handler | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer as moto's server does."""
        return self.server(environ, start_response)

    def answer(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Answer a signed call whose operation is known."""
        app = self.server.get_application(environ)
        handler = self._handler(app)
        if handler is None:
            return app(environ, start_response)
        request = BackendRequest(environ)
        recorder._record_request(request)
        try:
            # ``raw_url`` as moto's view passes it, so every mode hands the handler the same URL.
            result = handler(request, request.raw_url, dict(request.headers))
        except ClientError as error:
            result = 400, {}, error.response["Error"]["Message"]
        status, headers, content = result if len(result) == 3 else (200, {}, result)
        response = Response(response=content, status=status, headers=headers)
        if request.method == "HEAD" and "content-length" in headers:
            response.headers["Content-Length"] = headers["content-length"]
        for name, value in _CORS_HEADERS:
            response.headers.setdefault(name, value)
        return response(environ, start_response)

    def _handler(self, app: Flask) -> Handler | None:
        """The one handler every URL rule of ``app`` leads to, or None if there are several."""
        known = self._handlers.get(id(app))
        if known is not None and known[0] is app:
            return known[1]
        handlers = {view.callback for view in app.view_functions.values() if hasattr(view, "callback")}
        only = next(iter(handlers)) if len(handlers) == 1 and len(app.view_functions) > 0 else None
        if app.before_request_funcs or app.url_value_preprocessors:
            only = None  # hooks only Flask would run
        with self._lock:
            self._handlers[id(app)] = (app, only)
        return only


# What Flask-CORS adds to every answer of moto's server (``CORS(app)`` with its defaults: any
# origin, sent whether or not the request has an ``Origin``).
_CORS_HEADERS = (("Access-Control-Allow-Origin", "*"),)
