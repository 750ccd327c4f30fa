"""Shared fixtures: the sandbox fakes served in-process over real HTTP."""

import pytest

from socialomega.sandbox import lightroom
from socialomega.sandbox.server import Sandbox, serve
from tests.unit.fakes import AppSlot, ServedImages


@pytest.fixture(scope="module")
def sandbox(request):
    """One sandbox per test module; a module picks its photo set with `SANDBOX_SEED`, and one
    that needs no photos says `SANDBOX_PHOTO_COUNT = 0` (generating the 12 takes ~1 s)."""
    with Sandbox(
        seed=getattr(request.module, "SANDBOX_SEED", 1),
        photo_count=getattr(request.module, "SANDBOX_PHOTO_COUNT", None),
    ) as box:
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


@pytest.fixture(scope="session")
def _image_server():
    slot = AppSlot()
    with serve(slot) as url:
        yield slot, url


@pytest.fixture(scope="session")
def _fake_server():
    slot = AppSlot()
    with serve(slot) as url:
        yield slot, url


@pytest.fixture
def served_images(_image_server):
    """Variants served over HTTP on 127.0.0.1 (`ServedImages`): `served_images.add(key, jpeg)`.
    A fresh `ServedImages` per test, on a server shared by the session (`AppSlot`)."""
    slot, url = _image_server
    images = ServedImages(url)
    slot.app = images.wsgi
    yield images
    slot.app = None


@pytest.fixture
def mount(_fake_server):
    """`mount(app) -> url`: serve a WSGI app (a platform fake) over HTTP on 127.0.0.1 for this
    test only, on a server shared by the session (`AppSlot`): a fresh fake per test without a
    server start and stop per test."""
    slot, url = _fake_server

    def mount_app(app):
        slot.app = app
        return url

    yield mount_app
    slot.app = None
