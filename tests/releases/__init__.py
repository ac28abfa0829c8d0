"""The full render of the sample platform as each release made it (see docs/operations.md, "Upgrade mip-cmp").

`<version>/sample.yaml`: every Application's manifests exactly as Argo CD asks for them, each preceded by a
`# <rendering Application>` line: the renders of `tools/renders.app_renders`, the one list `validate`, `diff`
and `graph` render too (the root; each federation, bound by the ApplicationSet's parameters, with its secrets,
objects and network components where it has them; each common app's network and secrets Applications).
`unreleased/` is what the code renders now; a release copies it to `<version>/`, never rewritten after (0.1.0
recorded the root, the federations and their secrets only). Regenerate `unreleased/` with
`MIP_UPDATE_GOLDEN=1`.
"""

from __future__ import annotations

from pathlib import Path

from mip_cmp.pipeline import render_objects
from mip_cmp.stage1_read.repo import Repo
from mip_cmp.stage2_check.loading import load_federations, load_platform
from mip_cmp.stage5_write import emit
from mip_cmp.tools.renders import app_renders

RELEASES = Path(__file__).parent
REVISION = "main"


def full_render(root: Path) -> bytes:
    repo = Repo(root)
    platform = load_platform(repo)
    renders = app_renders(platform, load_federations(repo, platform), REVISION)
    return b"".join(f"# {app}\n".encode() + emit.dump(render_objects(repo, ".", env, platform))
                    for app, env in renders)
