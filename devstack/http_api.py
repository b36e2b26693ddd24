"""A local stand-in for API Gateway HTTP API: real HTTP on loopback in, payload v2 events to a Lambda handler.

    request -> route matched against the route keys (404 ``{"message":"Not Found"}`` if none, as API Gateway
               answers without calling the function) -> v2 event -> handler(event, context) -> HTTP answer

What it copies from API Gateway (payload format 2.0), because handlers depend on it:

* ``rawPath`` is the percent-decoded path (HTTP APIs decode it; REST APIs do not); ``rawQueryString`` is
  as sent; ``queryStringParameters`` joins repeated names with ``,``; header names are lower-case and
  repeated headers are joined with ``,``; ``Cookie`` becomes ``cookies``.
* A body is passed as text when its content type is textual (JSON, ``text/*``, XML, form) and it is UTF-8,
  otherwise base64-encoded with ``isBase64Encoded``. Bodies over 10 MB are refused with 413.
* ``routeKey``, ``pathParameters`` and ``requestContext`` (``http``, ``stage``, ``requestId``, times) are
  filled in; a named ``stage`` prefixes every path.
* The answer: ``statusCode``, ``headers``, ``cookies``, ``body`` (base64 when ``isBase64Encoded``); a
  handler returning a bare object is answered 200 with it as JSON. A handler that raises is answered
  500 ``{"message":"Internal Server Error"}``, as API Gateway does when the integration fails.

Not copied: authorizers (every request is let through: the IAM/JWT checks happen in API Gateway), the 30 s
integration timeout (the handler's context reports ``timeout_seconds`` as its remaining time instead),
throttling. One request at a time reaches the handler, as one Lambda execution environment takes them.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["HttpApiServer", "LocalContext", "Route", "build_event"]

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]

#: API Gateway's payload limit for HTTP APIs.
MAX_PAYLOAD_BYTES: Final = 10 * 1024 * 1024
DEFAULT_TIMEOUT_SECONDS: Final = 29.0
LOCAL_ACCOUNT_ID: Final = "123456789012"
LOCAL_API_ID: Final = "localapi"
_TEXT_TYPES: Final = re.compile(
    r"^(text/|application/(json|[\w.+-]+\+json|xml|[\w.+-]+\+xml|javascript|x-www-form-urlencoded))", re.I
)
#: Hop-by-hop headers, and those the server computes itself.
_NOT_FORWARDED: Final = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "date"})


@dataclass(frozen=True)
class Route:
    """A route key, ``"GET /tenants/{clientKey}/projects"`` or ``"$default"``."""

    key: str
    method: str = field(init=False)
    pattern: re.Pattern[str] | None = field(init=False)

    def __post_init__(self) -> None:
        method, _, path = self.key.partition(" ")
        if self.key == "$default":
            object.__setattr__(self, "method", "ANY")
            object.__setattr__(self, "pattern", None)
            return
        regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\+\\\}", r"(?P<\1>.+)", re.escape(path))
        regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", regex)
        object.__setattr__(self, "method", method.upper())
        object.__setattr__(self, "pattern", re.compile(regex + r"\Z"))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Path parameters if this route takes ``method path``, else None."""
        if self.method not in ("ANY", method):
            return None
        if self.pattern is None:
            return {}
        found = self.pattern.match(path)
        return None if found is None else found.groupdict()


@dataclass
class LocalContext:
    """What handlers and Powertools read from a Lambda context; the remaining time counts down."""

    function_name: str = "ApiFunction"
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


def build_event(
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    route_key: str,
    path_parameters: Mapping[str, str],
    stage: str = "$default",
    host: str = "127.0.0.1",
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """The payload v2 event API Gateway would give the function for this request (see the module docstring).

    ``target`` is the request target as sent (path and query, percent-encoded)."""
    parts = urlsplit(target)
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": unquote(parts.path),
        "rawQueryString": parts.query,
        "headers": {k: v for k, v in joined.items() if k != "cookie"},
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": LOCAL_API_ID,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": method,
                "path": unquote(parts.path),
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16],
            "routeKey": route_key,
            "stage": stage,
            "time": formatdate(now, usegmt=True),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if "cookie" in joined:
        event["cookies"] = [c.strip() for c in joined["cookie"].split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body:
        event["body"], event["isBase64Encoded"] = _event_body(body, joined.get("content-type", ""))
    return event


def _event_body(body: bytes, content_type: str) -> tuple[str, bool]:
    if _TEXT_TYPES.match(content_type.strip()):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def _json_answer(status: HTTPStatus, message: str) -> _Answer:
    body = json.dumps({"message": message}).encode()
    return _Answer(int(status), [("Content-Type", "application/json")], body)


def answer_of(result: Any) -> _Answer:
    """The HTTP answer for a handler's return value, as API Gateway reads payload v2 responses."""
    if not isinstance(result, Mapping) or "statusCode" not in result:
        return _Answer(200, [("Content-Type", "application/json")], json.dumps(result).encode())
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(v)) for v in values)
    headers.extend(("Set-Cookie", str(c)) for c in result.get("cookies") or [])
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return _Answer(int(result["statusCode"]), headers, raw)


class HttpApiServer:
    """Serves ``handler`` on ``http://host:port`` (port 0: a free one) until :meth:`stop`."""

    def __init__(
        self,
        handler: Handler,
        *,
        routes: Sequence[str] = ("$default",),
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "$default",
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        function_name: str = "ApiFunction",
    ) -> None:
        self.handler = handler
        self.routes = [Route(key) for key in routes]
        self.stage = stage
        self.timeout_seconds = timeout_seconds
        self.function_name = function_name
        # One invocation at a time, as one execution environment: module-level state (Powertools' resolver
        # keeps the current event on the app object) is not shared between concurrent requests.
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _request_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        prefix = "" if self.stage == "$default" else f"/{self.stage}"
        return f"http://{host!s}:{port}{prefix}"

    def start(self) -> HttpApiServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="http-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> HttpApiServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def respond(self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes) -> _Answer:
        """Route, build the event, invoke, and turn the result into the HTTP answer."""
        path = unquote(urlsplit(target).path)
        if self.stage != "$default":
            prefix = f"/{self.stage}"
            if path != prefix and not path.startswith(prefix + "/"):
                return _json_answer(HTTPStatus.NOT_FOUND, "Not Found")
            path = path[len(prefix) :] or "/"
        matched = self._route(method, path)
        if matched is None:
            return _json_answer(HTTPStatus.NOT_FOUND, "Not Found")
        route, parameters = matched
        host = next((v for k, v in headers if k.lower() == "host"), "127.0.0.1").split(":")[0]
        event = build_event(
            method,
            target,
            headers,
            body,
            route_key=route.key,
            path_parameters=parameters,
            stage=self.stage,
            host=host,
        )
        context = LocalContext(function_name=self.function_name, timeout_seconds=self.timeout_seconds)
        with self._lock:
            try:
                result = self.handler(event, context)
            except Exception:
                logger.exception("the handler raised")
                return _json_answer(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")
        try:
            return answer_of(result)
        except (TypeError, ValueError, KeyError):
            logger.exception("the handler's answer is not a payload v2 response")
            return _json_answer(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error")

    def _route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        # API Gateway prefers the most specific route: greedy and $default routes come last.
        for route in sorted(self.routes, key=_specificity):
            parameters = route.match(method, path)
            if parameters is not None:
                return route, parameters
        return None


def _specificity(route: Route) -> tuple[int, int]:
    greedy = route.pattern is None or "+}" in route.key
    return (1 if greedy else 0, -len(route.key))


def _request_handler(server: HttpApiServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "devstack-http-api"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_PAYLOAD_BYTES:
                self._write(_json_answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Entity Too Large"))
                self.close_connection = True
                return
            body = self.rfile.read(length) if length else b""
            answer = server.respond(self.command, self.path, list(self.headers.items()), body)
            self._write(answer)

        def _write(self, answer: _Answer) -> None:
            self.send_response(answer.status)
            for name, value in answer.headers:
                if name.lower() not in _NOT_FORWARDED:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Apigw-Requestid", uuid.uuid4().hex[:16])
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(answer.body)

        def __getattr__(self, name: str) -> Any:
            # Every method reaches the routing, as at API Gateway: TRACE or PROPFIND on no route is a 404.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

    return RequestHandler


def routes_of(events: Mapping[str, Any]) -> Iterator[str]:
    """Route keys of a SAM function's resolved ``Events`` (HttpApi events only)."""
    for event in events.values():
        if isinstance(event, Mapping) and event.get("Type") == "HttpApi":
            properties = event.get("Properties") or {}
            yield f"{str(properties.get('Method', 'ANY')).upper()} {properties.get('Path', '$default')}"
