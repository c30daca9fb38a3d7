"""Download progress: a bar per file on a terminal, plain lines otherwise (CI logs, docker compose)."""

from __future__ import annotations

import time
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class Transfers(Protocol):
    def start(self, label: str) -> None: ...
    def update(self, done: int, total: int | None) -> None: ...
    def finish(self, note: str) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self) -> None: ...


def _size(count: int) -> str:
    return f"{count / 1e6:,.1f} MB" if count >= 100_000 else f"{count:,} bytes"


class PlainTransfers:
    """One line when a file starts, one every ``every_percent`` (or ``every_seconds`` without a size), one at
    the end: readable in a log, never a carriage-return redraw."""

    def __init__(self, console: Console, every_percent: int = 10, every_seconds: float = 5.0):
        self.console, self.every_percent, self.every_seconds = console, every_percent, every_seconds
        self.label, self._next_percent, self._last_time = "", 0, 0.0

    def start(self, label: str) -> None:
        self.label, self._next_percent, self._last_time = label, self.every_percent, time.monotonic()
        self.console.print(f"fetch {label}: starting", highlight=False)

    def update(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if total:
            percent = done * 100 // total
            if percent < self._next_percent or done >= total:
                return
            self._next_percent = (percent // self.every_percent + 1) * self.every_percent
            self.console.print(f"fetch {self.label}: {_size(done)} of {_size(total)} ({percent}%)", highlight=False)
        elif now - self._last_time >= self.every_seconds:
            self._last_time = now
            self.console.print(f"fetch {self.label}: {_size(done)}", highlight=False)

    def finish(self, note: str) -> None:
        self.console.print(f"fetch {self.label}: {note}", highlight=False)

    def note(self, text: str) -> None:
        self.console.print(text, highlight=False, soft_wrap=True)  # one line in a log, however long the URL

    def close(self) -> None:
        pass


class BarTransfers:
    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TimeRemainingColumn(), console=console, transient=False)
        self.progress.start()
        self.task = None

    def start(self, label: str) -> None:
        self.task = self.progress.add_task(label, total=None)

    def update(self, done: int, total: int | None) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=done, total=total)

    def finish(self, note: str) -> None:
        if self.task is not None:
            description = self.progress.tasks[self.task].description
            self.progress.update(self.task, description=f"{description} [dim]{note}[/]")
            self.task = None

    def note(self, text: str) -> None:
        self.progress.console.print(text, highlight=False, soft_wrap=True)

    def close(self) -> None:
        self.progress.stop()


def transfers_for(console: Console) -> Transfers:
    return BarTransfers(console) if console.is_terminal else PlainTransfers(console)
