"""Shared test set-up: each test is marked by the folder it lives in (unit, integration, e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent


def _find_spec() -> Path:
    # shared/ sits beside the checkout (CI, /work/main) or further up (extra worktrees).
    for folder in TESTS.parents:
        candidate = folder / "shared" / "spec"
        if candidate.is_dir():
            return candidate
    raise RuntimeError("shared/spec (the project's specs and vectors) was not found beside the checkout")


SPEC = _find_spec()
FOLDER_MARKS = ("unit", "integration", "e2e")

pytest_plugins = ["tests.fixtures.emulator", "tests.fixtures.aws"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.path)).relative_to(TESTS)
        if relative.parts and relative.parts[0] in FOLDER_MARKS:
            item.add_marker(getattr(pytest.mark, relative.parts[0]))
