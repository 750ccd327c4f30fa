"""Publishing under the photographer's control, on LocalStack against the sandbox (issue 14):
`so:` keywords edited in the sandbox Lightroom choose the targets, the caption and the crop of
a photo, and each target's `on_edit` decides what an edit of a posted photo means: `ignore`
posts nothing, `update` changes the post's text at the platform, `repost` posts once more.

The suite's targets repost every edit (tests/conftest.py); the on_edit test switches three
targets in SSM, as an operator's `make deploy` would, and puts them back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from socialomega.core import aws, config
from socialomega.core import store as keys
from socialomega.sandbox.photos import PUBLISH_ALBUM
from tests.conftest import wait_idle

pytestmark = pytest.mark.integration


def photos(sandbox) -> list[Any]:
    """The sound photos with no publishing keyword yet (another test may have given one some)."""
    return [
        p
        for p in sandbox.selected_photos()
        if not p.corrupt and not any(k.lower().startswith("so:") for k in p.keywords)
    ]


def publication(store, asset: str, version: str, target: str) -> dict[str, Any] | None:
    doc = store.get(keys.publication_key(asset, version, target))
    return None if doc is None else doc.data


def social_count(sandbox, platform: str) -> int:
    return len(sandbox.social_posts(platform))


def test_keywords_choose_the_target_the_caption_and_the_crop(sandbox, store, runtime, first_run):  # noqa: ARG001
    """On a photo of its own (taken out of the album at the end, so the suites that follow see
    the sandbox's photos only): posted everywhere first, then its keywords edited."""
    album = sandbox.lightroom.state.album_by_name(PUBLISH_ALBUM).id
    photo = sandbox.add_photo(in_album=True)
    while 0.8 <= photo.width / photo.height <= 1.91:  # one Instagram's 4:5..1.91:1 range makes the processor cut
        sandbox.lightroom.state.album_remove(album, [photo.id])
        photo = sandbox.add_photo(in_album=True)
    try:
        runtime.run_schedule("poller")
        wait_idle(runtime)
        before = {name: social_count(sandbox, name) for name in ("instagram", "x", "facebook", "linkedin")}
        keywords = ["so:only:instagram", "so:caption:instagram:Planned in Lightroom", "so:crop:north", "so:crop:west"]
        version = sandbox.edit_photo(photo.id, keywords=[*photo.keywords, *keywords], develop=False)
        runtime.run_schedule("poller")
        wait_idle(runtime)
        check_the_plan(sandbox, store, photo, photo.version, version, before)
    finally:
        sandbox.lightroom.state.album_remove(album, [photo.id])


def check_the_plan(sandbox, store, photo, old: str, version: str, before: dict[str, int]) -> None:
    """Instagram only, the caption as written, the crop anchored (not centred as before)."""
    after = {name: social_count(sandbox, name) for name in before}
    assert after == {**before, "instagram": before["instagram"] + 1}, "posted to Instagram only"
    post = sandbox.social_posts("instagram")[-1]
    assert post["caption"] == "Planned in Lightroom"  # as written: no title, no hashtag, no so: keyword
    processing = store.get(keys.asset_key(photo.id)).data["versions"][version]["processing"]
    assert set(processing["skipped"]) >= {"x", "facebook", "linkedin", "rest"}
    assert any("so:crop" in problem for problem in processing["plan_problems"])  # two anchors: the first wins
    # The crop arrived: the same original, anchored north instead of centred, is another image,
    # and the one Instagram received is the new variant.
    s3, bucket = aws.client("s3"), config.Settings.from_env().processed_bucket
    new = s3.get_object(Bucket=bucket, Key=keys.variant_key(photo.id, version, "instagram"))["Body"].read()
    centred = s3.get_object(Bucket=bucket, Key=keys.variant_key(photo.id, old, "instagram"))["Body"].read()
    assert new != centred and post["bytes"] == len(new)


def set_on_edit(stack, choices: dict[str, dict[str, str]]) -> list[Any]:
    ssm = aws.client("ssm")
    name = f"{stack['service_env']['SO_CONFIG_PREFIX']}/targets"
    original = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
    items = original.get("targets", original) if isinstance(original, dict) else original
    changed = [{**t, **choices.get(t["name"], {})} for t in items]
    ssm.put_parameter(Name=name, Value=json.dumps(changed), Overwrite=True, Type="String")
    config.clear_caches()
    return original


@pytest.fixture
def edit_choices(stack) -> Iterator[None]:
    original = set_on_edit(
        stack, {"x": {"on_edit": "ignore"}, "facebook": {"on_edit": "update"}, "linkedin": {"on_edit": "repost"}}
    )
    yield
    aws.client("ssm").put_parameter(
        Name=f"{stack['service_env']['SO_CONFIG_PREFIX']}/targets",
        Value=json.dumps(original),
        Overwrite=True,
        Type="String",
    )
    config.clear_caches()


def test_on_edit_ignore_update_and_repost(sandbox, store, runtime, first_run, edit_choices):  # noqa: ARG001
    photo = next(p for p in photos(sandbox) if publication(store, p.id, p.version, "facebook"))
    before = {name: social_count(sandbox, name) for name in ("x", "facebook", "linkedin")}
    posted_fb = publication(store, photo.id, photo.version, "facebook")["remote_id"]
    version = sandbox.edit_photo(photo.id, title="Frost, warmer", develop=False)
    runtime.run_schedule("poller")
    wait_idle(runtime)

    assert {name: social_count(sandbox, name) for name in before} == {**before, "linkedin": before["linkedin"] + 1}
    x = publication(store, photo.id, version, "x")
    assert x["status"] == "edit_ignored" and "on_edit=ignore" in x["edit"]["reason"]
    fb = publication(store, photo.id, version, "facebook")
    assert (fb["status"], fb["remote_id"]) == ("updated", posted_fb)
    changed = next(p for p in sandbox.social_posts("facebook") if p["post_id"] == posted_fb)
    assert "Frost, warmer" in changed["caption"] and changed["edits"] == 1
    assert publication(store, photo.id, version, "linkedin")["status"] == "published"
