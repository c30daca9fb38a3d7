"""API keys and the quota store, in process: no server starts and no store opens, so these are unit tests (the
key CLI runs as a subprocess that writes only its keys file). The server-side behaviour of keys and quotas is in
test_access.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from api.access import KeyStore, create_key

pytestmark = pytest.mark.unit


def test_keys_file_holds_only_salted_hashes(tmp_path):
    path = tmp_path / "keys.json"
    key = create_key(path, "alice")
    text = path.read_text()
    secret = key.split("_", 2)[2]
    assert secret not in text and key not in text
    entry = json.loads(text)["keys"][0]
    assert entry["name"] == "alice" and len(entry["sha256"]) == 64 and entry["salt"]
    assert (path.stat().st_mode & 0o777) == 0o600
    store = KeyStore(path)
    assert store.verify(key).tier == "registered"
    assert store.verify(key + "x") is None


def test_create_key_cli_prints_the_key_once(tmp_path):
    path = tmp_path / "cli-keys.json"
    out = subprocess.run([sys.executable, "-m", "api.server", "create-key", "--name", "bob", "--file", str(path)],
                         capture_output=True, text=True, check=True).stdout
    key = out.splitlines()[0]
    assert key.startswith("cp_") and KeyStore(path).verify(key) is not None
    assert key not in path.read_text()


def test_an_unreachable_quota_store_serves_uncounted_rather_than_failing():
    from loopback import free_port

    from api.access import Principal, Quotas

    quotas = Quotas({"guest": 2}, f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    assert quotas.hit(Principal("guest", "ip:127.0.0.9")) == (True, 2, 2)
    assert quotas.remaining(Principal("guest", "ip:127.0.0.9")) == 2
