"""Images that Dockerfile and compose.yaml name, pulled or, where no registry answers, built as
stand-ins from ci/standins/ (see its README) and tagged with the same names."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent / "standins"
DEBIAN = "maisie-smoke/debian:bookworm"  # the stand-ins' base, made by debootstrap
PYTHON = "python:3.11-slim-bookworm"


class SmokeFailed(Exception):
    pass


def run(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise SmokeFailed(f"{' '.join(args[:4])} failed ({done.returncode}):\n{output}")
    return done


def docker(*args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    # The classic builder: BuildKit would fetch its Dockerfile frontend from a registry.
    return run("docker", *args, check=check, env={**os.environ, "DOCKER_BUILDKIT": "0", **(env or {})})


def engine_answers() -> bool:
    return docker("info", check=False).returncode == 0


def _present(tag: str) -> bool:
    return docker("image", "inspect", tag, check=False).returncode == 0


def _debian_base() -> None:
    if _present(DEBIAN):
        return
    if not shutil.which("debootstrap"):
        raise SmokeFailed("no image registry answers and debootstrap is not installed to build stand-ins")
    with tempfile.TemporaryDirectory(prefix="maisie-rootfs-") as rootfs:
        run("debootstrap", "--variant=minbase", "bookworm", rootfs, "http://deb.debian.org/debian")
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        run("docker", "import", "-", DEBIAN, stdin=tar.stdout)
        tar.wait()


def ensure(tag: str, standin: str, **build_args: str) -> str:
    """`tag` present locally, pulled, or built from ci/standins/<standin>; says which."""
    if _present(tag):
        return "present"
    if docker("pull", tag, check=False).returncode == 0:
        return "pulled"
    _debian_base()
    if standin != "python":
        ensure(PYTHON, "python")  # the minio stand-in runs moto on it
    with tempfile.TemporaryDirectory(prefix="maisie-standin-") as context:
        shutil.copytree(HERE / standin, context, dirs_exist_ok=True)
        certs = Path(context) / "certs"
        certs.mkdir(exist_ok=True)
        for cert in Path("/usr/local/share/ca-certificates").glob("*.crt"):  # the egress proxy's CA
            shutil.copy(cert, certs / cert.name)
        flags = [arg for key, value in build_args.items() for arg in ("--build-arg", f"{key}={value}")]
        docker("build", "-t", tag, *flags, context)
    return "stand-in (no registry answered)"


def report(name: str, smoke: Callable[[], None]) -> None:
    """Run a smoke script's checks: `<name>: passed`, or what failed and exit 1."""
    try:
        smoke()
    except SmokeFailed as failure:
        print(f"{name}: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
    print(f"{name}: passed")
