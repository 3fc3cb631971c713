"""A PostgreSQL server of the benchmark's own: `bench/search.py` runs each system on one (or both
on one, `--servers one`), with settings of its choosing (`--shared-buffers`), not on the
machine's server, which both would share and whose settings it does not own.

Made with this machine's PostgreSQL binaries (Debian's /usr/lib/postgresql/<version>/bin),
`initdb` once into a folder under var/ (kept, so its databases are built once), started on a
free loopback port with trust authentication for the user `postgres`, and stopped when the
benchmark ends. PostgreSQL refuses to run as root, so as root the server runs as the `postgres`
system user, which owns the folder.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from transfer import raise_on_signal  # a sibling module (bench/)


def _binaries() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin")
    return versions[-1].parent


class PrivatePostgres:
    def __init__(self, folder: Path, port: int, settings: dict[str, str]):
        self.folder, self.port, self.settings = folder, port, settings
        self.bin = _binaries()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, stdout=subprocess.DEVNULL)

    def start(self) -> None:
        if not (self.folder / "PG_VERSION").exists():
            if self.folder.exists():
                shutil.rmtree(self.folder)  # an initdb that did not finish
            self.folder.mkdir(parents=True)
            if self.as_user:
                user = pwd.getpwnam("postgres")
                os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._run(str(self.bin / "initdb"), "-D", str(self.folder), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = [f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-k {self.folder}"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        log = str(self.folder / "server.log")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder), "-l", log, "-o", " ".join(options), "-w", "start")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder), "-m", "fast", "-w", "stop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the server's data folder (made on first use)")
    parser.add_argument("--port", type=int, default=5433)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a server setting")
    args = parser.parse_args()
    server = PrivatePostgres(args.folder.resolve(), args.port, dict(item.split("=", 1) for item in args.set))
    # Ctrl-C or kill stops the server too; a shell starting this in the background ignores SIGINT.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_on_signal)
    server.start()
    print(f"PostgreSQL on 127.0.0.1:{args.port} (user postgres, trust); Ctrl-C stops it", flush=True)
    try:
        signal.pause()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
