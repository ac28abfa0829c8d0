"""The full render of the sample platform as each release made it (see docs/operations.md, "Upgrade mip-cmp").

`<version>/sample.yaml`: every Application's manifests exactly as Argo CD asks for them (the root; each
federation from the root, bound by the ApplicationSet's parameters; its secrets component where it has
one), each preceded by a `# <rendering Application>` line. `unreleased/` is what the code renders now; a
release copies it to `<version>/`. Regenerate `unreleased/` with `MIP_UPDATE_GOLDEN=1`.
"""

from __future__ import annotations

from pathlib import Path

from mip_cmp.expand.federation import federation_secrets
from mip_cmp.pipeline import render_objects
from mip_cmp.read.buildenv import BuildEnv
from mip_cmp.read.loading import load_federations, load_platform
from mip_cmp.read.repo import Repo
from mip_cmp.write import emit

RELEASES = Path(__file__).parent
REVISION = "main"


def full_render(root: Path) -> bytes:
    repo = Repo(root)
    platform = load_platform(repo)
    renders = [("mip-platform", BuildEnv(target_revision=REVISION))]
    for fed in load_federations(repo, platform):
        bound = {"federation": fed.model.name, "directory": fed.directory}
        renders.append((fed.model.name, BuildEnv(target_revision=REVISION, params=bound)))
        if federation_secrets(platform.model, fed.model):
            renders.append((f"{fed.model.name}-secrets",
                            BuildEnv(target_revision=REVISION, params={**bound, "component": "secrets"})))
    return b"".join(f"# {app}\n".encode() + emit.dump(render_objects(repo, ".", env, platform))
                    for app, env in renders)
