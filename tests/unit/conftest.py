"""Shared fixtures: the sandbox fakes served in-process over real HTTP."""

import pytest

from socialomega.sandbox import lightroom
from socialomega.sandbox.server import Sandbox, serve
from tests.unit.fakes import ServedImages


@pytest.fixture(scope="module")
def sandbox(request):
    """One sandbox per test module; a module picks its photo set with `SANDBOX_SEED`."""
    with Sandbox(seed=getattr(request.module, "SANDBOX_SEED", 1)) as box:
        yield box


@pytest.fixture
def lr(sandbox):
    """The Lightroom fake's state with faults, token expiry and the request log reset
    before each test (the catalog stays)."""
    state = sandbox.lightroom.state
    with state.lock:
        state.faults.clear()
        state.token_expired = False
        state.refreshed_tokens.clear()
        state.refresh_token = lightroom.REFRESH_TOKEN
        state.token_refreshes = 0
        state.requests.clear()
        state.rendition_generation_delay = 0.0
    return state


@pytest.fixture
def served_images():
    """Variants served over HTTP on 127.0.0.1 (`ServedImages`): `served_images.add(key, jpeg)`."""
    images = ServedImages("")
    with serve(images.wsgi) as url:
        images.base_url = url
        yield images
