"""Loopback servers for the tests: one free-port picker, one in-process uvicorn and a server-sent events parser,
shared by every tier."""

from __future__ import annotations

import json
import random
import socket
import threading
import time

# Below the kernel's ephemeral range (32768-60999 on Linux): a port picked here cannot be taken in the
# meantime by an outgoing client connection of the same test run, which is what made a listener's bind fail.
_PORT_RANGE = (20000, 32000)


def free_port() -> int:
    """A loopback port that was free a moment ago, for servers that must be given a number (aiosmtpd)."""
    for _ in range(200):
        port = random.randrange(*_PORT_RANGE)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {_PORT_RANGE}")


def bound_socket() -> socket.socket:
    """A listening-ready socket the kernel chose; handed to uvicorn so no other bind can race for it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ThreadServer:
    """uvicorn serving an app in a background thread of this process, on a socket bound before it starts."""

    def __init__(self, app, config=None):
        """``config(app, port)`` builds the uvicorn config (default: quiet, lifespan on)."""
        import uvicorn

        self.app = app
        self.socket = bound_socket()
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        built = config(app, self.port) if config else uvicorn.Config(app, log_level="warning", access_log=False,
                                                                      lifespan="on")
        self.server = uvicorn.Server(built)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       name=f"uvicorn-{self.port}", daemon=True)

    def __enter__(self) -> "ThreadServer":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.socket.close()
                raise RuntimeError("the in-process uvicorn server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()


def parse_sse(text: str) -> list[tuple[str, dict]]:
    """A text/event-stream body as (event, JSON data) pairs."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((event, json.loads("\n".join(data))))
    return events
