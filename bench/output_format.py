#!/usr/bin/env python3
"""`generate`'s output format, measured: today's YAML writer (emit.dump) against JSON documents, in CPU time.

    .venv/bin/python bench/output_format.py                 # the sample's federation-a, and 1000 federations
    .venv/bin/python bench/output_format.py --sizes 1000 2000 --rounds 31

For the sample's federation-a (one federation app) and for the root app of platforms built as bench.py builds
them (make_platform), the objects are rendered once in this process; then, interleaved over --rounds, the CPU
time (time.process_time) of writing them: with emit.dump (fastyaml, PyYAML for what it leaves), and as JSON
documents written as a JSON writer would have to (one `---`-separated document per object, ASCII only, the
output counted object by object as emit counts it). Prints medians with min-max, the bytes of each, and checks
that both read back as the same objects. The decision and its reasons are in docs/performance.md ("YAML, not
JSON, decided by measurement").
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bench import SAMPLE, make_platform
from mip_cmp.contract.params import bound
from mip_cmp.core import budget
from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.buildenv import BuildEnv
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage5_write import emit

Objects = list[dict[str, Any]]


def as_json(objects: Objects) -> bytes:
    """What a JSON `generate` would write: each object one document (Argo CD splits the stream on `---`),
    ASCII only (a control or non-ASCII character escaped, so no reader can fold it), counted as emit counts."""
    chunks: list[bytes] = []
    size = 0
    for obj in objects:
        data = b"---\n" + json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"
        size += len(data)
        if size > budget.MAX_OUTPUT_BYTES:
            raise ValueError("over budget.MAX_OUTPUT_BYTES")
        chunks.append(data)
    return b"".join(chunks)


def cpu_ms(write: Callable[[Objects], bytes], objects: Objects) -> float:
    start = time.process_time()
    write(objects)
    return (time.process_time() - start) * 1000


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms ({min(values):.1f}–{max(values):.1f})"


def measure(label: str, objects: Objects, rounds: int) -> str:
    yaml_out, json_out = emit.dump(objects), as_json(objects)
    read = [list(yaml.load_all(out, Loader=yaml.CSafeLoader)) for out in (yaml_out, json_out)]
    assert read == [objects, objects], label
    times: dict[str, list[float]] = {"yaml": [], "json": []}
    for _ in range(rounds):
        times["yaml"].append(cpu_ms(emit.dump, objects))
        times["json"].append(cpu_ms(as_json, objects))
    return (f"| {label} | {len(objects)} | {summary(times['yaml'])} | {summary(times['json'])} | "
            f"{len(yaml_out):,} | {len(json_out):,} |")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000], help="federations of the root apps")
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    rows = ["| app | objects | YAML (emit.dump), CPU | JSON, CPU | YAML bytes | JSON bytes |",
            "|---|---|---|---|---|---|"]
    params = bound("federation-a", "federations/federation-a")
    rows.append(measure("federation-a", render_objects(Repo(SAMPLE), ".", BuildEnv(params=params)), args.rounds))
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            repo = make_platform(Path(tmp), size)
            rows.append(measure(f"root, {size} federations", render_objects(Repo(repo), ".", BuildEnv()),
                                args.rounds))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
