"""A small Chrome DevTools Protocol client over `--remote-debugging-pipe`: no websocket, no port.

Chromium reads commands from fd 3 and writes responses and events to fd 4, each message one
JSON object followed by a NUL byte (https://chromedevtools.github.io/devtools-protocol/,
"--remote-debugging-pipe"; the framing is what Puppeteer's PipeTransport does). The pipe
speaks to the browser target: commands for a page carry the `sessionId` from
`Target.attachToTarget` with `flatten: true`.

Single-threaded: a command waits for its response, keeping every event read on the way in
`events`. Every wait has a deadline. Chromium runs in its own process group, which `close()`
ends (the browser, its renderers and its zygote), having asked `Browser.close` first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import time
from pathlib import Path
from typing import Any, Self

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
)


class CdpError(RuntimeError):
    """An error response, a deadline passed, or Chromium gone."""


class Chromium:
    def __init__(self, binary: str, profile_dir: str, log_path: Path, timeout: float = 20.0) -> None:
        self.binary = binary
        self.profile_dir = profile_dir
        self.log_path = log_path
        self.timeout = timeout  # the default deadline of each wait, in seconds
        self.events: list[dict[str, Any]] = []
        self._buffer = b""
        self._next_id = 0
        self.pid = 0

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        commands_r, self._commands_w = os.pipe()
        self._replies_r, replies_w = os.pipe()
        # Moved above 4 so that the dup2s onto 3 and 4 below cannot clobber each other.
        commands_r, replies_w = _above_4(commands_r), _above_4(replies_w)
        argv = [self.binary, *FLAGS, f"--user-data-dir={self.profile_dir}", "about:blank"]
        self.pid = os.posix_spawn(
            self.binary,
            argv,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(self.log_path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
                # dup2 leaves 3 and 4 inheritable; every other fd of ours is close-on-exec.
                (os.POSIX_SPAWN_DUP2, commands_r, 3),
                (os.POSIX_SPAWN_DUP2, replies_w, 4),
            ],
            setpgroup=0,
        )
        os.close(commands_r)
        os.close(replies_w)

    def close(self) -> None:
        if not self.pid:
            return
        with contextlib.suppress(CdpError, TimeoutError):
            self.call("Browser.close", timeout=5)
        deadline, exited = time.monotonic() + 5, False
        while not exited and time.monotonic() < deadline:
            exited = os.waitpid(self.pid, os.WNOHANG) != (0, 0)
            time.sleep(0 if exited else 0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)  # whatever of its process group is left
        if not exited:
            os.waitpid(self.pid, 0)
        os.close(self._commands_w)
        os.close(self._replies_r)
        self.pid = 0

    # --- messages ------------------------------------------------------------------------

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands_w, json.dumps(message).encode() + b"\0")
        return self._next_id

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send a command and wait for its result (events read meanwhile go to `events`)."""
        sent = self.send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            message = self._read(deadline, f"the response to {method}")
            if message.get("id") == sent:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            if "method" in message:
                self.events.append(message)

    def wait_for(self, method: str, session: str | None = None, timeout: float | None = None) -> dict[str, Any]:
        """The first event `method` (of `session`) not waited for yet, reading until the deadline."""
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = 0
        while True:
            for event in self.events[seen:]:
                if event["method"] == method and event.get("sessionId") == session and not event.get("_taken"):
                    event["_taken"] = True
                    return event
            seen = len(self.events)
            message = self._read(deadline, f"event {method}")
            if "method" in message:
                self.events.append(message)

    def drain(self, seconds: float) -> None:
        """Keep reading events for `seconds` (late console messages, requests)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                message = self._read(deadline, "events")
            except TimeoutError:
                return
            if "method" in message:
                self.events.append(message)

    def _read(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies_r], [], [], left)[0]:
                raise TimeoutError(f"no {waiting_for} from Chromium in time (log: {self.log_path})")
            chunk = os.read(self._replies_r, 1 << 20)
            if not chunk:
                raise CdpError(f"Chromium closed the pipe while waiting for {waiting_for} (log: {self.log_path})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message


def _above_4(fd: int) -> int:
    """A close-on-exec duplicate of fd numbered 5 or more (fd itself is closed)."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 5)
    os.close(fd)
    return high
