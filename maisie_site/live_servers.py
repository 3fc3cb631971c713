"""Real server processes for tests, CI and benchmarks: moto's S3 server, Maisie under gunicorn,
and any other server (runserver for the client's tests, MLflow in bench/) through ServerProcess.

The one place that starts them: the server suite, ci/, bench/ and client/tests all import it.
Standard library only, so `bench/` scripts and the client's tests import it too. Each process
starts in its own session, so stopping it stops its whole tree (gunicorn's workers too), and
every wait is bounded.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
START_SECONDS = 60
STOP_SECONDS = 15
PORT_TRIES = 3  # another process may take a free port between our probe and the server's bind


class ServerError(RuntimeError):
    """A server could not be started; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(port: int, path: str, timeout: float = 2.0) -> int | None:
    """The status of a GET on loopback, or None when nothing answers yet."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return None
    finally:
        conn.close()


class ServerProcess:
    """One server process (and its children), its log file, and how to tell it is ready: a GET of
    `ready_path` answered below 500, or with `ready_path=None` a connection accepted on its port."""

    def __init__(
        self,
        name: str,
        command: list[str],
        port: int,
        env: dict[str, str],
        log_path: Path,
        ready_path: str | None,
        cwd: Path = REPO,
    ):
        self.name = name
        self.command = command
        self.port = port
        self.env = env
        self.log_path = log_path
        self.ready_path = ready_path
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 (a command the caller wrote, never user input)
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, lines: int = 40) -> str:
        with suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def wait_ready(self, timeout: float = START_SECONDS) -> bool:
        """True once the server is ready (see the class); False if the process exited first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            if self._answers():
                return True
            time.sleep(0.1)
        self.stop()
        waited_for = self.ready_path or f"connections on port {self.port}"
        raise ServerError(f"{self.name} did not answer {waited_for} within {timeout:.0f}s:\n{self.log_tail()}")

    def require_ready(self, timeout: float = START_SECONDS) -> None:
        """wait_ready(), raising ServerError (with the log) if the process exited first."""
        if not self.wait_ready(timeout):
            raise ServerError(f"{self.name} exited during start-up:\n{self.log_tail()}")

    def _answers(self) -> bool:
        if self.ready_path is None:
            with suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                return True
            return False
        status = http_status(self.port, self.ready_path)
        return status is not None and status < 500

    def pids(self) -> list[int]:
        """The server's live processes (its process group: the server and its workers)."""
        if self.process is None:
            return []
        return [pid for pid, fields in _group_members(self.process.pid) if fields[0] != "Z"]

    def wait_idle(self, timeout: float = 60, window: float = 1.0) -> None:
        """Wait until the tree stops burning CPU (workers still booting would skew a first
        measurement), for at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = self.cpu_seconds()
            time.sleep(window)
            if self.cpu_seconds() - before < 0.05 * window:
                return

    def cpu_seconds(self) -> float:
        """CPU time the server has used so far: its live processes plus the workers it reaped."""
        if self.process is None:
            return 0.0
        ticks = 0
        for pid, fields in _group_members(self.process.pid):
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
            if pid == self.process.pid:
                ticks += int(fields[13]) + int(fields[14])  # children's, once reaped
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """TERM the process group, KILL what is left after a bounded wait, reap the leader."""
        if self.process is None:
            return
        group = self.process.pid  # start_new_session made it the group's leader
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with suppress(ProcessLookupError):
                os.killpg(group, sig)
            deadline = time.monotonic() + STOP_SECONDS
            while _group_alive(group) and time.monotonic() < deadline:
                self.process.poll()  # reap the leader as soon as it exits
                time.sleep(0.05)
            if not _group_alive(group):
                break
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        self.process = None


def _group_members(group: int):
    """(pid, /proc stat fields after the command name) of each process in the group."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                yield int(entry.name), fields


def _group_alive(group: int) -> bool:
    """Whether any process of the group is still running (zombies do not count)."""
    return any(fields[0] != "Z" for _, fields in _group_members(group))


def launch(
    name: str,
    prepare: Callable[[int], tuple[list[str], dict[str, str]]],
    log_path: Path,
    ready_path: str | None,
    *,
    cwd: Path = REPO,
    timeout: float = START_SECONDS,
) -> ServerProcess:
    """Start a server on a free port and wait until it answers; retry on a port lost to a race.

    `prepare(port)` gives the command and environment for that port."""
    for _ in range(PORT_TRIES):
        port = free_port()
        command, env = prepare(port)
        server = ServerProcess(name, command, port, env, log_path, ready_path, cwd)
        server.start()
        try:
            if server.wait_ready(timeout):
                return server
        except BaseException:
            server.stop()
            raise
        server.stop()
        if "in use" not in server.log_tail():
            break
    raise ServerError(f"{name} exited during start-up:\n{server.log_tail()}")


def bin_path(program: str, python: str | None = None) -> str:
    """A console script installed beside the Python that runs us (the project's venv)."""
    return str(Path(python or sys.executable).parent / program)


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[str, bytes]:
    """A multipart/form-data body of text fields and one `file` part: (Content-Type, body)."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


# --- moto ---------------------------------------------------------------------------------------


def start_moto(log_dir: Path) -> ServerProcess:
    """moto's standalone S3 (and more) server, spoken to over real HTTP like any S3 endpoint."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return launch(
        "moto_server",
        lambda port: ([bin_path("moto_server"), "-H", "127.0.0.1", "-p", str(port)], env),
        log_dir / "moto.log",
        "/",
    )


# --- Maisie under gunicorn -----------------------------------------------------------------------


def app_env(*, data_dir: Path, database_url: str, secret_key: str, **extra: str) -> dict[str, str]:
    """Production settings (no debug) for plain HTTP on loopback, isolated from the caller's
    MAISIE_*/DJANGO_* variables. Servers that share a secret key accept each other's JWTs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAISIE_", "DJANGO_", "GUNICORN_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "maisie_site.settings",
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secret_key,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
            "DJANGO_BEHIND_TLS_PROXY": "false",
            "DATABASE_URL": database_url,
            "MAISIE_DATA_DIR": str(data_dir),
            "MAISIE_LOG_LEVEL": "WARNING",
            "GUNICORN_LOG_LEVEL": "warning",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def start_gunicorn(
    name: str, env: dict[str, str], log_dir: Path, workers: int | None = 2, python: str | None = None
) -> ServerProcess:
    """Maisie as deployed: gunicorn with the repository's gunicorn.conf.py, on a free port.

    `workers=None` keeps gunicorn.conf.py's count (from the CPU count)."""

    def prepare(port: int) -> tuple[list[str], dict[str, str]]:
        command = [python or sys.executable, "-m", "gunicorn", "-c", str(REPO / "gunicorn.conf.py"), "maisie_site.wsgi"]
        extra = {"GUNICORN_WORKERS": str(workers)} if workers else {}
        return command, {**env, **extra, "GUNICORN_BIND": f"127.0.0.1:{port}"}

    server = launch(name, prepare, log_dir / f"{name}.log", "/healthz")
    if http_status(server.port, "/healthz") != 200:
        server.stop()
        raise ServerError(f"{name}: /healthz is not 200:\n{server.log_tail()}")
    return server
