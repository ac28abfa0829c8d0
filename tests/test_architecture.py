"""The import graph of mip_cmp against the layers docs/architecture.md lists: every module is in exactly one
layer, and a module imports only from layers below its own (so there is no cycle either). Imports inside
functions count: a lazy import is still a dependency."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from helpers import REPO_ROOT

PACKAGE = REPO_ROOT / "plugin" / "mip_cmp"
DOC = REPO_ROOT / "docs" / "architecture.md"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts) if parts != ["__init__"] else "__init__"


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layers() -> list[list[str]]:
    """The numbered list between the layer markers of docs/architecture.md, lowest layer first."""
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- layers:start -->")[1].split("<!-- layers:end -->")[0]
    rows = [line for line in block.splitlines() if re.match(r"\d+\. ", line)]
    return [re.findall(r"`([\w.]+)`", row.split(":", 1)[0]) for row in rows]


def imports_of(name: str) -> set[str]:
    """The mip_cmp modules `name` imports (relative imports; the package itself imports nothing)."""
    path = MODULES[name]
    package = name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = [*base, *(node.module.split(".") if node.module else [])]
            for alias in node.names:
                sub = ".".join([*target, alias.name])
                package_init = ".".join([*target, "__init__"])
                found.add(sub if sub in MODULES else package_init if package_init in MODULES
                          else (".".join(target) or "__init__"))
        elif isinstance(node, ast.ImportFrom | ast.Import):
            for alias in getattr(node, "names", []):
                full = getattr(node, "module", None) or alias.name
                assert not full.startswith("mip_cmp"), f"{name}: import mip_cmp relatively ({full})"
    found.discard(name)
    return found


def test_every_module_is_in_exactly_one_layer() -> None:
    listed = [m for layer in layers() for m in layer]
    assert len(listed) == len(set(listed)), "a module is listed twice"
    assert set(listed) == set(MODULES), (
        f"not in docs/architecture.md: {sorted(set(MODULES) - set(listed))}; "
        f"listed but missing: {sorted(set(listed) - set(MODULES))}")


def test_no_module_imports_its_own_layer_or_one_above() -> None:
    level = {m: i for i, layer in enumerate(layers()) for m in layer}
    upward = [f"{m} (layer {level[m] + 1}) imports {t} (layer {level[t] + 1})"
              for m in MODULES for t in sorted(imports_of(m)) if level[t] >= level[m]]
    assert upward == []


def stage_of(module: str) -> int | None:
    """The number in a stage's name (stage1_read.repo: 1); None for what is not a stage."""
    found = re.match(r"stage(\d)_", module)
    return int(found[1]) if found else None


def test_no_stage_imports_a_later_stage() -> None:
    """The stages are numbered in the order they run: each may use what an earlier one made, never a later one
    (the reader of stage 1 does not depend on the writer of stage 5)."""
    backward = [f"{m} imports {t}" for m in MODULES if stage_of(m) for t in sorted(imports_of(m))
                if (stage_of(t) or 0) > (stage_of(m) or 0)]
    assert backward == []
    # A checker that sees no stage import cannot fail: the expansion does use the bound platform of stage 2.
    assert stage_of("stage2_check.loading") == 2 and "stage2_check.loading" in imports_of("stage3_expand.platform")


MAX_MODULE_LINES = 450  # issue 21: a module past this did two jobs, every time it was looked at


def test_no_module_is_longer_than_one_job() -> None:
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in lengths.items() if n > MAX_MODULE_LINES} == {}


def test_the_import_graph_has_no_cycle() -> None:
    # Implied by the layers; checked on its own so that a failure names the cycle.
    graph = {m: imports_of(m) for m in MODULES}
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        assert node not in trail, "import cycle: " + " -> ".join([*trail[trail.index(node):], node])
        if node in done:
            return
        for target in sorted(graph[node]):
            visit(target, [*trail, node])
        done.add(node)

    for module in sorted(graph):
        visit(module, [])


def test_the_checker_sees_imports() -> None:
    """A checker that finds nothing cannot fail: it must see the pipeline's own imports."""
    assert {"stage3_expand.platform", "stage2_check.loading", "stage4_gate", "stage1_read.repo"} <= imports_of(
        "pipeline")
    assert "answer" in imports_of("renderer.server")
    assert "stage5_write.fastyaml" in imports_of("stage5_write.emit")


# --- words spelled once ----------------------------------------------------------------------------------------

VOCABULARY = PACKAGE / "core" / "vocabulary.py"
# Spelled once in the vocabulary too, but not searched for: versions ("v1" is also core Kubernetes' own), and
# Argo CD's namespace, "argocd", which is also the name of a mip.yaml field.
NOT_SEARCHED = ("_VERSION", "ARGOCD_NAMESPACE")


def vocabulary_words() -> dict[str, str]:
    """Each text the vocabulary module defines, by its name: the module's own values, not its source."""
    from mip_cmp.core import vocabulary

    return {name: value for name, value in vars(vocabulary).items()
            if name.isupper() and isinstance(value, str) and not name.endswith(NOT_SEARCHED)}


def spellings(path: Path) -> list[tuple[int, str]]:
    """The text constants of a module that are code, not prose: docstrings and the values a `Literal[...]` type
    lists (a type must spell its values) are left out; the parts of f-strings count."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prose = {id(node.body[0].value) for node in ast.walk(tree)
             if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body
             and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    typed = {id(inner) for node in ast.walk(tree)
             if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "Literal"
             for inner in ast.walk(node.slice)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose | typed]


def _structured(word: str) -> bool:
    """A word that cannot be prose (an API group, an annotation, a sync option): also found inside a text."""
    return any(c in word for c in "./=")


@pytest.mark.slow
def test_the_words_of_argo_cd_external_secrets_and_kubernetes_are_spelled_once() -> None:
    """A word of the outside (an apiVersion, an annotation, a sync option, `in-cluster`) is written in
    vocabulary.py and imported everywhere else: a second spelling would drift when Argo CD changes."""
    words = vocabulary_words()
    again = [f"{path.relative_to(REPO_ROOT)}:{line}: {text!r} is vocabulary.{name}"
             for path in MODULES.values() if path != VOCABULARY
             for line, text in spellings(path)
             for name, word in words.items() if text == word or (_structured(word) and word in text)]
    assert again == []


def test_the_spelling_check_sees_a_spelling() -> None:
    words = vocabulary_words()
    assert {"CREATE_NAMESPACE", "PART_OF", "IN_CLUSTER", "ARGO_API", "SYNC_OPTIONS"} <= set(words)
    assert ("CreateNamespace=true" in [text for _, text in spellings(VOCABULARY)])


# --- docs/architecture.md's other claims ---------------------------------------------------------------------

NAMES = r"((?:`[\w./]+`(?:,? and |, | )?)+)"
# "imports nothing" (of mip-cmp); "imports nothing of `x`"; "imports `x`, `y` only"; "may import `x`, `y`": the
# list ends at the end of the sentence (a dot inside `contract.params` does not end it).
CLAIM = re.compile(rf"(?i)\bimports? nothing of {NAMES}|\b(imports? nothing)\b|\bimports {NAMES} only|"
                   r"\bmay import ((?:[^.;]|\.(?=\w))*)")


def module_paragraphs() -> list[tuple[list[str], str]]:
    """The paragraphs of the "Modules" section: the modules each names in bold (`a/b` written for `a.b`,
    `a/` for a package) and its text."""
    text = DOC.read_text(encoding="utf-8").split("\n## Modules\n")[1].split("\n## ")[0]
    return [([name.replace("/", ".") for name in re.findall(r"\*\*`([\w./]+)`\*\*", para)], para)
            for para in text.split("\n\n") if "**`" in para]


def covered(name: str, bold: list[str]) -> bool:
    return name in bold or any(b.endswith(".") and name.startswith(b) for b in bold)


def test_every_module_has_a_paragraph() -> None:
    bold = [name for names, _ in module_paragraphs() for name in names]
    missing = [m for m in MODULES if not m.endswith("__init__") and not covered(m, bold)]
    assert missing == []


def known(name: str) -> bool:
    """A module, or a folder of modules (`core` stands for each module of core/)."""
    return name in MODULES or any(m.startswith(f"{name}.") for m in MODULES)


def claims(para: str) -> list[tuple[list[str], str, set[str]]]:
    """(modules, kind, named modules) for each claim of a paragraph: a sentence is about the modules it names
    in bold, else about those of the last sentence that did ("Both ...": the last two named; "They ...": all
    named so far)."""
    found: list[tuple[list[str], str, set[str]]] = []
    subjects: list[str] = []
    named: list[str] = []
    for sentence in re.split(r"(?<=[.)])\s+(?=\*\*|[A-Z])", " ".join(para.split())):
        bold = [n.replace("/", ".") for n in re.findall(r"\*\*`([\w./]+)`\*\*", sentence)]
        named += bold
        subjects = bold or (named[-2:] if sentence.startswith("Both") else named if sentence.startswith("They")
                            else subjects)
        for match in CLAIM.finditer(sentence):
            none_of, nothing, only, may = match.groups()
            listed = {m.replace("/", ".").rstrip(".") for m in re.findall(r"`([\w./]+)`", none_of or only or may or "")}
            kind = "none of" if none_of else "exactly" if (nothing or only) else "at most"
            if kind == "at most" and not any(known(x) for x in listed):
                continue  # "may import the layers below": no list to check
            found.append((subjects, kind, listed))
    return found


def test_what_each_paragraph_says_a_module_imports_is_what_it_imports() -> None:
    """"Imports nothing", "imports `x` only", "may import `x`, `y`" and "imports nothing of `x`" are held to
    the import graph for the modules their sentence is about."""
    wrong = []
    checked = 0
    for _, para in module_paragraphs():
        for subjects, kind, listed in claims(para):
            for subject in (m for s in subjects for m in MODULES if covered(m, [s])):
                # A package named (`model`, `expand`) stands for each of its modules.
                actual = {next((x for x in listed if a.startswith(f"{x}.")), a) for a in imports_of(subject)}
                checked += 1
                if (kind == "exactly" and actual != listed) or (kind == "at most" and not actual <= listed):
                    wrong.append(f"{subject}: the page says {kind} {sorted(listed)}, it imports {sorted(actual)}")
                elif kind == "none of" and any(a == x or a.startswith(f"{x}.") for a in actual for x in listed):
                    wrong.append(f"{subject}: the page says none of {sorted(listed)}, it imports {sorted(actual)}")
    assert wrong == []
    assert checked >= 25, "the claims were not found: the pattern is broken"


def test_the_claim_reader_reads_each_kind() -> None:
    para = ("**`a`** does this. Imports nothing. **`b/c`** does that; it may import `budget`, `contract.params` and "
            "`names`. **`g`** too. Both import nothing of `expand/`. **`i`** imports `budget` only. They may import "
            "the layers below.")
    assert [(s, k, sorted(x)) for s, k, x in claims(para)] == [
        (["a"], "exactly", []), (["b.c"], "at most", ["budget", "contract.params", "names"]),
        (["b.c", "g"], "none of", ["expand"]), (["i"], "exactly", ["budget"])]


def test_the_parameters_the_page_lists_are_the_contracts() -> None:
    from mip_cmp.contract.params import PARAMETERS

    para = next(p for names, p in module_paragraphs() if "contract.params" in names)
    listed = re.findall(r"`(\w+)`", para.split("(", 1)[1].split(")", 1)[0])
    assert listed == [p.name for p in PARAMETERS]


def test_every_test_file_a_document_or_the_code_cites_exists() -> None:
    cited = {(path.relative_to(REPO_ROOT), ref)
             for path in [*REPO_ROOT.glob("*.md"), *(REPO_ROOT / "docs").glob("*.md"), REPO_ROOT / "plugin.yaml",
                          *PACKAGE.rglob("*.py")] if path.name != "CHANGELOG.md"  # history names old paths
             for ref in re.findall(r"\btests/[\w/]+\.py\b", path.read_text(encoding="utf-8"))}
    assert cited, "the pattern finds nothing"
    assert [f"{source}: {ref}" for source, ref in sorted(cited) if not (REPO_ROOT / ref).is_file()] == []


# Core modules whose rules are tested on their own, in-process: each has its file in tests/unit/ (a package by
# its name). The rest is tested through them and by the golden cases.
# tests/unit/ is flat: a module's file is named by its last part, a stage's number left out
# (tests/unit/test_repo.py for stage1_read/repo.py, tests/unit/test_gate.py for stage4_gate.py).
UNIT_TESTED = ("core.errors", "core.helm", "core.keypath", "core.meter", "core.redact", "stage1_read.buildenv",
               "stage1_read.repo", "stage1_read.yamlsource", "stage1_read.templating", "stage2_check.loading",
               "stage2_check.modelcheck", "stage2_check.flows", "stage3_expand", "stage4_gate", "stage5_write.emit",
               "pipeline", "reporter", "tools.renders", "tools.validate")


def test_each_core_module_has_its_unit_test_file() -> None:
    names = [re.sub(r"^stage\d_", "", m.rsplit(".", 1)[-1]) for m in UNIT_TESTED]
    assert len(names) == len(set(names)), "two modules would share a unit test file"
    assert [m for m, name in zip(UNIT_TESTED, names, strict=True)
            if not (REPO_ROOT / "tests" / "unit" / f"test_{name}.py").is_file()] == []
    assert all(m in MODULES or f"{m}.__init__" in MODULES for m in UNIT_TESTED)


# --- the folder listing ----------------------------------------------------------------------------------------

def folder_listing() -> list[tuple[str, str]]:
    """(path, job) for each line of the tree between the tree markers of docs/architecture.md, in its order: two
    spaces of indent per level, a folder's line (`read/`) standing for its `__init__.py`."""
    block = DOC.read_text(encoding="utf-8").split("<!-- tree:start -->")[1].split("<!-- tree:end -->")[0]
    lines = [line for line in block.splitlines() if line.strip()]
    assert lines[:2] == ["```text", "plugin/mip_cmp/"] and lines[-1] == "```", "the tree's fence or root moved"
    rows = lines[2:-1]
    listed: list[tuple[str, str]] = []
    folders: list[str] = []
    for line in rows:
        match = re.fullmatch(r"((?:  )+)(\S+)\s+(.*)", line)
        assert match, f"not a tree line: {line!r}"
        indent, name, job = match.groups()
        depth = len(indent) // 2 - 1
        assert depth <= len(folders), f"indented under nothing: {line!r}"
        folders = folders[:depth]
        if name.endswith("/"):
            folders.append(name.rstrip("/"))
            listed.append(("/".join([*folders, "__init__.py"]), job))
        else:
            listed.append(("/".join([*folders, name]), job))
    return listed


def test_the_folder_listing_is_the_tree() -> None:
    """Every module of the package listed once, each with its job, and nothing listed that does not exist."""
    listed = folder_listing()
    paths = [path for path, _ in listed]
    real = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py"))
    assert len(paths) == len(set(paths)), "a module is listed twice"
    assert sorted(paths) == real, (f"not listed: {sorted(set(real) - set(paths))}; "
                                   f"listed but missing: {sorted(set(paths) - set(real))}")
    assert [path for path, job in listed if not job.strip()] == []


def test_the_folder_listing_shows_the_stages_in_pipeline_order() -> None:
    """The stages read, check, expand, gate, write, numbered in their names so that `ls` (any sorted listing)
    shows them in the order they run, and the documented tree in that order too, each stage's modules in its
    folder."""
    pipeline = ["stage1_read", "stage2_check", "stage3_expand", "stage4_gate", "stage5_write"]
    on_disk = [path.name.removesuffix(".py") for path in sorted(PACKAGE.iterdir()) if path.name.startswith("stage")]
    assert on_disk == pipeline
    top = [path.split("/")[0].removesuffix(".py") for path, _ in folder_listing() if path.count("/") <= 1]
    assert [name for name in dict.fromkeys(top) if name.startswith("stage")] == pipeline


def test_the_tree_reader_reads_nesting() -> None:
    assert ("tools/importer/read.py", "the workloads of a built repository") in folder_listing()
    assert folder_listing()[0] == ("__init__.py", "the version")
