#!/usr/bin/env python
"""Benchmark: a cold import of each Lambda handler, inside its own image (`make images` first).

    .venv/bin/python tests/bench/bench_cold_import.py [--runs 7] [--tag latest] [--images publisher,processor]

A Lambda cold start imports the handler module in a fresh interpreter, and Lambda's filesystem
is read-only: a module without a usable .pyc is compiled at every cold start. The images are
built with unchecked-hash .pyc (images/Dockerfile); this measures what that is worth. In one
container per image (no network, the image's own Python and environment), each round runs a
fresh `python3 -c "import <handler module>"` in both modes, one after the other, so both see
the same machine load:

* bytecode  /var/task as built: its .pyc are read;
* source    a copy of /var/task without any __pycache__ (PYTHONDONTWRITEBYTECODE, as in the
            image): every module of ours and of our dependencies compiled on import, what the
            images did before they were byte-compiled. The standard library is the base
            image's, compiled, in both modes (as the AWS base ships it).

The figure is the time of the import statement alone (the interpreter's own start is the
base image's and the same either way); the median of --runs rounds. `python3 -v` then lists
every module the bytecode mode still compiled from source: there must be none under /var/task.

Targets (issue 13): publisher handler <= 300 ms, processor handler <= 500 ms. Exit status 1 when
a target is missed or a module of /var/task is compiled from source; figures go to stdout and to
.build/bench-cold-import.json. Not a test: speed is machine-dependent, so it is a make target
(`make bench-cold`), never an assertion in the suite.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# image -> the handler modules its functions import (the analytics image also serves the
# webhook function, terraform/envs/aws: CMD socialomega.webhooks.handler.handler)
HANDLERS = {
    "poller": ["socialomega.poller.handler"],
    "processor": ["socialomega.processor.handler"],
    "publisher": ["socialomega.publishers.handler"],
    "analytics": ["socialomega.analytics.handler", "socialomega.webhooks.handler"],
}
TARGETS_MS = {"socialomega.publishers.handler": 300.0, "socialomega.processor.handler": 500.0}

# Runs inside the image: argv = runs, modules...; prints one JSON document.
INSIDE = r"""
import json, os, shutil, subprocess, sys
runs, modules = int(sys.argv[1]), sys.argv[2:]
shutil.copytree("/var/task", "/tmp/source-only", ignore=shutil.ignore_patterns("__pycache__"))
PATHS = {"bytecode": "/var/task", "source": "/tmp/source-only"}
TIMED = ("import importlib, time; t = time.perf_counter(); importlib.import_module({!r}); "
         "print((time.perf_counter() - t) * 1e3)")

def env(mode):
    return {**os.environ, "PYTHONPATH": PATHS[mode], "PYTHONDONTWRITEBYTECODE": "1"}

os.chdir("/")  # `python -c` puts the working directory first on sys.path: /var/task is the image's

def once(module, mode):
    done = subprocess.run([sys.executable, "-c", TIMED.format(module)], env=env(mode), capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"import {module} ({mode}) failed: {done.stderr[-2000:]}")
    return float(done.stdout)

def compiled_from_source(module):
    # -v: "# code object from '<x>.pyc'" when a .pyc was used, "# code object from <x>.py" when compiled.
    done = subprocess.run([sys.executable, "-v", "-c", f"import {module}"], env=env("bytecode"),
                          capture_output=True, text=True)
    marker = "# code object from "
    lines = [l.strip() for l in done.stderr.splitlines() if l.startswith(marker)]
    return sorted({l[len(marker):] for l in lines if l.endswith(".py")})

result = {"python": sys.version.split()[0], "cache_tag": sys.implementation.cache_tag, "modules": {}}
for module in modules:
    timings = {"bytecode": [], "source": []}
    for _ in range(runs):
        for mode in timings:
            timings[mode].append(once(module, mode))
    result["modules"][module] = {**timings, "compiled_from_source": compiled_from_source(module)}
print(json.dumps(result))
"""


def measure(image: str, modules: list[str], runs: int) -> dict:
    command = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", image, "-c", INSIDE]
    done = subprocess.run([*command, str(runs), *modules], capture_output=True, text=True, timeout=60 + 30 * runs)
    if done.returncode:
        sys.exit(f"bench_cold_import: {image}: {done.stderr.strip() or done.stdout.strip()}")
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tag", default="latest")
    parser.add_argument("--images", default=",".join(HANDLERS), help="comma-separated, of: " + ", ".join(HANDLERS))
    args = parser.parse_args()

    report: dict[str, dict] = {}
    failures: list[str] = []
    print(f"cold import of each handler in its image, median of {args.runs} fresh interpreters per mode")
    print(f"{'image':<11} {'handler module':<34} {'bytecode':>9} {'source':>9} {'ratio':>6}  target")
    for name in args.images.split(","):
        image = f"socialomega/{name}:{args.tag}"
        found = measure(image, HANDLERS[name], args.runs)
        report[image] = found
        for module, figures in found["modules"].items():
            with_pyc, without = statistics.median(figures["bytecode"]), statistics.median(figures["source"])
            target = TARGETS_MS.get(module)
            verdict = "" if target is None else (f"<= {target:.0f} ms " + ("ok" if with_pyc <= target else "MISSED"))
            if target is not None and with_pyc > target:
                failures.append(f"{module} in {image}: {with_pyc:.0f} ms > {target:.0f} ms")
            ours = [path for path in figures["compiled_from_source"] if path.startswith("/var/task/")]
            if ours:
                failures.append(f"{image}: {len(ours)} module(s) of /var/task compiled from source, e.g. {ours[:3]}")
            figures.update(median_bytecode_ms=with_pyc, median_source_ms=without, target_ms=target)
            print(
                f"{name:<11} {module:<34} {with_pyc:>6.0f} ms {without:>6.0f} ms {without / with_pyc:>5.1f}x  {verdict}"
            )
        stdlib = [
            p for m in found["modules"].values() for p in m["compiled_from_source"] if not p.startswith("/var/task")
        ]
        print(f"{'':<11} (Python {found['python']}, {found['cache_tag']}; compiled from source: {len(stdlib)} other)")
    out = ROOT / ".build" / "bench-cold-import.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"figures: {out.relative_to(ROOT)}")
    for failure in failures:
        print(f"MISSED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
