"""``python -m devstack package`` builds a layer zip for python3.13/arm64: test folders and stale bytecode
stripped, bytecode precompiled by a CPython 3.13 as unchecked-hash .pyc, a reproducible zip, a size check.

These tests build a small layer without requirements, so pip and the network are not involved; the pip
command for the real layer is checked as a command line.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from devstack import package

REPO = Path(__file__).resolve().parents[2]


def target_python() -> str | None:
    try:
        return package.find_target_python(None)
    except package.PackageError:
        return None


needs_python_313 = pytest.mark.skipif(target_python() is None, reason="no CPython 3.13 on this machine")


@pytest.fixture
def layer(tmp_path: Path) -> Path:
    root = tmp_path / "layer"
    (root / "pkg" / "tests").mkdir(parents=True)
    (root / "pkg" / "__pycache__").mkdir()
    (root / "requirements.txt").write_text(
        "# nothing: Powertools and boto3 come from Lambda\n", encoding="utf-8"
    )
    (root / "pkg" / "__init__.py").write_text("VALUE = 42\n", encoding="utf-8")
    (root / "pkg" / "core.py").write_text("def answer() -> int:\n    return 42\n", encoding="utf-8")
    (root / "pkg" / "tests" / "test_core.py").write_text("def test() -> None: ...\n", encoding="utf-8")
    (root / "pkg" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"stale 3.11 bytecode")
    return root


def run_package(layer: Path, *args: str) -> subprocess.CompletedProcess[str]:
    build = layer.parent / "build"
    where = ["--layer", str(layer), "--package", "pkg", "--build-dir", str(build / "layer")]
    return subprocess.run(
        [sys.executable, "-m", "devstack", "package", *where, "--zip", str(build / "layer.zip"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def names_in(zip_path: Path) -> set[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return set(archive.namelist())


@needs_python_313
def test_layer_zip_holds_sources_and_python_313_bytecode_but_no_tests(layer: Path) -> None:
    completed = run_package(layer)

    assert completed.returncode == 0, completed.stderr
    names = names_in(layer.parent / "build" / "layer.zip")
    assert names == {
        "python/pkg/__init__.py",
        "python/pkg/core.py",
        "python/pkg/__pycache__/__init__.cpython-313.pyc",
        "python/pkg/__pycache__/core.cpython-313.pyc",
    }
    assert "MB unzipped" in completed.stdout
    assert "unchecked-hash .pyc for Python 3.13" in completed.stdout


@needs_python_313
def test_bytecode_is_unchecked_hash_for_python_313(layer: Path) -> None:
    run_package(layer)

    pyc = layer.parent / "build" / "layer" / "python" / "pkg" / "__pycache__" / "core.cpython-313.pyc"
    header = pyc.read_bytes()[:8]
    probe = "import importlib.util, sys; sys.stdout.write(importlib.util.MAGIC_NUMBER.hex())"
    python_313 = target_python()
    assert python_313 is not None
    magic = subprocess.run([python_313, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert header[:4].hex() == magic
    assert magic != importlib.util.MAGIC_NUMBER.hex()  # this interpreter's bytecode would be ignored
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked


@needs_python_313
def test_two_builds_give_the_same_zip(layer: Path) -> None:
    zip_path = layer.parent / "build" / "layer.zip"
    run_package(layer)
    first = zip_path.read_bytes()
    os.utime(layer / "pkg" / "core.py", (0, 0))  # a different mtime must not change the artifact

    run_package(layer)

    assert zip_path.read_bytes() == first


def test_no_bytecode_builds_sources_only_and_says_so(layer: Path) -> None:
    completed = run_package(layer, "--no-bytecode")

    assert completed.returncode == 0, completed.stderr
    assert names_in(layer.parent / "build" / "layer.zip") == {"python/pkg/__init__.py", "python/pkg/core.py"}
    assert "bytecode: none" in completed.stdout


def test_layer_over_the_size_limit_fails_the_build(layer: Path) -> None:
    completed = run_package(layer, "--no-bytecode", "--max-mb", "0.00001")

    assert completed.returncode == 2
    assert "MB unzipped, over 1e-05 MB" in completed.stderr


def test_a_python_that_is_not_313_is_refused_for_bytecode(layer: Path) -> None:
    if sys.version_info[:2] == package.TARGET_VERSION:
        pytest.skip("this interpreter is the target")

    completed = run_package(layer, "--target-python", sys.executable)

    assert completed.returncode == 2
    assert "is not a CPython 3.13" in completed.stderr


def test_packages_lambda_provides_are_refused(tmp_path: Path) -> None:
    (tmp_path / "boto3").mkdir()

    with pytest.raises(package.PackageError, match="boto3 got into the layer"):
        package.refuse_provided(tmp_path)


def test_pip_installs_for_lambda_arm64_python_313_without_local_bytecode() -> None:
    command = package.pip_command(Path("requirements.txt"), Path("build/layer/python"))

    joined = " ".join(command)
    assert "--platform manylinux2014_aarch64" in joined
    assert "--python-version 3.13" in joined
    assert "--implementation cp" in joined
    assert "--only-binary=:all:" in command
    assert "--no-compile" in command
    assert "--target build/layer/python" in joined
