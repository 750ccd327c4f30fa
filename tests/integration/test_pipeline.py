"""The whole pipeline on LocalStack, deployed by Terraform, driven by the local runtime.

One poll over the seeded sandbox must publish every selected photo to every target
exactly once, leave correct, metadata-free variants, publication and analytics records,
and put the corrupt photo (only it) in the images DLQ with its reason.

The tests share one stack and its first poll (`first_run`), and pass in any order: a test that
needs a situation (an edit, a fault, an expired token) makes it itself, and a test that counts
posts counts those of the versions it is about (other tests edit photos and post them again).
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter

import pytest
import pyvips
from PIL import Image

from socialomega.core import aws
from socialomega.core import store as keys
from socialomega.core.store import status_key
from socialomega.local import ops
from socialomega.poller.poll import SourceFailed
from socialomega.sandbox import lightroom
from tests.conftest import wait_idle

pytestmark = pytest.mark.integration
TARGETS = ("rest", "gallery")


def selected(sandbox):
    return [p for p in sandbox.selected_photos() if not p.corrupt]


def posts_by_asset(sandbox) -> Counter:
    return Counter((post["target"], post["asset_id"]) for post in sandbox.rest_posts())


def first_run_posts(sandbox, store) -> Counter:
    """(target, asset) of each REST post of a selected photo (the corrupt one included) at the
    version the first poll detected: later tests edit photos and post the new versions, so
    counting every post would depend on which tests ran before. Posts of photos that never
    were selected fail here (photos dropped in the S3 inbox, `inbox-...`, are a test's own)."""
    first = {}
    for photo in sandbox.selected_photos():
        versions = store.get(keys.asset_key(photo.id)).data["versions"]
        first[photo.id] = min(versions, key=lambda v: versions[v]["detected_at"])
    posts = sandbox.rest_posts()
    strays = {
        p["asset_id"] for p in posts if p["asset_id"] not in first and not str(p["asset_id"]).startswith("inbox-")
    }
    assert not strays, f"posted, but never selected: {strays}"
    return Counter((p["target"], p["asset_id"]) for p in posts if first.get(p["asset_id"]) == p["version"])


def wait_for(condition, timeout: float, what: str) -> None:
    """Poll `condition` every 0.5 s; fail, saying what did not happen, after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.5)


def test_every_selected_photo_reaches_every_target_exactly_once(sandbox, store, first_run):
    photos = selected(sandbox)
    assert len(photos) >= 5
    assert sorted(first_run["poll"]["detected"]) == sorted(p.id for p in sandbox.selected_photos())
    counts = first_run_posts(sandbox, store)
    assert counts == Counter({(target, p.id): 1 for p in photos for target in TARGETS})


def test_raw_and_processed_objects_are_right_and_carry_no_private_metadata(sandbox, stack, store, first_run):
    s3 = aws.client("s3")
    env = stack["service_env"]
    for photo in selected(sandbox):
        asset = store.get(keys.asset_key(photo.id)).data
        version = asset["versions"][photo.version]
        raw = s3.get_object(
            Bucket=env["SO_RAW_BUCKET"], Key=version["raw"]["key"], VersionId=version["raw"]["version_id"]
        )
        assert raw["ContentLength"] > 0
        for target in TARGETS:
            variant = version["variants"][target]
            data = s3.get_object(Bucket=variant["bucket"], Key=variant["key"], VersionId=variant["version_id"])[
                "Body"
            ].read()
            image = pyvips.Image.new_from_buffer(data, "")
            assert (image.width, image.height) == (variant["width"], variant["height"])
            displayed_w, displayed_h = photo.displayed_size()
            long_edge = 2048 if target == "rest" else 1600
            assert max(image.width, image.height) <= long_edge
            # Orientation applied: the variant is upright and keeps the displayed aspect ratio.
            assert image.width / image.height == pytest.approx(displayed_w / displayed_h, rel=0.02)
            fields = set(image.get_fields())
            assert not {
                f
                for f in fields
                if f.startswith(("exif-", "xmp-", "iptc-")) or f in {"exif-data", "xmp-data", "iptc-data"}
            }
            exif = Image.open(io.BytesIO(data)).getexif()
            assert len(exif) == 0 and not exif.get_ifd(0x8825), f"{photo.id}/{target} still has EXIF/GPS"


def test_publication_and_analytics_records_are_present(sandbox, store, first_run):
    for photo in selected(sandbox):
        analytics = store.get(status_key(photo.id)).data["targets"]
        for target in TARGETS:
            pub = store.get(keys.publication_key(photo.id, photo.version, target)).data
            assert pub["status"] == "published" and pub["remote_id"] and pub["announced"] is True
            assert analytics[target]["status"] == "published"
            assert analytics[target]["remote_id"] == pub["remote_id"]
            assert analytics[target]["seconds_to_publish"] > 0


def test_the_corrupt_photo_is_dead_lettered_with_its_reason_and_nothing_else_is(sandbox, stack, first_run):
    corrupt = [p.id for p in sandbox.selected_photos() if p.corrupt]
    assert corrupt
    contents = ops.dlq_contents({name: c["dlq_url"] for name, c in stack["consumers"].items()})
    images = contents.pop("processor")
    assert [m["asset_id"] for m in images] == corrupt
    assert images[0]["code"] == "image_rejected" and "image rejected" in images[0]["reason"]
    assert all(not items for items in contents.values()), contents


def test_a_message_delivered_twice_posts_once(sandbox, stack, store, runtime, first_run):
    photo = selected(sandbox)[0]
    before = posts_by_asset(sandbox)
    sqs = aws.client("sqs")
    # Re-deliver the photo's AssetDetected (the processor runs again and requests publishing again) ...
    detection = store.get(keys.detection_key("lightroom", photo.id, photo.version)).data
    asset = store.get(keys.asset_key(photo.id)).data
    from socialomega.core.envelope import Envelope

    replay = Envelope(
        event_id=detection["event_id"],
        type="AssetDetected",
        correlation_id=detection["correlation_id"],
        asset_id=photo.id,
        payload={
            "source": "lightroom",
            "version": photo.version,
            "raw": asset["versions"][photo.version]["raw"],
            "metadata": asset["metadata"],
            "detected_at": detection["detected_at"],
        },
    )
    sqs.send_message(QueueUrl=stack["service_env"]["SO_IMAGES_QUEUE_URL"], MessageBody=replay.to_json())
    # ... and a second poll finds nothing new.
    poll = runtime.run_schedule("poller")
    wait_idle(runtime)
    assert poll["detected"] == []
    assert posts_by_asset(sandbox) == before


def test_transient_target_failures_are_retried_and_still_post_once(sandbox, stack, store, runtime, first_run):
    edited = selected(sandbox)[1]
    new_version = sandbox.edit_photo(edited.id, title="Edited title")
    sandbox.fail_rest_next(2, status=500)
    sandbox.fail_rest_next(1, status=429, retry_after=1)
    poll = runtime.run_schedule("poller")
    assert poll["detected"] == [edited.id]
    wait_idle(runtime, timeout=240)
    posts = [p for p in sandbox.rest_posts() if p["asset_id"] == edited.id and p["version"] == new_version]
    assert Counter(p["target"] for p in posts) == Counter({t: 1 for t in TARGETS})
    attempts = [store.get(keys.publication_key(edited.id, new_version, t)).data["attempts"] for t in TARGETS]
    # Each injected fault costs exactly one more attempt, never a second post.
    assert sum(attempts) == len(TARGETS) + 3
    by_target = {p["target"]: p for p in posts}
    assert by_target["rest"]["json"]["title"] == "Edited title"
    assert by_target["gallery"]["form"]["title"] == "Edited title"


def test_a_post_accepted_but_answered_after_the_timeout_is_not_duplicated(sandbox, store, runtime, first_run):
    photo = selected(sandbox)[2]
    new_version = sandbox.edit_photo(photo.id, title="Slow answer")
    # The target creates the post, then answers after the publisher's 5 s read timeout.
    sandbox.fail_rest_next(1, delay=7, path_contains="/v1/posts")
    assert runtime.run_schedule("poller")["detected"] == [photo.id]
    wait_idle(runtime, timeout=240)
    posts = [p for p in sandbox.rest_posts() if p["asset_id"] == photo.id and p["version"] == new_version]
    assert Counter(p["target"] for p in posts) == Counter({t: 1 for t in TARGETS})
    record = store.get(keys.publication_key(photo.id, new_version, "rest")).data
    # The retry carried the same Idempotency-Key, so the target answered with the original post.
    assert record["status"] == "published" and record["attempts"] == 2
    assert record["remote_id"] == next(p for p in posts if p["target"] == "rest")["id"]


def test_an_expired_lightroom_token_is_renewed_and_the_rotated_pair_kept(sandbox, stack, store, runtime, first_run):
    photo = selected(sandbox)[3]
    state = sandbox.lightroom.state
    refreshes = state.token_refreshes  # counted from here: the test may not run first
    new_version = sandbox.edit_photo(photo.id, title="After the token expired")
    sandbox.expire_lightroom_token()  # every Lightroom call now answers 401 until a refresh
    assert runtime.run_schedule("poller")["detected"] == [photo.id]
    wait_idle(runtime, timeout=240)
    posts = [p for p in sandbox.rest_posts() if p["asset_id"] == photo.id and p["version"] == new_version]
    assert Counter(p["target"] for p in posts) == Counter({t: 1 for t in TARGETS})
    # Adobe IMS rotated the pair once; the poller wrote it back to Secrets Manager.
    name = f"{stack['service_env']['SO_SECRET_PREFIX']}/lightroom"
    secret = json.loads(aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    assert state.token_refreshes == refreshes + 1
    assert (secret["access_token"], secret["refresh_token"]) == (
        f"{lightroom.ACCESS_TOKEN}-{refreshes + 1}",
        state.refresh_token,
    )
    assert secret["expires_at"] > time.time() + 3600
    # The next poll uses the stored pair: no new photo, no second refresh, no 401.
    state.requests.clear()
    assert runtime.run_schedule("poller")["detected"] == []
    assert state.token_refreshes == refreshes + 1 and all(r["status"] != 401 for r in state.requests)
    # Adobe revokes the refresh token: the invocation fails with a reason an operator can act
    # on (in AWS: Lambda retries, then the schedule DLQ and its alarm).
    stored = state.refresh_token
    sandbox.expire_lightroom_token()
    state.refresh_token = "revoked-at-adobe"
    with pytest.raises(SourceFailed, match="refused the refresh token.*re-authorise"):
        runtime.run_schedule("poller")
    state.refresh_token = stored  # re-authorised: the next poll renews and carries on
    assert runtime.run_schedule("poller")["detected"] == []
    assert state.token_refreshes == refreshes + 2


def test_a_photo_dropped_in_the_s3_inbox_takes_the_same_path(sandbox, stack, store, runtime, first_run):
    from socialomega.sandbox.photos import make_photo

    photo = make_photo(seed=99, index=0)
    s3 = aws.client("s3")
    bucket = stack["service_env"]["SO_RAW_BUCKET"]
    s3.put_object(Bucket=bucket, Key="inbox/2026/harbour.jpg", Body=photo.master)
    s3.put_object(
        Bucket=bucket,
        Key="inbox/2026/harbour.json",
        Body=json.dumps({"title": "From the inbox", "keywords": ["harbour"]}).encode(),
    )
    poll = runtime.run_schedule("poller")
    wait_idle(runtime)
    (asset_id,) = [a for a in poll["detected"] if a.startswith("inbox-")]
    posts = [p for p in sandbox.rest_posts() if p["asset_id"] == asset_id]
    assert Counter(p["target"] for p in posts) == Counter({t: 1 for t in TARGETS})
    assert next(p for p in posts if p["target"] == "rest")["json"]["title"] == "From the inbox"
    assert runtime.run_schedule("poller")["detected"] == []  # seen once, at this content version


def test_a_dead_lettered_message_can_be_redriven(sandbox, stack, runtime, first_run):
    processor = stack["consumers"]["processor"]
    corrupt = [p.id for p in sandbox.selected_photos() if p.corrupt]
    sqs = aws.client("sqs")
    ops.redrive(processor["dlq_url"], processor["queue_url"])
    # The move task runs asynchronously (LocalStack's moves one message per poll of its own,
    # slower on a loaded machine): wait until the DLQ has drained into the queue ...
    wait_for(
        lambda: ops.dlq_depths({"processor": processor["dlq_url"]})["processor"] == 0,
        timeout=90,
        what="the redrive to empty the images DLQ",
    )
    wait_idle(runtime)
    # ... the processor rejected it again (still corrupt), so it is back with its reason.
    contents = ops.dlq_contents({"processor": processor["dlq_url"]})["processor"]
    assert [m["asset_id"] for m in contents] == corrupt
    assert contents[0]["code"] == "image_rejected"
    assert sqs.list_message_move_tasks(SourceArn=processor["dlq_arn"])["Results"][0]["Status"] in {
        "COMPLETED",
        "RUNNING",
    }


def test_an_outage_longer_than_five_receives_opens_the_breaker_then_the_probe_publishes_once(
    sandbox, stack, store, runtime, first_run
):
    """Five fast receives used to dead-letter a photo during any outage longer than ~30 s. Now
    retries back off (as fresh messages: the receive count is not used up), the gallery target's
    breaker opens after 5 consecutive failures (the 6th call, the first probe, fails too and
    reopens it), the next probe succeeds and closes it, and the photo is posted once: no DLQ,
    no operator."""
    photo = selected(sandbox)[3]
    new_version = sandbox.edit_photo(photo.id, title="During the outage")
    publisher = stack["consumers"]["publisher-gallery"]
    sandbox.fail_rest_next(6, status=500, path_contains="/v1/media")
    assert runtime.run_schedule("poller")["detected"] == [photo.id]

    def breaker_closed_and_published() -> bool:
        breaker = store.get(keys.breaker_key("gallery"))
        record = store.get(keys.publication_key(photo.id, new_version, "gallery"))
        return bool(
            breaker and breaker.data.get("state") == "closed" and record and record.data["status"] == "published"
        )

    wait_for(
        breaker_closed_and_published, timeout=180, what="the gallery breaker to open and close, and the photo to go out"
    )
    wait_idle(runtime)
    breaker = store.get(keys.breaker_key("gallery")).data
    assert breaker["open_since"] and breaker["failures"] == 0  # it was open, and the probe closed it
    assert ops.dlq_depths({"gallery": publisher["dlq_url"]})["gallery"] == 0
    record = store.get(keys.publication_key(photo.id, new_version, "gallery")).data
    assert record["status"] == "published" and record["attempts"] >= 6
    posts = [p for p in sandbox.rest_posts() if p["asset_id"] == photo.id and p["version"] == new_version]
    assert Counter(p["target"] for p in posts) == Counter({t: 1 for t in TARGETS})
