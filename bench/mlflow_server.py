"""MLflow in a virtual environment of its own, for bench/transfer.py's side-by-side figures.

MLflow is kept out of the project's .venv on purpose: it pulls in hundreds of packages whose
pins would fight the server's. `python3 bench/mlflow_server.py` installs (or checks) it ahead
of a benchmark run, which is useful because the install takes a few minutes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import urllib.parse
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_VENV = BENCH_DIR / ".mlflow-venv"
# 3.18.0 is listed on PyPI, but the mlflow-skinny==3.18.0 it requires was not installable
# when this was written; 3.17.2 is the newest release that installs as a whole.
MLFLOW_VERSION = "3.17.2"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts/"


def venv_bin(venv: Path, name: str) -> Path:
    return venv / "bin" / name


def installed_version(venv: Path) -> str | None:
    """The mlflow version in the venv, or None when the venv or the package is missing."""
    python = venv_bin(venv, "python")
    if not python.exists():
        return None
    probe = "import importlib.metadata as m; print(m.version('mlflow'))"
    result = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_venv(venv: Path = DEFAULT_VENV, version: str = MLFLOW_VERSION) -> Path:
    """Create the venv and install the pinned MLflow if needed; return the `mlflow` script."""
    if installed_version(venv) != version:
        print(f"installing mlflow=={version} into {venv} (a few minutes)...", flush=True)
        if not venv_bin(venv, "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # The venv sits inside the repo: keep git from ever seeing it.
        (venv / ".gitignore").write_text("*\n")
        log = venv / "pip-install.log"
        with log.open("w") as out:
            result = subprocess.run(
                [
                    str(venv_bin(venv, "python")),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    f"mlflow=={version}",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if result.returncode != 0:
            raise RuntimeError(f"pip install mlflow=={version} failed; see {log}")
    return venv_bin(venv, "mlflow")


def server_command(mlflow: Path, port: int, workdir: Path, workers: int) -> list[str]:
    """`mlflow server` proxying artifacts to a local folder, with a SQLite tracking store."""
    return [
        str(mlflow),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--serve-artifacts",
        "--artifacts-destination",
        str(workdir / "artifacts"),
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
    ]


def server_env(base: dict[str, str]) -> dict[str, str]:
    """The caller's environment without MLFLOW_* settings that could redirect the server.

    Job execution (GenAI background jobs: a job runner plus seven huey consumers, ~1 GB RSS)
    is switched off: artifact serving does not use it, and it would swamp the memory figure.
    """
    env = {key: value for key, value in base.items() if not key.startswith("MLFLOW_")}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    return env


def artifact_path(relative: str) -> str:
    """URL path of the proxied artifact endpoint (PUT uploads, GET downloads, DELETE removes)."""
    return ARTIFACTS_API + urllib.parse.quote(relative)


def main() -> int:
    parser = argparse.ArgumentParser(description="Install the pinned MLflow for the benchmark.")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--version", default=MLFLOW_VERSION)
    args = parser.parse_args()
    mlflow = ensure_venv(args.venv, args.version)
    print(f"mlflow {installed_version(args.venv)} ready: {mlflow}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
