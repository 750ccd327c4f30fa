"""Helpers the platform publishers share (instagram, x, facebook, linkedin)."""

from __future__ import annotations

from typing import Any

from socialomega.core.logging import get_logger


def logger(platform: str, target: str | None) -> Any:
    """The publishers' one logging convention (as in service.py): snake_case event names, and
    `platform` and `target` bound on every line."""
    return get_logger().bind(platform=platform, target=target)
