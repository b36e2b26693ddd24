"""A small synchronous client for the ``/__emu`` control surface (stdlib only), for tests, tools and benches.

Keyword arguments are snake_case and sent as the control surface's camelCase (``client_key`` ->
``clientKey``); nested values (a descriptor, projects) are sent as given.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["EmulatorControl", "EmulatorControlError"]

DEFAULT_TIMEOUT_SECONDS = 10.0


class EmulatorControlError(RuntimeError):
    """The control surface answered an error."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"emulator control call failed with {status}: {body}")
        self.status = status
        self.body = body


class EmulatorControl:
    """The control surface of the emulator whose root URL is ``url``."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the emulator URL must be http(s), got {url!r}")
        self.url = url.rstrip("/")
        self.timeout = timeout

    def add_tenant(self, **tenant: Any) -> dict[str, Any]:
        """POST /__emu/tenants: ``key``, ``client_key``, ``shared_secret`` and the optional fields."""
        return self._call("POST", "/__emu/tenants", _camel_keys(tenant))

    def tenants(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/__emu/tenants")["tenants"]
        return result

    def uninstall(self, client_key: str, *, app_base_url: str | None = None) -> dict[str, Any]:
        body = {"appBaseUrl": app_base_url} if app_base_url else {}
        return self._call("POST", f"/__emu/tenants/{urllib.parse.quote(client_key, safe='')}/uninstall", body)

    def issues(self, client_key: str | None = None) -> list[dict[str, Any]]:
        query = f"?clientKey={urllib.parse.quote(client_key, safe='')}" if client_key else ""
        result: list[dict[str, Any]] = self._call("GET", f"/__emu/issues{query}")["issues"]
        return result

    def add_fault(self, **fault: Any) -> dict[str, Any]:
        """POST /__emu/faults, e.g. ``add_fault(mode="error_before_commit", status=503, retry_after=2)``."""
        return self._call("POST", "/__emu/faults", _camel_keys(fault))

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/__emu/faults")["faults"]
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/__emu/faults")

    def reset(self) -> None:
        self._call("POST", "/__emu/reset")

    def stats(self) -> dict[str, Any]:
        return self._call("GET", "/__emu/stats")

    def clock(self, *, freeze: bool | None = None, advance: float = 0) -> dict[str, Any]:
        body: dict[str, Any] = {"advance": advance}
        if freeze is not None:
            body["freeze"] = freeze
        return self._call("POST", "/__emu/clock", body)

    def config(self) -> dict[str, Any]:
        return self._call("GET", "/__emu/config")

    def configure(self, patch: dict[str, Any]) -> dict[str, Any]:
        """POST /__emu/config with a partial, camelCase config (see devstack/README.md)."""
        return self._call("POST", "/__emu/config", patch)

    def install_key(self, kid: str) -> str:
        url = f"{self.url}/__emu/install-keys/{urllib.parse.quote(kid, safe='')}"
        request = urllib.request.Request(url)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                text: str = response.read().decode("ascii")
                return text
        except urllib.error.HTTPError as error:
            raise EmulatorControlError(error.code, error.read().decode("utf-8", "replace")) from None

    def _call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)  # noqa: S310
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                result: dict[str, Any] = json.loads(response.read() or b"{}")
                return result
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                detail: Any = json.loads(raw)
            except ValueError:
                detail = raw.decode("utf-8", "replace")
            raise EmulatorControlError(error.code, detail) from None


def _camel_keys(values: dict[str, Any]) -> dict[str, Any]:
    def camel(name: str) -> str:
        head, *rest = name.split("_")
        return head + "".join(part[:1].upper() + part[1:] for part in rest)

    return {camel(k): v for k, v in values.items() if v is not None}
