"""A cold `generate` (no warm renderer: one process imports, renders and exits) without pydantic's plugin
scan. model/fields.py calls `skip_plugin_scan()` before any model is built.

Kept by measurement: on the 2-core machine, a cold `generate` of federation-a used 483 ms of CPU (median of 15,
interleaved, shared machine) with it and 553 ms with pydantic's own loader (fastest runs 398 and 427 ms),
where the cold path is still above its target (docs/performance.md). The warm renderer does not need it
(it imports once). It patches a private module, so it applies only to the pydantic releases read for it
(PLUGIN_LOADER_CHECKED; tests/unit/test_cold_path.py fails on a new one) and otherwise does nothing.
"""

import os
import sys
from types import ModuleType

import pydantic

# pydantic releases whose plugin loader was read and found to do nothing but return no plugins when
# PYDANTIC_DISABLE_PLUGINS disables them all, and whose only import of it is `get_plugins` (in
# pydantic/plugin/_schema_validator.py). Check a new release the same way before adding it here.
PLUGIN_LOADER_CHECKED = ("2.14.",)
PLUGINS_ALL_DISABLED = ("__all__", "1", "true")  # pydantic's own spelling of "every plugin off"
_LOADER = "pydantic.plugin._loader"


def _no_plugins() -> tuple[()]:
    return ()


def skip_plugin_scan() -> bool:
    """With every plugin disabled (cli.main sets PYDANTIC_DISABLE_PLUGINS, the image too), pydantic still
    imports its plugin loader when the first model is built, and the loader imports importlib.metadata (with
    email, zipfile, csv: 15-25 ms of a cold `generate`) only to return no plugins. Where that is all it
    would do (a checked release, every plugin disabled, the loader not loaded yet), a loader that returns no
    plugins stands in for it. Anything else keeps pydantic's own loader: slower, never wrong."""
    if (os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in PLUGINS_ALL_DISABLED or _LOADER in sys.modules
            or not pydantic.VERSION.startswith(PLUGIN_LOADER_CHECKED)):
        return False
    loader = ModuleType(_LOADER, "No pydantic plugins (mip_cmp.core.coldstart.skip_plugin_scan).")
    loader.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[_LOADER] = loader
    return True
