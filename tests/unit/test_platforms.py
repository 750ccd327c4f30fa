"""The platform registry: every platform is one complete package, found by name, and the
dependency directions hold (core knows no platform; no platform knows the sandbox; the
processor reads specs without loading publishing code)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from socialomega import platforms
from socialomega.processor.specs import DEFAULT_SPECS
from socialomega.publishers.captions import RULES
from socialomega.sandbox import webhooks as platform_side
from socialomega.sandbox.server import SOCIAL_FAKES
from socialomega.webhooks.signatures import PLATFORMS as WEBHOOK_PLATFORMS

PACKAGE = Path(platforms.__file__).resolve().parents[1]  # services/socialomega


def test_the_registry_names_every_platform_once_in_order():
    assert tuple(platforms.PLATFORMS) == ("instagram", "x", "facebook", "linkedin", "rest")
    assert all(platforms.get(name).name == name for name in platforms.PLATFORMS)
    with pytest.raises(LookupError, match="unknown platform 'myspace'"):
        platforms.get("myspace")


@pytest.mark.parametrize("name", list(platforms.PLATFORMS))
def test_each_platform_package_holds_what_the_services_look_up(name):
    platform = platforms.get(name)
    assert callable(platform.module("settings").from_target) and callable(platform.module("publisher").build)
    assert RULES[name] == platform.caption
    assert DEFAULT_SPECS[name].platform == name and all(
        getattr(DEFAULT_SPECS[name], k) == v for k, v in platform.spec.items()
    )
    if platform.webhooks:
        webhook = platform.webhook()
        assert all(callable(getattr(webhook, f)) for f in ("answer_challenge", "verify_signature", "engagements"))
        assert webhook.SECRET_KEY in platform_side.sandbox_secret()  # the sandbox can sign for it
    else:
        with pytest.raises(LookupError):
            platform.webhook()


def test_every_social_platform_has_its_fake_and_every_fake_its_platform():
    assert set(SOCIAL_FAKES) == set(platforms.PLATFORMS) - {"rest"}  # rest: sandbox/rest_target.py
    assert set(WEBHOOK_PLATFORMS) == {"facebook", "instagram", "x", "linkedin"}


def _imports(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        names = found.setdefault(str(path.relative_to(PACKAGE)), set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.update([node.module, *(f"{node.module}.{alias.name}" for alias in node.names)])
    return found


def test_core_imports_no_platform_and_no_platform_imports_the_sandbox():
    for path, names in _imports(PACKAGE / "core").items():
        assert not [n for n in names if n.startswith("socialomega.platforms")], path
    for path, names in _imports(PACKAGE / "platforms").items():
        assert not [n for n in names if n.startswith(("socialomega.sandbox", "socialomega.local"))], path


def test_the_processor_reads_the_default_specs_without_loading_publishing_code():
    probe = (
        "import sys, socialomega.processor.specs; "
        "print(sorted(m for m in sys.modules if m == 'jinja2' or m.startswith('socialomega.') and ("
        "m.startswith('socialomega.publishers') "
        "or m.endswith(('.publisher', '.webhook', '.settings', '.errors')))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    ).stdout.strip()
    assert loaded == "[]"
