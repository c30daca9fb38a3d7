"""The console scripts casepilot-ask and casepilot-mail, run as subprocesses the way a user runs them: exit
codes, what they print, and no stack trace on bad input. They read a private copy of the tiny reference store of
tests/rag/conftest.py (exact answers only: no vectors, no model download)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

pytestmark = pytest.mark.store

UNITS_QUESTION = "How many units of J1885 per day?"


def tiny_rows():
    """The hand-made rows of tests/rag/conftest.py (that conftest's fixtures are not visible from here)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("tiny_rows", Path(__file__).resolve().parent / "rag" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    from ingest.records import ParsedRelease
    from ingest.write_reference import write_release

    rows, data_dir = tiny_rows(), tmp_path_factory.mktemp("cli-tiny")
    for dataset, (version, records) in rows.TINY_CODES.items():
        write_release(data_dir, ParsedRelease(dataset, version, f"{dataset}.test", list(records)))
    for dataset, edits in rows.TINY_PTP.items():
        write_release(data_dir, ParsedRelease(dataset, "2026Q2", f"{dataset}.test", list(edits)))
    write_release(data_dir, ParsedRelease("mue_practitioner", "2026Q2", "mue.test", list(rows.TINY_MUE)))
    return data_dir


@pytest.fixture
def data_dir(tiny_dir, tmp_path) -> Path:
    """A private copy per test: the commands may write (the vector shard they open, the mail outbox)."""
    return Path(shutil.copytree(tiny_dir, tmp_path / "data", ignore=shutil.ignore_patterns("*.lock")))


@pytest.fixture(scope="module")
def tiny_store(tiny_dir):
    from rag.stores.reference import ReferenceStore

    store = ReferenceStore(tiny_dir)
    yield store
    store.close()


def run(script: str, *args: str, data_dir: Path, env: dict[str, str] | None = None, cwd: Path | None = None):
    """A console script of the installed project (python -m as the fallback), with only CASEPILOT_ settings
    given here."""
    executable = Path(sys.executable).with_name(script)
    modules = {"casepilot-ask": "rag.cli", "casepilot-mail": "api.mail.cli"}
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", modules[script]]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CASEPILOT_")}
    environment |= {"CASEPILOT_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([*command, *args], capture_output=True, text=True, env=environment, timeout=300,
                          cwd=cwd or data_dir.parent, check=False)


# ---------------------------------------------------------------- casepilot-ask

def test_ask_prints_the_answer_and_its_citations(data_dir, tiny_store):
    (mue,) = tiny_store.mue("J1885", "mue_practitioner")
    result = run("casepilot-ask", UNITS_QUESTION, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("The MUE for J1885 (practitioner, 2026Q2) is 8 units")
    citations = [line for line in lines[1:] if line.startswith("[")]
    assert citations and citations[0].startswith("[1] ")
    assert f"{mue.release.version}, row {mue.fact.row}." in citations[0]
    assert "Traceback" not in result.stderr


def test_ask_json_is_the_whole_answer(data_dir):
    result = run("casepilot-ask", UNITS_QUESTION, "--json", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["generator"] == "extractive" and not answer["abstained"]
    assert [(m["code"], m["value"], m["adjudication_indicator"]) for m in answer["mue"]] == [("J1885", 8, 3)]
    assert answer["sentences"] and all(s["citations"] for s in answer["sentences"])


def test_ask_with_an_empty_question_exits_2_with_a_clear_error(data_dir):
    result = run("casepilot-ask", "  \x07  ", data_dir=data_dir)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == "error: the question is empty"  # after the model's progress bar
    assert "Traceback" not in result.stderr


def test_ask_without_a_question_is_a_usage_error(data_dir):
    result = run("casepilot-ask", data_dir=data_dir)
    assert result.returncode == 2
    assert "usage: casepilot-ask" in result.stderr and "question" in result.stderr


# ---------------------------------------------------------------- casepilot-mail

def mail(body: str, sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Jane Coder <{sender}>"
    msg["To"] = "consultant@casepilot.localhost"
    msg["Subject"] = "Coding question"
    msg["Message-ID"] = f"<cli-{abs(hash((body, sender)))}@clinic.example>"
    msg.set_content(body)
    return bytes(msg)


def test_mail_answer_writes_the_reply_to_the_outbox(data_dir, tmp_path):
    saved = tmp_path / "question.eml"
    saved.write_bytes(mail(UNITS_QUESTION, "jane.coder@clinic.example"))
    result = run("casepilot-mail", "answer", str(saved), data_dir=data_dir,
                 env={"CASEPILOT_MAIL__ALLOWED_SENDERS": "clinic.example",
                      "CASEPILOT_MAIL__REQUIRE_AUTHENTICATION": "false"})  # a saved file carries no SPF/DKIM result
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{saved}: answered 1 question(s) -> ")
    replies = [p for p in (data_dir / "outbox").rglob("*") if p.is_file()]
    assert len(replies) == 1
    reply = replies[0].read_text(encoding="utf-8", errors="replace")
    assert "jane.coder@clinic.example" in reply and "J1885" in reply
    assert "Traceback" not in result.stderr


def test_mail_from_an_unknown_sender_is_refused_with_exit_1(data_dir, tmp_path):
    saved = tmp_path / "stranger.eml"
    saved.write_bytes(mail(UNITS_QUESTION, "someone@elsewhere.example"))
    result = run("casepilot-mail", "answer", str(saved), data_dir=data_dir,
                 env={"CASEPILOT_MAIL__ALLOWED_SENDERS": "clinic.example",
                      "CASEPILOT_MAIL__REQUIRE_AUTHENTICATION": "false"})  # a saved file carries no SPF/DKIM result
    assert result.returncode == 1
    assert result.stdout.startswith(f"{saved}: refused: ")
    assert not (data_dir / "outbox").exists() or not any(p.is_file() for p in (data_dir / "outbox").rglob("*"))
    assert "Traceback" not in result.stderr


def test_mail_without_a_command_is_a_usage_error(data_dir):
    result = run("casepilot-mail", "answer", data_dir=data_dir)
    assert result.returncode == 2 and "usage: casepilot-mail" in result.stderr
