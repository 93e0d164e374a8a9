"""The geth binary: discovery (``GRIDLEDGER_GETH``, ``PATH``, the build cache) and a
``go install`` build of the one release line that seals Clique blocks."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ledger.engines.clique.errors import GethNotAvailableError
from ledger.engines.clique.files import file_lock

log = logging.getLogger(__name__)

#: The go-ethereum release the consortium is built and tested with.
GETH_VERSION = "1.13.15"
#: The Go package ``go install`` builds.
GETH_PACKAGE = "github.com/ethereum/go-ethereum/cmd/geth"
#: Only this release line seals Clique blocks (1.14 dropped pre-merge sealing).
GETH_SUPPORTED_PREFIX = "1.13."


@dataclass(frozen=True)
class GethBinary:
    """A geth executable and the version it reports."""

    path: Path
    version: str


def geth_cache_dir() -> Path:
    """The stable build cache of geth: ``GRIDLEDGER_GETH_CACHE`` or the user cache dir."""
    explicit = os.environ.get("GRIDLEDGER_GETH_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    cache = Path(base) if base else Path.home() / ".cache"
    return cache / "gridledger" / f"geth-v{GETH_VERSION}"


def geth_version(path: Path) -> str | None:
    """The version ``path version`` reports (e.g. ``1.13.15``), or None if it fails."""
    try:
        out = subprocess.run(
            [str(path), "version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    match = re.search(r"^Version:\s*(\d+\.\d+\.\d+)", out.stdout, re.MULTILINE)
    return match.group(1) if match else None


def usable_geth(path: Path) -> GethBinary | None:
    if not path.is_file() or not os.access(path, os.X_OK):
        return None
    version = geth_version(path)
    if version is None or not version.startswith(GETH_SUPPORTED_PREFIX):
        return None
    return GethBinary(path=path.resolve(), version=version)


def find_geth(cache_dir: Path | None = None) -> GethBinary | None:
    """A usable geth 1.13.x without building: ``GRIDLEDGER_GETH``, ``PATH``, then the cache.

    Raises:
        GethNotAvailableError: ``GRIDLEDGER_GETH`` names a binary that is not geth 1.13.x.
    """
    explicit = os.environ.get("GRIDLEDGER_GETH")
    if explicit:
        found = usable_geth(Path(explicit).expanduser())
        if found is None:
            raise GethNotAvailableError(
                f"GRIDLEDGER_GETH={explicit} is not a geth {GETH_SUPPORTED_PREFIX}x binary"
            )
        return found
    on_path = shutil.which("geth")
    if on_path:
        found = usable_geth(Path(on_path))
        if found is not None:
            return found
        log.info("ignoring %s: not geth %sx", on_path, GETH_SUPPORTED_PREFIX)
    return usable_geth((cache_dir or geth_cache_dir()) / "geth")


def find_go() -> Path | None:
    """The Go toolchain: ``go`` on PATH, else ``/usr/local/go/bin/go``."""
    on_path = shutil.which("go")
    if on_path:
        return Path(on_path)
    fallback = Path("/usr/local/go/bin/go")
    return fallback if fallback.is_file() else None


def go_version(go: Path) -> tuple[int, int]:
    """The (major, minor) version of a Go toolchain.

    Raises:
        GethNotAvailableError: the toolchain does not run.
    """
    try:
        out = subprocess.run(
            [str(go), "env", "GOVERSION"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "GOTOOLCHAIN": "local"},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise GethNotAvailableError(f"`{go} env GOVERSION` failed: {exc}") from exc
    match = re.match(r"go(\d+)\.(\d+)", out.stdout.strip())
    if out.returncode != 0 or match is None:
        raise GethNotAvailableError(
            f"`{go} env GOVERSION` failed (exit {out.returncode}): "
            f"{(out.stderr or out.stdout).strip()}"
        )
    return int(match.group(1)), int(match.group(2))


def geth_build_command(go: Path, version: tuple[int, int]) -> list[str]:
    """The ``go install`` command line for geth v1.13.15.

    Go 1.23+ refuses the ``//go:linkname`` pulls of that release's dependencies unless
    the linker check is switched off.
    """
    cmd = [str(go), "install"]
    if version >= (1, 23):
        cmd.append("-ldflags=-checklinkname=0")
    cmd.append(f"{GETH_PACKAGE}@v{GETH_VERSION}")
    return cmd


def build_geth(
    cache_dir: Path | None = None, *, go: Path | None = None, timeout_s: float = 3600.0
) -> GethBinary:
    """Build geth v1.13.15 with ``go install`` into ``cache_dir`` (GOBIN) and return it.

    A file lock serialises concurrent builds; a binary that appeared meanwhile is reused.

    Raises:
        GethNotAvailableError: no Go toolchain, or the build failed (the message carries
            the command and the end of its output).
    """
    target = cache_dir or geth_cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    with file_lock(target / ".build.lock"):
        existing = usable_geth(target / "geth")
        if existing is not None:
            return existing
        go_bin = go or find_go()
        if go_bin is None:
            raise GethNotAvailableError(
                f"geth {GETH_SUPPORTED_PREFIX}x is not installed and no Go toolchain was "
                f"found to build it; install Go or put geth v{GETH_VERSION} on PATH"
            )
        cmd = geth_build_command(go_bin, go_version(go_bin))
        env = {**os.environ, "GOBIN": str(target.resolve()), "GOTOOLCHAIN": "local"}
        log.info("building geth: %s (GOBIN=%s)", " ".join(cmd), target)
        try:
            out = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                check=False,
                env=env,
                cwd=target,
            )
        except subprocess.TimeoutExpired as exc:
            raise GethNotAvailableError(
                f"`{' '.join(cmd)}` did not finish within {timeout_s:g} s"
            ) from exc
        except OSError as exc:
            raise GethNotAvailableError(f"`{' '.join(cmd)}` could not run: {exc}") from exc
        if out.returncode != 0:
            tail = " | ".join((out.stderr or out.stdout).strip().splitlines()[-8:])
            raise GethNotAvailableError(f"`{' '.join(cmd)}` failed (exit {out.returncode}): {tail}")
        built = usable_geth(target / "geth")
        if built is None:
            raise GethNotAvailableError(
                f"`{' '.join(cmd)}` succeeded but {target / 'geth'} is not geth "
                f"{GETH_SUPPORTED_PREFIX}x"
            )
        return built


def ensure_geth(cache_dir: Path | None = None, *, build: bool = True) -> GethBinary:
    """A usable geth 1.13.x: found (:func:`find_geth`) or, if ``build``, built once.

    Raises:
        GethNotAvailableError: none found and building is off or failed.
    """
    found = find_geth(cache_dir)
    if found is not None:
        return found
    if not build:
        raise GethNotAvailableError(
            f"no geth {GETH_SUPPORTED_PREFIX}x found (GRIDLEDGER_GETH, PATH, "
            f"{(cache_dir or geth_cache_dir()) / 'geth'})"
        )
    return build_geth(cache_dir)
