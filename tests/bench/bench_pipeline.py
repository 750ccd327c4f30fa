#!/usr/bin/env python
"""Benchmark: N camera-like 24 MP photos through the whole local pipeline, to every target.

    .venv/bin/python tests/bench/bench_pipeline.py [--photos 40] [--label NAME] [--timeout 600]
    make bench-pipeline [PHOTOS=40] [LABEL=...]

What runs is what `make demo` and the integration suite run: LocalStack, `terraform/envs/local`
applied for real (its own workspace, `bench`, so it never touches the suites' `itest`
resources), the sandbox platforms on ephemeral ports and the local Lambda runtime with every
consumer at the concurrency Terraform gives it. The photos are 6000x4000 JPEGs with camera EXIF
and GPS and photographic content (gradients, low-frequency texture, sensor noise: the
generator of bench_variants.py, ~9 MB each, cached under .build/bench-photos/), dropped into the
S3 inbox (`inbox/bench/*.jpg` of the raw bucket, with a title/keywords sidecar each) before the
clock starts; then the consumers start and the poller is invoked once, as its schedule would.

Figures (printed as a table, written to .build/bench-pipeline[-LABEL].json):

* posts per minute: photo x target publications `published` divided by the time from the poll's
  start to the last `published_at`;
* detection -> publish p50 / p95 over every photo x target: a publication record's
  `published_at` minus the `detected_at` the poller stored for that version (report.py's
  figure);
* CPU seconds per photo per service. The runtime measures each invocation's handler thread
  (`time.thread_time()`); that misses the threads a handler's code starts, and the processor
  does most of its work in libvips' own worker threads. So this bench also keeps a ledger:
  every Python thread started while the bench runs is charged to the function of the thread
  that started it (transitively), and its CPU is read when it ends (or at the end, from its
  CPU clock); libvips' native worker threads (named `libvips worker`, used by the processor
  only) are read from /proc/self/task and charged to the processor. What no function
  started (the runtime's own pollers, the sandbox platforms' servers) is shown apart, and so is
  LocalStack's process (from /proc). The ledger covers the handler threads exactly; a libvips
  worker that exits between two samples (every 0.5 s) loses at most that much CPU.

It is a benchmark, not a test: it reports figures against the issue's targets (>= 300 posts per
minute and p95 <= 15 s for 40 photos on a 2-core machine) and always exits 0 unless the
pipeline did not finish. It uses the shared LocalStack: run it under
`flock /tmp/so-localstack.lock` when other suites may be running.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "services"), str(ROOT)]

ENV = "bench"
TARGET_POSTS_PER_MINUTE = 300.0
TARGET_P95_SECONDS = 15.0
INBOX_PREFIX = "inbox/bench/"
LIBVIPS_WORKER = "libvips worker"


# --------------------------------------------------------------------------- CPU ledger
class CpuLedger:
    """CPU seconds per owner (a function name, `runtime`, `sandbox` or `other`), by thread.

    Owners come from thread names: the runtime names an invocation's thread
    `lambda:<function>:<n>` and an event source mapping's poller `esm:<function>:<i>` (the
    runtime before concurrency ran invocations in its poller thread `esm-<function>`, and that
    thread is charged to the function); the sandbox's servers are `sandbox-<port>`. Any other
    thread is charged to the owner of the thread that started it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ended: dict[str, float] = {}
        self.live: dict[int, tuple[threading.Thread, str]] = {}
        self.native: dict[int, float] = {}  # libvips worker tid -> CPU seconds when first seen
        self.native_last: dict[int, float] = {}
        self._original_start = threading.Thread.start
        self._sampling = threading.Event()

    @staticmethod
    def owner_by_name(name: str) -> str | None:
        kind, _, rest = name.partition(":")
        if kind == "lambda" and rest:
            return rest.split(":")[0]
        if kind == "esm" and rest:
            return "runtime"  # an instance's polling and deleting: the event source mapping's work
        if name.startswith("esm-"):
            return name.removeprefix("esm-")  # the runtime before concurrency: polls and invocations
        if name.startswith("sandbox-"):
            return "sandbox"
        return None

    def install(self) -> None:
        ledger = self

        def start(thread: threading.Thread) -> None:
            creator = threading.current_thread()
            owner = (
                ledger.owner_by_name(thread.name)
                or getattr(creator, "_bench_owner", None)
                or ledger.owner_by_name(creator.name)
                or "other"
            )
            thread._bench_owner = owner  # type: ignore[attr-defined]
            run = thread.run

            def measured() -> None:
                try:
                    run()
                finally:
                    with ledger.lock:
                        ledger.live.pop(threading.get_ident(), None)
                        ledger.ended[owner] = ledger.ended.get(owner, 0.0) + time.thread_time()

            thread.run = measured  # type: ignore[method-assign]
            ledger._original_start(thread)
            with ledger.lock:
                if thread.ident is not None and thread.is_alive():
                    ledger.live[thread.ident] = (thread, owner)

        threading.Thread.start = start  # type: ignore[method-assign]

    def start_sampling(self) -> None:
        self.native = {tid: cpu for tid, cpu in _native_workers().items()}
        self.native_last = dict(self.native)
        thread = threading.Thread(target=self._sample_loop, name="bench-cpu-sampler", daemon=True)
        self._original_start(thread)

    def _sample_loop(self) -> None:
        while not self._sampling.wait(0.5):
            self._sample()

    def _sample(self) -> None:
        for tid, cpu in _native_workers().items():
            with self.lock:
                self.native.setdefault(tid, 0.0)
                self.native_last[tid] = cpu

    def totals(self) -> dict[str, float]:
        """CPU seconds per owner so far: ended threads, live ones, libvips workers (processor)."""
        self._sample()
        with self.lock:
            result = dict(self.ended)
            live = list(self.live.items())
            native = sum(self.native_last[tid] - self.native[tid] for tid in self.native_last)
        for ident, (thread, owner) in live:
            if thread.is_alive():
                try:
                    cpu = time.clock_gettime(time.pthread_getcpuclockid(ident))
                except (OSError, ProcessLookupError):
                    continue
                result[owner] = result.get(owner, 0.0) + cpu
        result["processor"] = result.get("processor", 0.0) + native
        return result


def _native_workers() -> dict[int, float]:
    """CPU seconds of libvips' worker threads, by thread id (/proc/self/task)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as fh:
                if fh.read().strip() != LIBVIPS_WORKER:
                    continue
            with open(f"/proc/self/task/{tid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(tid)] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return found


def _process_cpu() -> float:
    times = os.times()
    return times.user + times.system


def localstack_cpu() -> float | None:
    """CPU seconds of LocalStack's processes (the native process tree, or a container's, as the
    host's /proc shows them); None when none is found."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        procs[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, cmdline)
    roots = {pid for pid, (_, _, cmd) in procs.items() if "localstack" in cmd and "runtime.main" in cmd}
    if not roots:
        roots = {pid for pid, (_, _, cmd) in procs.items() if "localstack" in cmd and "supervisor" in cmd}
    if not roots:
        return None
    tree, grew = set(roots), True
    while grew:
        children = {pid for pid, (ppid, _, _) in procs.items() if ppid in tree} - tree
        grew = bool(children)
        tree |= children
    return sum(procs[pid][1] for pid in tree)


# --------------------------------------------------------------------------- photos
def camera_photos(count: int) -> list[bytes]:
    """`count` distinct 24 MP camera-like JPEGs, generated once and cached under .build/."""
    from tests.bench.bench_variants import make_camera_jpeg

    folder = ROOT / ".build" / "bench-photos"
    folder.mkdir(parents=True, exist_ok=True)

    def one(seed: int) -> bytes:
        path = folder / f"24mp-{seed:03d}.jpg"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(make_camera_jpeg(6000, 4000, seed=seed))
            tmp.replace(path)
        return path.read_bytes()

    missing = sum(not (folder / f"24mp-{s:03d}.jpg").exists() for s in range(1, count + 1))
    if missing:
        print(f"generating {missing} camera-like 24 MP photo(s) into {folder.relative_to(ROOT)} (once) ...")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:  # libvips and Pillow release the GIL
        return list(pool.map(one, range(1, count + 1)))


# --------------------------------------------------------------------------- figures
def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile by linear interpolation (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def publications(store: Any, asset_ids: list[str], targets: list[str]) -> list[dict[str, Any]]:
    """One row per photo x target: status, detected_at, published_at, seconds between."""
    from socialomega.core import store as keys

    rows = []
    for asset_id in asset_ids:
        asset = store.get(keys.asset_key(asset_id))
        data = asset.data if asset else {}
        version = data.get("latest_version", "")
        detected = ((data.get("versions") or {}).get(version) or {}).get("detected_at")
        for target in targets:
            pub = store.get(keys.publication_key(asset_id, version, target)) if version else None
            record = pub.data if pub else {}
            published = record.get("published_at")
            seconds = None
            if published and detected:
                seconds = (datetime.fromisoformat(published) - datetime.fromisoformat(detected)).total_seconds()
            rows.append(
                {
                    "asset_id": asset_id,
                    "target": target,
                    "status": record.get("status", "missing"),
                    "detected_at": detected,
                    "published_at": published,
                    "seconds": seconds,
                }
            )
    return rows


def runtime_stats(runtime: Any) -> dict[str, dict[str, Any]]:
    stats = runtime.stats()
    return {name: {k: v for k, v in vars(s).items() if not k.startswith("_")} for name, s in stats.items()}


def run(photo_count: int, label: str, timeout: float, runtime_module: str) -> int:
    LocalRuntime = importlib.import_module(runtime_module).LocalRuntime  # noqa: N806 (a class)
    ledger = CpuLedger()
    ledger.install()
    photos = camera_photos(photo_count)

    from socialomega.core import aws, config
    from socialomega.core import logging as solog
    from socialomega.core.store import MetadataStore
    from socialomega.local import localstack, sandbox_config, terraform
    from socialomega.local.runtime import apply_service_env
    from socialomega.sandbox.server import Sandbox
    from tests.conftest import _reset

    build = ROOT / ".build"
    logs = build / "bench-pipeline-logs.jsonl"
    solog.configure(stream=open(logs, "w", buffering=1))  # noqa: SIM115 (lives as long as the process)
    print(f"LocalStack at {localstack.ENDPOINT}: {localstack.start()}")
    sandbox = Sandbox(photo_count=0, seed=5)  # an empty Lightroom catalog: the inbox is the only intake
    sandbox.social["x"].set_daily_cap(100_000)  # X's free tier (17 a day) is not what is measured
    sandbox.start()
    try:
        print(f"terraform apply terraform/envs/local (workspace {ENV}) ...")
        outputs, seconds = terraform.apply(
            ENV,
            {
                "lightroom_settings": sandbox_config.lightroom_settings(sandbox.lightroom_url),
                "targets": sandbox_config.targets(sandbox.urls, on_edit="repost"),
                "secrets": sandbox_config.secrets(sandbox.credentials),
            },
        )
        print(f"  applied in {seconds:.1f} s")
        apply_service_env(outputs, localstack.ENDPOINT)
        aws.client.cache_clear()
        config.clear_caches()
        _reset(outputs)
        env = outputs["service_env"]
        s3 = aws.client("s3")
        for index, data in enumerate(photos, start=1):
            name = f"{INBOX_PREFIX}DSC{index:05d}"
            s3.put_object(Bucket=env["SO_RAW_BUCKET"], Key=f"{name}.jpg", Body=data, ContentType="image/jpeg")
            sidecar = {"title": f"Harbour at dusk #{index}", "keywords": ["harbour", "dusk", "bench"]}
            s3.put_object(Bucket=env["SO_RAW_BUCKET"], Key=f"{name}.json", Body=json.dumps(sidecar).encode())
        megabytes = sum(map(len, photos)) / 1e6
        print(f"dropped {len(photos)} photos ({megabytes:.0f} MB) into s3://{env['SO_RAW_BUCKET']}/{INBOX_PREFIX}")

        consumers = LocalRuntime.from_terraform_outputs(outputs, only=set(outputs["consumers"]))
        poller = LocalRuntime.from_terraform_outputs(outputs, only={"poller"})
        concurrency = {
            name: c.get("maximum_concurrency", 1) for name, c in sorted(outputs["consumers"].items())
        }  # the runtime before concurrency ran one invocation at a time
        targets = sorted(n.removeprefix("publisher-") for n in outputs["consumers"] if n.startswith("publisher-"))
        consumers.start()
        ledger.start_sampling()
        load_before = os.getloadavg()
        cpu_before, ledger_before, ls_before = _process_cpu(), ledger.totals(), localstack_cpu()
        started_wall, started = datetime.now(UTC), time.monotonic()
        holder: dict[str, Any] = {}
        poll_thread = threading.Thread(  # charged to the poller by the ledger
            target=lambda: holder.update(poll=poller.run_schedule("poller")), name="lambda:poller:bench"
        )
        poll_thread.start()
        poll_thread.join()
        poll_seconds = time.monotonic() - started
        idle = consumers.wait_until_idle(timeout=timeout, quiet_seconds=2.0)
        elapsed = time.monotonic() - started
        cpu_after, ledger_after, ls_after = _process_cpu(), ledger.totals(), localstack_cpu()
        load_after = os.getloadavg()
        stats = runtime_stats(consumers)
        consumers.stop()

        poll = holder.get("poll") or {}
        detected = [a for a in poll.get("detected", []) if a.startswith("inbox-")]
        store = MetadataStore(s3, env["SO_STORE_BUCKET"])
        rows = publications(store, detected, targets)
        received = len(sandbox.rest_posts()) + sum(len(sandbox.social_posts(p)) for p in sandbox.social)
    finally:
        sandbox.stop()

    published = [r for r in rows if r["status"] == "published"]
    latencies = [r["seconds"] for r in published if r["seconds"] is not None]
    last = max((datetime.fromisoformat(r["published_at"]) for r in published), default=None)
    window = (last - started_wall).total_seconds() if last else None
    posts_per_minute = len(published) / (window / 60) if window else 0.0
    n = max(1, len(detected))
    cpu = {
        owner: (ledger_after.get(owner, 0.0) - ledger_before.get(owner, 0.0))
        for owner in sorted(set(ledger_after) | set(ledger_before))
    }
    services = {
        "poller": cpu.get("poller", 0.0),
        "processor": cpu.get("processor", 0.0),
        "publisher (all targets)": sum(v for k, v in cpu.items() if k.startswith("publisher-")),
        "analytics": cpu.get("analytics", 0.0),
    }
    others = {
        "local runtime (ESM pollers)": cpu.get("runtime", 0.0),
        "sandbox platforms": cpu.get("sandbox", 0.0),
        "rest of this process": (cpu_after - cpu_before) - sum(cpu.values()),
    }
    handler_thread_cpu = {name: s.get("cpu_seconds") for name, s in stats.items()}
    result = {
        "label": label,
        "runtime": runtime_module,
        "photos": len(photos),
        "detected": len(detected),
        "targets": targets,
        "expected_posts": len(detected) * len(targets),
        "published": len(published),
        "received_by_platforms": received,
        "not_published": {f"{r['asset_id']}/{r['target']}": r["status"] for r in rows if r["status"] != "published"},
        "finished": idle,
        "poll_seconds": round(poll_seconds, 2),
        "elapsed_seconds": round(elapsed, 2),
        "window_seconds": round(window, 2) if window else None,
        "posts_per_minute": round(posts_per_minute, 1),
        "detect_to_publish_seconds": {
            "p50": _round(percentile(latencies, 0.50)),
            "p95": _round(percentile(latencies, 0.95)),
            "max": _round(max(latencies, default=None)),
        },
        "cpu_seconds_per_photo": {k: round(v / n, 3) for k, v in {**services, **others}.items()},
        "cpu_seconds_total": {
            "this process": round(cpu_after - cpu_before, 2),
            "localstack": None if ls_before is None or ls_after is None else round(ls_after - ls_before, 2),
            "by owner": {k: round(v, 2) for k, v in cpu.items()},
            "handler threads (runtime stats)": handler_thread_cpu,
        },
        "concurrency": concurrency,
        "runtime_stats": stats,
        "targets_to_meet": {"posts_per_minute": TARGET_POSTS_PER_MINUTE, "p95_seconds": TARGET_P95_SECONDS},
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            # other work on the machine moves every figure: the 1-minute load before and after
            "load_1m": [round(load_before[0], 2), round(load_after[0], 2)],
        },
        "at": started_wall.isoformat(),
    }
    path = build / (f"bench-pipeline-{label}.json" if label else "bench-pipeline.json")
    path.write_text(json.dumps(result, indent=1))
    print()
    print(render(result))
    print(f"\nJSON: {path.relative_to(ROOT)}; logs: {logs.relative_to(ROOT)}")
    return 0 if idle else 1


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def render(result: dict[str, Any]) -> str:
    p = result["detect_to_publish_seconds"]
    ls = result["cpu_seconds_total"]["localstack"]
    rows = [
        ("photos x targets", f"{result['detected']} x {len(result['targets'])} = {result['expected_posts']}", ""),
        (
            "published",
            f"{result['published']} (platforms received {result['received_by_platforms']})",
            "" if result["finished"] else "PIPELINE DID NOT FINISH",
        ),
        ("poll (detection) took", f"{result['poll_seconds']:.1f} s", ""),
        ("first detection -> last publish", f"{result['window_seconds'] or 0:.1f} s", ""),
        (
            "posts per minute",
            f"{result['posts_per_minute']:.0f}",
            _verdict(result["posts_per_minute"] >= TARGET_POSTS_PER_MINUTE, f">= {TARGET_POSTS_PER_MINUTE:.0f}"),
        ),
        ("detection -> publish p50", _seconds(p["p50"]), ""),
        (
            "detection -> publish p95",
            _seconds(p["p95"]),
            _verdict(p["p95"] is not None and p["p95"] <= TARGET_P95_SECONDS, f"<= {TARGET_P95_SECONDS:.0f} s"),
        ),
        ("detection -> publish max", _seconds(p["max"]), ""),
    ]
    rows += [(f"CPU s per photo: {k}", f"{v:.3f}", "") for k, v in result["cpu_seconds_per_photo"].items()]
    rows.append(("CPU s per photo: LocalStack", "n/a" if ls is None else f"{ls / max(1, result['detected']):.3f}", ""))
    rows.append(("concurrency", ", ".join(f"{k} {v}" for k, v in result["concurrency"].items()), ""))
    load, cpus = result["machine"]["load_1m"], result["machine"]["cpus"]
    rows.append(("machine load (1 min) before, after", f"{load[0]:.2f}, {load[1]:.2f}", f"{cpus} CPUs"))
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows if len(r[1]) < 40)
    return "\n".join(f"{a:<{width}}  {b:<{value_width}}  {c}".rstrip() for a, b, c in rows)


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _verdict(ok: bool, target: str) -> str:
    return f"target {target}: {'met' if ok else 'MISSED'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--label", default="", help="suffix of the JSON file under .build/")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the pipeline")
    parser.add_argument(
        "--runtime",
        default="socialomega.local.runtime",
        help="module of the LocalRuntime to measure (A/B runs against another version of it)",
    )
    args = parser.parse_args()
    return run(args.photos, args.label, args.timeout, args.runtime)


if __name__ == "__main__":
    sys.exit(main())
