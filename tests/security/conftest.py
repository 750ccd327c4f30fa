"""The security tier: attack suites against the project's own code (SSRF, webhooks, inputs,
secrets). Each suite records its figures in `tally`; they are printed after the run.

Outbound connections: tests may reach loopback only. Every connection this process opens
through urllib3 to anything else is refused here and recorded (`outside_attempts`), so a guard
that lets a request through to a "public" address is seen, and nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socketserver
import threading

import pytest
import urllib3.util.connection

from tests.security import tally


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    lines = tally.summary()
    if lines:
        terminalreporter.section("security suites")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture(autouse=True)
def outside_attempts(monkeypatch):
    """Addresses the code tried to connect to outside loopback (each refused at once)."""
    attempts: list[tuple[str, int]] = []
    real = urllib3.util.connection.create_connection

    def loopback_only(address, *args, **kwargs):
        host, port = address[0], address[1]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False  # a name: urllib3 would resolve it itself, which the guard never lets happen
        if not loopback:
            attempts.append((str(host), int(port)))
            raise OSError(errno.ENETUNREACH, "tests reach loopback only")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", loopback_only)
    return attempts


class Listener:
    """A TCP listener on 127.0.0.1 standing in for an internal service: it counts every
    connection and keeps the first bytes of each (to show what a leak would have carried)."""

    def __init__(self) -> None:
        self.connections = 0
        self.received: list[bytes] = []
        self._lock = threading.Lock()
        listener = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with listener._lock:
                    listener.connections += 1
                self.request.settimeout(0.5)
                try:
                    data = self.request.recv(4096)
                except OSError:
                    data = b""
                with listener._lock:
                    listener.received.append(data)
                with contextlib.suppress(OSError):
                    self.request.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
                    )

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def listener():
    with Listener() as server:
        yield server
