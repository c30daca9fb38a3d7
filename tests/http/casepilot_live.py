"""Real uvicorn servers for the HTTP and browser tests (no mocks).

- ``SubprocessServer``: ``casepilot-serve`` in its own process over its own COPY of the data directory (the
  embedded vector store can be opened by one process only), exactly as it runs in production. One per test
  session, shared by tests/http and tests/browser through :func:`shared_server`.
- ``ThreadServer``: uvicorn in a background thread of the test process serving ``create_app(settings,
  service=query_service)``: the session's already-open query service is injected, so tests can start servers
  with other settings (tight quotas, keys) in a fraction of a second.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from loopback import ThreadServer, free_port  # noqa: F401  (ThreadServer re-exported to the tiers)

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = float(os.environ.get("CASEPILOT_TEST_STARTUP_TIMEOUT", "600"))


def copy_data_dir(source: Path, target: Path) -> Path:
    """A private copy of an ingested data directory, lock files left behind."""
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.lock", "*.tmp"))
    return target


class SubprocessServer:
    def __init__(self, data_dir: Path, workdir: Path, env: dict[str, str] | None = None):
        self.data_dir, self.workdir = Path(data_dir), Path(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.workdir / "server.log"
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.startup_statuses: list[int] = []

    def command(self) -> list[str]:
        script = Path(sys.executable).with_name("casepilot-serve")
        if script.exists():
            return [str(script), "--port", str(self.port)]
        return [sys.executable, "-m", "api.server", "--port", str(self.port)]

    def start(self) -> "SubprocessServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASEPILOT_")}
        env.update({"CASEPILOT_DATA_DIR": str(self.data_dir), "CASEPILOT_HOST": "127.0.0.1",
                    "CASEPILOT_PORT": str(self.port), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                    "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1", **self.extra_env})
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command(), cwd=self.workdir, env=env, stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
        atexit.register(self.stop)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"casepilot-serve exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    status = client.get(f"{self.url}/readyz").status_code
                except httpx.TransportError:
                    status = 0
                if status:
                    self.startup_statuses.append(status)
                if status == 200:
                    return
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"casepilot-serve was not ready after {STARTUP_TIMEOUT_S:.0f}s:\n{self.log_tail()}")

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


# ---------------------------------------------------------------- one subprocess server per test session

_shared: dict[str, object] = {}
_lock = threading.Lock()

API_KEYS_FILE = "api-keys.json"
CORS_ORIGIN = "http://allowed.example"


def shared_server(full_data_dir: Path, tmp_path_factory) -> tuple[SubprocessServer, str]:
    """The session's casepilot-serve over a copy of ``full_data_dir`` and a registered API key for it."""
    from api.access import create_key

    with _lock:
        if "server" not in _shared:
            workdir = tmp_path_factory.mktemp("live-server")
            data_dir = copy_data_dir(full_data_dir, workdir / "data")
            keys = workdir / API_KEYS_FILE
            key = create_key(keys, "tests")
            server = SubprocessServer(data_dir, workdir, env={
                "CASEPILOT_API_KEYS_FILE": str(keys),
                "CASEPILOT_GUEST_QUOTA_PER_DAY": "1000000",
                "CASEPILOT_REGISTERED_QUOTA_PER_DAY": "1000000",
                "CASEPILOT_CORS_ORIGINS": f'["{CORS_ORIGIN}"]',
                "CASEPILOT_MAIL__ALLOWED_SENDERS": '["clinic.example"]',  # /v1/mail is mounted only when configured
                "CASEPILOT_MAIL__CLIENT_PER_MINUTE": "1000000",
            })
            server.start()
            _shared["server"], _shared["key"] = server, key
        return _shared["server"], _shared["key"]
