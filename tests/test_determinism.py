"""Same input, same bytes: across processes, hash seeds and the C/pure-Python YAML paths."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import SAMPLE_FEDERATIONS, SAMPLE_REPO, argo_env, base_env, run_cli
from mip_cmp.stage5_write import emit

# What `mip-cmp generate` answers (mip_cmp.answer, the code path of the CLI and of the renderer's workers) for
# each (directory, environment) of argv[1], in one process: the hash seed is the process's.
_ANSWERS = """
import json, sys
from mip_cmp.answer import answer
print(json.dumps([[code, out.decode(), err.decode()] for code, out, err in
                  (answer(cwd, env) for cwd, env in json.loads(sys.argv[1]))]))
"""


def _answers(apps: list[tuple[Path, dict[str, str]]], seed: str) -> list[tuple[int, str, str]]:
    cases = json.dumps([[str(cwd), env] for cwd, env in apps])
    result = subprocess.run([sys.executable, "-c", _ANSWERS, cases], env={**base_env(), "PYTHONHASHSEED": seed},
                            capture_output=True, timeout=120, check=True)
    return [tuple(answer) for answer in json.loads(result.stdout)]


@pytest.mark.slow
def test_output_is_identical_under_different_hash_seeds() -> None:
    apps = [(SAMPLE_REPO, argo_env("."))] + [
        (d, argo_env(d.relative_to(SAMPLE_REPO).as_posix(), params=[{"name": "federation", "string": d.name}]))
        for d in SAMPLE_FEDERATIONS
    ]
    first = _answers(apps, "1")
    for (code, out, err), (app_dir, _) in zip(first, apps, strict=True):
        assert (code, err) == (0, ""), app_dir
        assert out, "generate must never succeed with empty output"
    assert first == _answers(apps, "4242")


class _PureDumper(yaml.SafeDumper):
    """PyYAML's pure-Python emitter with emit's settings (no aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def test_c_and_pure_python_emitters_write_the_same_bytes() -> None:
    out = run_cli("generate", cwd=SAMPLE_REPO, env=argo_env(".")).stdout
    objects = list(yaml.safe_load_all(out))
    assert emit.dump(objects) == out
    assert emit._dump(objects, _PureDumper) == out


def test_no_yaml_anchors_even_for_shared_objects() -> None:
    shared = {"a": 1}
    out = emit.dump([{"kind": "X", "x": shared, "y": shared}])
    assert b"&" not in out and b"*" not in out
