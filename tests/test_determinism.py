"""Same input, same bytes: across processes, hash seeds and the C/pure-Python YAML paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from helpers import SAMPLE_FEDERATIONS, SAMPLE_REPO, argo_env, mip_cmp
from mip_cmp import emit


def _generate(app_dir: Path, source_path: str, params: list[dict[str, str]] | None, seed: str) -> bytes:
    env = argo_env(source_path, params=params)
    env.update(PYTHONHASHSEED=seed, MIP_CMP_RENDERER="off")
    result = mip_cmp("generate", cwd=app_dir, env=env)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def test_output_is_identical_under_different_hash_seeds() -> None:
    apps = [(SAMPLE_REPO, ".", None)] + [
        (d, d.relative_to(SAMPLE_REPO).as_posix(), [{"name": "federation", "string": d.name}])
        for d in SAMPLE_FEDERATIONS
    ]
    for app_dir, source_path, params in apps:
        first = _generate(app_dir, source_path, params, "1")
        assert first, "generate must never succeed with empty output"
        assert first == _generate(app_dir, source_path, params, "4242")


class _PureDumper(yaml.SafeDumper):
    """PyYAML's pure-Python emitter with emit's settings (no aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def test_c_and_pure_python_emitters_write_the_same_bytes() -> None:
    env = argo_env(".")
    env["MIP_CMP_RENDERER"] = "off"
    out = mip_cmp("generate", cwd=SAMPLE_REPO, env=env).stdout
    objects = list(yaml.safe_load_all(out))
    assert emit.dump(objects) == out
    assert emit._dump(objects, _PureDumper) == out


def test_no_yaml_anchors_even_for_shared_objects() -> None:
    shared = {"a": 1}
    out = emit.dump([{"kind": "X", "x": shared, "y": shared}])
    assert b"&" not in out and b"*" not in out
