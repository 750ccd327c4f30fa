"""A Lambda context object with the attributes handlers and libraries actually use.

Its clock starts when the invocation starts, and `get_remaining_time_in_millis()` counts down
to 0 at the function's timeout, as Lambda's does
(https://docs.aws.amazon.com/lambda/latest/dg/python-context.html): `core/deadline.py` derives
every invocation's deadline from it, and the local runtime abandons the invocation when it
reaches 0 (`local/runtime.py`). The clock is injectable for tests; it must be the monotonic
clock everywhere else, the one `core/deadline.py` measures with.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: float
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    started: float = field(default=-1.0)  # on `clock`; by default when the context is made

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    @property
    def deadline(self) -> float:
        """When the function times out, on `clock`."""
        return self.started + self.timeout_seconds

    def remaining_seconds(self) -> float:
        return max(0.0, self.deadline - self.clock())

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_seconds() * 1000)
