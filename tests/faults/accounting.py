"""The fault suite's accounting: where every expected photo x target ended, checked against what
each sandbox platform actually received.

Ground truth is the platforms': a post is matched to its photo by the marker at the start of
the photo's title (`FS<nnn>`, `FSP<n>` for the poison images), which every caption starts with
(REST: the title field). The pipeline's own records only explain what did not reach a platform.
Each expected photo x target falls in exactly one column, tried in this order:

  duplicated   the platform has 2 or more posts of it
  published    exactly one post
  failed       not posted, and the pipeline says why: its publication record is final
               (`failed`/`unconfirmed`) with an error, or the processor rejected the photo or
               could make no variant for that target (`processing.failures`)
  dlq          in the target's publisher DLQ, or the photo in the images DLQ
  parked       the poller parked the photo (`state/poller/parked/`)
  in_flight    messages still wait in that target's queue (or the images queue) after the drain
  lost         none of the above: nobody can tell where it went

`conflicts` lists items that also carry a second outcome (posted and in a DLQ: a redrive would
post again), `strays` the posts that name no expected photo.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import requests

from socialomega.core import aws
from socialomega.core.store import MetadataStore, asset_key

COLUMNS = ("published", "failed", "dlq", "parked", "in_flight", "lost", "duplicated")
MARKER = re.compile(r"\bFS(?:P\d|\d{3})\b")
PARKED_PREFIX = "state/poller/parked/"


@dataclass
class Outcome:
    asset_id: str
    marker: str
    target: str
    posts: int = 0
    record: dict[str, Any] | None = None
    dlq: list[dict[str, Any]] = field(default_factory=list)
    failure: str | None = None  # the pipeline's reason for not posting
    parked: bool = False
    pending: bool = False

    def column(self) -> str:
        if self.posts >= 2:
            return "duplicated"
        if self.posts == 1:
            return "published"
        if self.failure:
            return "failed"
        if self.dlq:
            return "dlq"
        if self.parked:
            return "parked"
        if self.pending:
            return "in_flight"
        return "lost"

    def conflicts(self) -> list[str]:
        found = []
        if self.posts and self.dlq:
            found.append("posted and in a DLQ")
        if self.posts and self.record and self.record.get("status") in ("failed", "unconfirmed"):
            found.append(f"posted but recorded {self.record['status']}")
        return found


def platform_posts(urls: dict[str, str], targets: list[str]) -> dict[str, list[dict[str, Any]]]:
    """What each platform received: `/_sandbox/posts` of the social fakes, the REST target's
    accepted posts (`/_sandbox/received`, posts only: media uploads are not posts)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for target in targets:
        if target == "rest":
            received = requests.get(f"{urls['rest']}/_sandbox/received", timeout=30).json()["received"]
            found[target] = [item for item in received if item.get("path", "/v1/posts").startswith("/v1/posts")]
        else:
            found[target] = requests.get(f"{urls[target]}/_sandbox/posts", timeout=30).json()["posts"]
    return found


def markers_of(post: dict[str, Any]) -> set[str]:
    return set(MARKER.findall(json.dumps(post, ensure_ascii=False)))


def read_dlq(url: str) -> list[dict[str, Any]]:
    """Every message of a DLQ (received, then made visible again: the queue is left as it was)."""
    sqs = aws.client("sqs")
    messages: dict[str, dict[str, Any]] = {}
    for _ in range(200):
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=120,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            messages[message["MessageId"]] = message
    for message in messages.values():
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    found = []
    for message in messages.values():
        attrs = {k: v.get("StringValue") for k, v in (message.get("MessageAttributes") or {}).items()}
        try:
            body = json.loads(message["Body"])
        except json.JSONDecodeError:
            body = {}
        body = body if isinstance(body, dict) else {}
        found.append(
            {
                "asset_id": body.get("asset_id"),
                "target": (body.get("payload") or {}).get("target"),
                "code": attrs.get("so_failure_code"),
                "reason": attrs.get("so_failure_reason", "moved by SQS after maxReceiveCount"),
            }
        )
    return found


def queue_depth(url: str) -> int:
    attrs = aws.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


def _processing_failure(store: MetadataStore, asset_id: str, target: str) -> str | None:
    doc = store.get(asset_key(asset_id))
    if doc is None:
        return None
    for version in doc.data.get("versions", {}).values():
        processing = version.get("processing") or {}
        if processing.get("status") == "rejected":
            return f"rejected by the processor: {processing.get('reason')}"
        reason = (processing.get("failures") or {}).get(target)
        if reason:
            return f"no variant: {reason}"
    return None


def _publication(store: MetadataStore, asset_id: str, target: str) -> dict[str, Any] | None:
    records = [
        store.get(key) for key in store.list_keys(f"publications/{asset_id}/") if key.endswith(f"/{target}.json")
    ]
    found = [r.data for r in records if r is not None]
    return found[-1] if found else None


def account(
    *,
    expected: list[dict[str, str]],
    targets: list[str],
    urls: dict[str, str],
    outputs: dict[str, Any],
) -> dict[str, Any]:
    """The table (per target and in total, poison images apart) and the details behind it."""
    store = MetadataStore(aws.client("s3"), outputs["service_env"]["SO_STORE_BUCKET"])
    consumers = outputs["consumers"]
    posts = platform_posts(urls, targets)
    by_marker = {photo["marker"]: photo for photo in expected}
    counts: dict[tuple[str, str], int] = Counter()
    strays: list[dict[str, Any]] = []
    for target, items in posts.items():
        for post in items:
            markers = markers_of(post) & set(by_marker)
            if len(markers) != 1:
                strays.append({"target": target, "markers": sorted(markers), "post": str(post)[:300]})
            for marker in markers:
                counts[(by_marker[marker]["asset_id"], target)] += 1

    dead: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    dlq_sizes = {}
    for name, consumer in consumers.items():
        messages = read_dlq(consumer["dlq_url"])
        dlq_sizes[name] = len(messages)
        for message in messages:
            target = name.removeprefix("publisher-") if name.startswith("publisher-") else None
            for each in [target] if target else (targets if name == "processor" else []):
                dead[(message["asset_id"], each)].append({"queue": name, **message})
    pending_queues = {name: queue_depth(c["queue_url"]) for name, c in consumers.items()}
    parked = set()
    for key in store.list_keys(PARKED_PREFIX):
        doc = store.get(key)
        if doc is not None and doc.data.get("status") == "parked":
            parked.add(str(doc.data.get("asset_id") or key.rsplit("/", 1)[-1].removesuffix(".json")))

    outcomes = []
    for photo in expected:
        for target in targets:
            outcome = Outcome(photo["asset_id"], photo["marker"], target, posts=counts[(photo["asset_id"], target)])
            outcome.record = _publication(store, photo["asset_id"], target)
            record = outcome.record or {}
            if record.get("status") in ("failed", "unconfirmed") and (record.get("error") or record.get("last_error")):
                error = record.get("error") or record.get("last_error") or {}
                outcome.failure = f"{record['status']}: [{error.get('code')}] {error.get('message')}"[:300]
            else:
                outcome.failure = _processing_failure(store, photo["asset_id"], target)
            outcome.dlq = dead.get((photo["asset_id"], target), [])
            outcome.parked = photo["asset_id"] in parked
            outcome.pending = bool(pending_queues.get(f"publisher-{target}") or pending_queues.get("processor"))
            outcomes.append(outcome)
    return summarize(outcomes, expected, targets, strays, dlq_sizes, pending_queues)


def summarize(
    outcomes: list[Outcome],
    expected: list[dict[str, str]],
    targets: list[str],
    strays: list[dict[str, Any]],
    dlq_sizes: dict[str, int],
    pending_queues: dict[str, int],
) -> dict[str, Any]:
    poison = {p["asset_id"] for p in expected if p.get("poison")}
    tables: dict[str, dict[str, dict[str, int]]] = {"photos": {}, "poison": {}}
    for group, members in (("photos", lambda o: o.asset_id not in poison), ("poison", lambda o: o.asset_id in poison)):
        for target in [*targets, "total"]:
            chosen = [o for o in outcomes if members(o) and target in (o.target, "total")]
            row = {"expected": len(chosen), **dict.fromkeys(COLUMNS, 0)}
            for outcome in chosen:
                row[outcome.column()] += 1
            tables[group][target] = row
    details = [
        {
            "asset_id": o.asset_id,
            "marker": o.marker,
            "target": o.target,
            "column": o.column(),
            "posts": o.posts,
            "reason": o.failure or (o.dlq[0]["reason"] if o.dlq else None),
            "record_status": (o.record or {}).get("status"),
            "attempts": (o.record or {}).get("attempts"),
            "conflicts": o.conflicts(),
        }
        for o in outcomes
        if o.column() != "published" or o.conflicts() or o.asset_id in poison
    ]
    return {
        "tables": tables,
        "details": details,
        "conflicts": [d for d in details if d["conflicts"]],
        "strays": strays,
        "dlq_sizes": dlq_sizes,
        "queues_pending": pending_queues,
    }


def render(tables: dict[str, dict[str, dict[str, int]]]) -> str:
    header = f"{'target':<12}{'expected':>9}" + "".join(f"{c:>11}" for c in COLUMNS)
    lines = []
    for group, rows in tables.items():
        if not any(row["expected"] for row in rows.values()):
            continue
        lines += [f"{group}:", header, "-" * len(header)]
        for target, row in rows.items():
            lines.append(f"{target:<12}{row['expected']:>9}" + "".join(f"{row[c]:>11}" for c in COLUMNS))
        lines.append("")
    return "\n".join(lines)
