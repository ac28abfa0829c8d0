"""The cold path's shortcuts (docs/performance.md, "A lean cold path") change nothing but its speed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from mip_cmp.core import coldstart


def test_the_plugin_loader_stand_in_is_checked_for_this_pydantic() -> None:
    assert pydantic.VERSION.startswith(coldstart.PLUGIN_LOADER_CHECKED), (
        f"pydantic {pydantic.VERSION} is new: read pydantic/plugin/_loader.py and every import of it; if "
        "get_plugins() still returns no plugins when PYDANTIC_DISABLE_PLUGINS disables them all and nothing "
        "else is imported from it, add its release to coldstart.PLUGIN_LOADER_CHECKED")


def test_pydantic_imports_only_get_plugins_from_its_loader() -> None:
    root = Path(pydantic.__file__).parent
    uses = [(path.relative_to(root).as_posix(), line.strip()) for path in sorted(root.rglob("*.py"))
            for line in path.read_text().splitlines() if "_loader" in line and "import" in line]
    assert uses == [("plugin/_schema_validator.py", "from ._loader import get_plugins")]


@pytest.mark.parametrize("disabled", coldstart.PLUGINS_ALL_DISABLED)
def test_pydantic_loader_returns_no_plugins_when_all_are_disabled(disabled: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic's own loader, loaded under another name, answers what the stand-in answers."""
    spec = importlib.util.spec_from_file_location(
        "pydantic_real_loader", Path(pydantic.__file__).parent / "plugin" / "_loader.py")
    assert spec is not None and spec.loader is not None
    real = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real)
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", disabled)
    assert list(real.get_plugins()) == list(coldstart._no_plugins()) == []


PROBE = """\
import sys
from mip_cmp.model import application, fields, platform
platform.Platform.model_validate({"apiVersion": fields.API_VERSION, "kind": "Platform",
                                  "repoURL": "https://example.org/r.git", "clusters": {"in-cluster": "https://k"}})
assert platform.Platform.__pydantic_complete__ and not application.IgnoreDifference.__pydantic_complete__  # defer_build
print(type(sys.modules["pydantic.plugin._loader"].get_plugins()).__name__,
      sorted(m for m in ("importlib.metadata", "email", "zipfile") if m in sys.modules))
"""


@pytest.mark.parametrize(("disabled", "stand_in"), [("__all__", True), ("true", True), ("some-plugin", False)])
def test_no_package_metadata_is_read_when_every_plugin_is_off(disabled: str, stand_in: bool) -> None:
    """A fresh process (what is tested is what it imports): with every plugin off, importlib.metadata is never
    imported; with a single plugin off, pydantic's own loader scans as before."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYDANTIC")}
    out = subprocess.run([sys.executable, "-P", "-c", PROBE], env={**env, "PYDANTIC_DISABLE_PLUGINS": disabled},
                         capture_output=True, text=True, check=True).stdout
    kind, loaded = out.split(" ", 1)
    assert (kind, loaded.strip() == "[]") == (("tuple", True) if stand_in else ("dict_values", False)), out


GC_PROBE = """\
import gc, sys
sys.argv = ["mip-cmp", "generate"]
from mip_cmp.cli import main
code = main()
sys.stdout.flush()
sys.stderr.write(f"\\n@@gc {gc.isenabled()} {gc.get_freeze_count() > 1000} {'mip_cmp.pipeline' in sys.modules}\\n")
sys.exit(code)
"""


def test_a_cold_generate_freezes_what_its_imports_built() -> None:
    """A fresh process (what is tested is the process): rendering itself, `mip-cmp generate` froze what
    importing the pipeline built, and renders with the cyclic garbage collector on."""
    from helpers import SAMPLE_REPO, argo_env, base_env

    env = {**base_env(), **argo_env("."), "MIP_CMP_RENDERER": "off"}
    result = subprocess.run([sys.executable, "-P", "-c", GC_PROBE], cwd=SAMPLE_REPO, env=env,
                            capture_output=True, check=False)
    err, _, probe = result.stderr.rpartition(b"\n@@gc ")
    assert result.returncode == 0, err.decode()
    assert probe.decode().split() == ["True", "True", "True"]
