"""The aiohttp application and the two ways to run it: :func:`serve` (the CLI, in the main thread) and
:class:`EmulatorServer` (in-process, a background thread with its own event loop, for tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from devstack.jira_emulator.config import EmulatorConfig
from devstack.jira_emulator.control import PREFIX, add_control_routes
from devstack.jira_emulator.pipeline import STATE, RouteSpec, render, run_tenant_route
from devstack.jira_emulator.replies import JiraError
from devstack.jira_emulator.routes import OAUTH_TOKEN, TENANT_ROUTES
from devstack.jira_emulator.routes.oauth import oauth_token
from devstack.jira_emulator.state import EmulatorState
from devstack.jira_emulator.stats import ANONYMOUS_OWNER

__all__ = ["EmulatorServer", "RunningEmulator", "build_app", "serve", "start"]

LOG = logging.getLogger("devstack.jira_emulator")
TENANT_PREFIX = "/t/{slug}"
#: Enough for hundreds of clients connecting at once (the default 128 drops SYNs under load).
LISTEN_BACKLOG = 2048
MAX_BODY_BYTES = 10 * 1024 * 1024
START_TIMEOUT_SECONDS = 30.0
#: How long a stop waits for requests in flight.
SHUTDOWN_SECONDS = 2.0


def build_app(state: EmulatorState) -> web.Application:
    app = web.Application(middlewares=[_edge], client_max_size=MAX_BODY_BYTES)
    app[STATE] = state
    add_control_routes(app)
    for spec in TENANT_ROUTES:
        path = TENANT_PREFIX + spec.template.replace("{v}", "{v:[23]}")
        app.router.add_route(spec.method, path, _tenant_handler(spec))
    app.router.add_route(OAUTH_TOKEN.method, OAUTH_TOKEN.template, oauth_token)
    return app


def _tenant_handler(spec: RouteSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await run_tenant_route(request, spec)

    return handler


@web.middleware
async def _edge(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unknown routes (404) and wrong methods (405) in Jira's error shape (spec E2)."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as error:
        state = request.app[STATE]
        if not request.path.startswith(PREFIX):
            state.stats.record(ANONYMOUS_OWNER, f"{request.method} <unmatched>", str(error.status))
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        message = "Not found." if error.status == 404 else f"Method {request.method} is not allowed here."
        return render(JiraError(error.status, [message], headers=headers).to_reply(), state.config)


class _CountingSite(web.BaseSite):
    """A TCP site that counts accepted connections (``connectionsAccepted``)."""

    __slots__ = ("_bound_port", "_host", "_port", "_state")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, state: EmulatorState) -> None:
        super().__init__(runner, backlog=LISTEN_BACKLOG)
        self._host, self._port, self._state = host, port, state
        self._bound_port: int | None = None

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        return self._bound_port if self._bound_port is not None else self._port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        stats = self._state.stats

        def protocol() -> asyncio.Protocol:
            stats.connections_accepted += 1
            return server()

        loop = asyncio.get_running_loop()
        server_socket = await loop.create_server(
            protocol, self._host, self._port, backlog=self._backlog, reuse_address=True
        )
        self._server = server_socket
        self._bound_port = int(server_socket.sockets[0].getsockname()[1])


class RunningEmulator:
    """A started emulator inside a running event loop."""

    def __init__(self, runner: web.AppRunner, site: _CountingSite, state: EmulatorState) -> None:
        self.runner, self.site, self.state = runner, site, state

    @property
    def url(self) -> str:
        return self.state.root

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
    """Start listening on ``host:port`` (0: a free port) in the running loop."""
    state = EmulatorState(config)
    app = build_app(state)
    runner = web.AppRunner(
        app,
        access_log=LOG if config.access_log else None,
        handle_signals=False,
        shutdown_timeout=SHUTDOWN_SECONDS,
    )
    await runner.setup()
    site = _CountingSite(runner, host, port, state)
    await site.start()
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    state.root_url = f"http://{shown_host}:{site.port}"
    server = runner.server
    state.active_connections = lambda: len(server.connections) if server is not None else 0
    return RunningEmulator(runner, site, state)


async def serve(config: EmulatorConfig, host: str, port: int, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; print the one line with the root URL once connections are accepted."""
    running = await start(config, host, port)
    print(f"Jira emulator listening on {running.url}", flush=True)
    try:
        await stop.wait()
    finally:
        await running.stop()


class EmulatorServer:
    """The emulator on a background thread: ``with EmulatorServer(config) as server: server.url``."""

    def __init__(
        self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or EmulatorConfig()
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._running: RunningEmulator | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        if self._running is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return self._running.url

    @property
    def state(self) -> EmulatorState:
        """For in-process inspection; mutate it only through the control surface (it is not thread-safe)."""
        if self._running is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return self._running.state

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            raise RuntimeError("already started")
        self._thread = threading.Thread(target=self._run, name="jira-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_SECONDS):
            raise RuntimeError("the emulator did not start in time")
        if self._failure is not None:
            raise RuntimeError("the emulator failed to start") from self._failure
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop may already be closed
            loop.call_soon_threadsafe(loop.stop)
        thread.join(START_TIMEOUT_SECONDS)
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._running = loop.run_until_complete(start(self.config, self.host, self.port))
        except BaseException as error:  # reported to start() in the calling thread
            self._failure = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._running.stop())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def log_to_stderr(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    LOG.addHandler(handler)
    LOG.setLevel(level)
