"""Peak memory of the `maisie` command moving a multi-GiB model: upload, then download.

Starts this repository's server (as the tests do) with a temporary data folder, makes a user
and a project, writes a sparse file of the given size, then runs `maisie models upload` and
`maisie models download` as separate processes and reads each one's peak resident memory from
the kernel (`wait4`). A benchmark, not a test: it prints the numbers and exits 1 when a peak is
over the limit.

    .venv/bin/python client/bench_memory.py --size-gib 2      # target: under 100 MB each

Needs about twice the file's size free in the temporary folder (the server's copy and the
download; the source file is sparse).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tests.liveserver import start_server  # noqa: E402

GIB = 1024**3


def maisie_script() -> str:
    script = Path(sys.executable).parent / "maisie"
    return str(script) if script.exists() else (shutil.which("maisie") or "maisie")


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run a command; return (peak RSS in MB, seconds, stdout). Raises on failure."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=err)  # noqa: S603  (our own command)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args[1:3])} failed ({process.returncode}): {stderr.strip()}")
    return usage.ru_maxrss / 1024, elapsed, stdout.strip()  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=float, default=2.0, help="model file size in GiB (default 2)")
    parser.add_argument("--limit-mb", type=float, default=100.0, help="peak RSS allowed per command (default 100)")
    parser.add_argument("--workdir", type=Path, default=None, help="where to put the files (default: a temp dir)")
    options = parser.parse_args()
    size = int(options.size_gib * GIB)

    work = Path(tempfile.mkdtemp(prefix="maisie-bench-", dir=options.workdir))
    free = shutil.disk_usage(work).free
    if free < 2.2 * size:
        raise SystemExit(f"Needs about {2.2 * size / GIB:.1f} GiB free in {work}; has {free / GIB:.1f} GiB.")
    server = None
    try:
        server = start_server(work / "server")
        user = {"login": "bench", "password": "bench-Pass-5521", "full_name": "Bench", "email": "b@example.com"}
        server.call("POST", "users/", json=user)
        jwt = server.call("POST", "auth/login/", json={"login": "bench", "password": user["password"]})
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {jwt['access_token']}"
        token = server.call("POST", "auth/tokens/", session=session, json={"name": "bench"})["token"]
        workspace = server.call("POST", "workspaces/", session=session, json={"name": "bench"})
        project = server.call(
            "POST", "projects/", session=session, json={"name": "big", "workspace_id": workspace["id"]}
        )

        source = work / "big-model.bin"
        with source.open("wb") as handle:
            handle.truncate(size)  # sparse: costs no disk, still read through like any file
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MAISIE_")},
            "MAISIE_API_URL": server.api_url,
            "MAISIE_AUTH_APP_TOKEN": token,
            "MAISIE_SELECTED_PROJECT": str(project["id"]),
            "XDG_CONFIG_HOME": str(work / "config"),
        }
        script = maisie_script()
        up_rss, up_seconds, model_id = measure(
            [script, "models", "upload", str(source), "-n", "big", "--no-git", "--quiet"], env
        )
        (work / "download").mkdir()
        down_rss, down_seconds, path = measure(
            [script, "models", "download", model_id, "-o", str(work / "download"), "--quiet"], env
        )
        if Path(path).stat().st_size != size:
            raise SystemExit(f"The download has {Path(path).stat().st_size} bytes, not {size}.")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "size_gib": round(size / GIB, 2),
        "upload_peak_rss_mb": round(up_rss, 1),
        "upload_seconds": round(up_seconds, 1),
        "upload_mib_per_s": round(size / 1024**2 / up_seconds, 1),
        "download_peak_rss_mb": round(down_rss, 1),
        "download_seconds": round(down_seconds, 1),
        "download_mib_per_s": round(size / 1024**2 / down_seconds, 1),
        "limit_mb": options.limit_mb,
    }
    print(json.dumps(result))
    within = up_rss < options.limit_mb and down_rss < options.limit_mb
    print(
        f"upload: {up_rss:.0f} MB peak, {up_seconds:.0f} s; download: {down_rss:.0f} MB peak, {down_seconds:.0f} s "
        f"-> {'within' if within else 'OVER'} the {options.limit_mb:.0f} MB limit",
        file=sys.stderr,
    )
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
