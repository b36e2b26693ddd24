"""Everything the emulator holds. One instance per server; only the event loop's thread touches it."""

from __future__ import annotations

from collections.abc import Callable

from devstack.jira_emulator.auth import AccessToken
from devstack.jira_emulator.clock import Clock
from devstack.jira_emulator.config import EmulatorConfig
from devstack.jira_emulator.faults import FaultBook
from devstack.jira_emulator.install import InstallSigner
from devstack.jira_emulator.ratelimit import RateLimiter
from devstack.jira_emulator.stats import Stats
from devstack.jira_emulator.tenants import TenantRegistry

__all__ = ["EmulatorState"]


class EmulatorState:
    def __init__(self, config: EmulatorConfig, *, signer: InstallSigner | None = None) -> None:
        #: The config given at start-up; ``POST /__emu/reset`` returns to it.
        self.initial_config = config
        self.config = config
        self.root_url = ""
        self.clock = Clock()
        self.tenants = TenantRegistry()
        self.access_tokens: dict[str, AccessToken] = {}
        self.faults = FaultBook()
        self.limits = RateLimiter()
        self.stats = Stats()
        #: Keys survive a reset: an app may have cached the public key by ``kid``.
        self.signer = signer or InstallSigner()
        #: Open TCP connections right now; the server wires this up.
        self.active_connections: Callable[[], int] = lambda: 0

    def reset(self) -> None:
        """Forget tenants, issues, tokens, faults, counters, clock changes and runtime config changes."""
        self.config = self.initial_config
        self.clock.reset()
        self.tenants.clear()
        self.access_tokens.clear()
        self.faults.clear()
        self.limits.reset()
        self.stats.reset()

    @property
    def root(self) -> str:
        return self.config.public_url.rstrip("/") if self.config.public_url else self.root_url
