"""Build the jira_connect layer for its Lambda target (python3.13, arm64) and report its unzipped size.

Steps, each a function below:

1. ``pip install -r layers/jira_connect/requirements.txt`` into ``build/layer/python`` for the target, not
   for this machine: ``--platform manylinux2014_aarch64 --python-version 3.13 --implementation cp
   --only-binary=:all:`` (and ``--no-compile``: this interpreter's bytecode is of no use to Lambda);
2. copy the ``jira_connect`` package beside them;
3. strip what Lambda never imports: ``__pycache__``, ``tests``, ``bin/`` (console scripts), ``*.pyc``;
4. refuse the packages Lambda provides (boto3, botocore, Powertools): they would only add megabytes;
5. precompile every module with ``python3.13 -m compileall --invalidation-mode unchecked-hash``, so a cold
   start loads bytecode instead of compiling. It must be a CPython 3.13: a ``.pyc`` carries its
   interpreter's magic number and Python 3.13 ignores (and silently recompiles, in memory, at every cold
   start) one written by 3.11. The 3.13 is looked for as ``--target-python``/``TARGET_PYTHON``, this
   interpreter if it is 3.13, ``python3.13`` on PATH, then pyenv's versions; without one the build fails
   (``--no-bytecode`` builds without, and says so). ``unchecked-hash`` because the zip's timestamps are
   not the sources' and Lambda's file system is read-only: the bytecode is trusted as built;
6. zip ``python/...`` into ``build/jira-connect-layer.zip`` reproducibly (sorted, fixed timestamps);
7. report the unzipped size, and fail above ``--max-mb`` (5 MB: the layer holds no Powertools).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["PackageError", "add_arguments", "find_target_python", "run"]

TARGET_VERSION: Final = (3, 13)
TARGET_PLATFORMS: Final = (
    "manylinux2014_aarch64",
    # Lambda's python3.13 runs on Amazon Linux 2023 (glibc 2.34): wheels that dropped the 2014 tag fit too.
    "manylinux_2_28_aarch64",
)
PROVIDED_BY_LAMBDA: Final = ("boto3", "botocore", "s3transfer", "aws_lambda_powertools")
STRIPPED_DIRS: Final = frozenset({"__pycache__", "tests", "test"})
#: The zip's timestamp for every entry: the earliest a zip can hold, so two builds are byte-identical.
ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)
MEGABYTE: Final = 1_000_000


class PackageError(RuntimeError):
    """The layer cannot be built as the target needs it."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layer", default="layers/jira_connect", help="layer folder (default: %(default)s)")
    parser.add_argument("--package", default="jira_connect", help="package to copy (default: %(default)s)")
    parser.add_argument("--build-dir", default="build/layer", help="default: %(default)s")
    parser.add_argument("--zip", default="build/jira-connect-layer.zip", help="default: %(default)s")
    parser.add_argument(
        "--max-mb", type=float, default=5.0, help="size limit, unzipped (default: %(default)s)"
    )
    parser.add_argument("--target-python", default=os.environ.get("TARGET_PYTHON"), help="a CPython 3.13")
    parser.add_argument("--no-bytecode", action="store_true", help="build without .pyc (cold starts compile)")


@dataclass(frozen=True)
class Report:
    unzipped_bytes: int
    zipped_bytes: int
    files: int
    by_top_level: dict[str, int]
    bytecode_by: str | None


def run(args: argparse.Namespace) -> int:
    layer = Path(args.layer)
    python_dir = Path(args.build_dir) / "python"
    zip_path = Path(args.zip)
    target_python = None if args.no_bytecode else find_target_python(args.target_python)

    _clean(python_dir.parent)
    install_requirements(layer / "requirements.txt", python_dir)
    copy_package(layer / args.package, python_dir / args.package)
    strip(python_dir)
    refuse_provided(python_dir)
    if target_python is not None:
        precompile(python_dir, target_python)
    report = write_zip(python_dir, zip_path, bytecode_by=target_python)
    print_report(report, zip_path, max_mb=args.max_mb)
    if report.unzipped_bytes > args.max_mb * MEGABYTE:
        raise PackageError(
            f"the layer is {report.unzipped_bytes / MEGABYTE:.2f} MB unzipped, over {args.max_mb} MB"
        )
    return 0


def _clean(build_dir: Path) -> None:
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)


def _has_requirements(requirements: Path) -> bool:
    lines = requirements.read_text(encoding="utf-8").splitlines() if requirements.is_file() else []
    return any(line.strip() and not line.lstrip().startswith("#") for line in lines)


def pip_command(requirements: Path, target: Path) -> list[str]:
    """The pip command that installs ``requirements`` for Lambda's python3.13 on arm64 into ``target``."""
    platforms = [arg for platform in TARGET_PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--requirement",
        str(requirements),
        "--target",
        str(target),
        *platforms,
        "--python-version",
        ".".join(map(str, TARGET_VERSION)),
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "--no-compile",
    ]


def install_requirements(requirements: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if not _has_requirements(requirements):
        return
    completed = subprocess.run(pip_command(requirements, target), check=False)
    if completed.returncode != 0:
        raise PackageError(
            f"pip could not install {requirements} for the target (exit {completed.returncode})"
        )


def copy_package(source: Path, destination: Path) -> None:
    if not (source / "__init__.py").is_file():
        raise PackageError(f"{source} is not a Python package")
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(*STRIPPED_DIRS, "*.pyc"))


def strip(root: Path) -> None:
    """Remove what Lambda never imports. Only test folders inside a package count (a package may be
    named ``test``)."""
    for path in sorted(root.rglob("*"), reverse=True):  # children before parents
        is_package_tests = path.name in STRIPPED_DIRS and (path.parent / "__init__.py").exists()
        if path.is_dir() and (path.name == "__pycache__" or is_package_tests):
            shutil.rmtree(path)
        elif path.is_file() and path.suffix == ".pyc":
            path.unlink()
    if (root / "bin").is_dir():
        shutil.rmtree(root / "bin")  # console scripts of the installed packages: never run in a layer


def refuse_provided(root: Path) -> None:
    found = [name for name in PROVIDED_BY_LAMBDA if (root / name).exists()]
    if found:
        raise PackageError(
            f"{', '.join(found)} got into the layer (through requirements.txt?): Lambda provides them "
            "(boto3 in the runtime, Powertools as an AWS-managed layer)"
        )


def find_target_python(explicit: str | None) -> str:
    """A CPython 3.13 to write bytecode with; :class:`PackageError` when there is none."""
    candidates: list[str] = []
    if explicit:
        candidates.append(explicit)
    if sys.version_info[:2] == TARGET_VERSION:
        candidates.append(sys.executable)
    version = ".".join(map(str, TARGET_VERSION))
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates.extend(
        str(p) for p in sorted((pyenv_root / "versions").glob(f"{version}*/bin/python{version}"))[::-1]
    )
    for candidate in candidates:
        if _is_target_cpython(candidate):
            return candidate
        if candidate == explicit:
            raise PackageError(f"--target-python {explicit} is not a CPython {version}")
    raise PackageError(
        f"no CPython {version} found to precompile bytecode for Lambda's python{version} "
        f"(looked at TARGET_PYTHON, python{version} on PATH, {pyenv_root}/versions); "
        "install one, or pass --no-bytecode to build without (every cold start then compiles the layer)"
    )


def _is_target_cpython(python: str) -> bool:
    probe = "import sys; print(sys.implementation.name, *sys.version_info[:2])"
    try:
        completed = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, check=False)
    except OSError:
        return False
    expected = " ".join(["cpython", *map(str, TARGET_VERSION)])
    return completed.returncode == 0 and completed.stdout.strip() == expected


def precompile(root: Path, python: str) -> None:
    # -s/-p record /opt/python paths (where Lambda puts the layer) in the bytecode, not this build folder.
    command = [
        python,
        "-I",
        "-m",
        "compileall",
        "-q",
        "--invalidation-mode",
        "unchecked-hash",
        "-s",
        str(root),
        "-p",
        "/opt/python",
        str(root),
    ]
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        raise PackageError(f"compileall failed (exit {completed.returncode})")


def write_zip(root: Path, zip_path: Path, *, bytecode_by: str | None) -> Report:
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    by_top: dict[str, int] = defaultdict(int)
    total = files = 0
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root)
            info = zipfile.ZipInfo(f"python/{relative.as_posix()}", date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = os.access(path, os.X_OK)
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            data = path.read_bytes()
            archive.writestr(info, data)
            total += len(data)
            files += 1
            by_top[_top_level_name(relative)] += len(data)
    return Report(total, zip_path.stat().st_size, files, dict(by_top), bytecode_by)


def _top_level_name(relative: Path) -> str:
    name = relative.parts[0]
    if name.endswith(".dist-info"):
        return "(package metadata)"
    return name.removesuffix(".py")


def print_report(report: Report, zip_path: Path, *, max_mb: float) -> None:
    unzipped_mb, zipped_mb = report.unzipped_bytes / MEGABYTE, report.zipped_bytes / MEGABYTE
    version = ".".join(map(str, TARGET_VERSION))
    lines = [
        f"layer: {zip_path}: {unzipped_mb:.2f} MB unzipped ({report.unzipped_bytes:,} bytes in "
        f"{report.files} files; limit {max_mb:g} MB without Powertools), {zipped_mb:.2f} MB zipped",
        f"bytecode: unchecked-hash .pyc for Python {version}, written by {report.bytecode_by}"
        if report.bytecode_by
        else "bytecode: none (--no-bytecode): every cold start compiles the layer",
        *(
            f"  {size / MEGABYTE:7.3f} MB  {name}"
            for name, size in sorted(report.by_top_level.items(), key=lambda item: -item[1])
        ),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
