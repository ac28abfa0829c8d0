"""Resource abuse: one sidecar renders for every tenant, so no input may take it down for the others.

Each case below is an input within the repository's limits that, before budget.py, blew the budget: memory
(an OOM kill takes argocd-cmp-server and every render in flight with it), CPU from regular expressions,
CPU from legal templates, output size, YAML volume, a platform's own pathological pattern. Each runs the
way argocd-cmp-server runs `mip-cmp generate`, in a fresh process (so that its peak resident set is its
own, read with wait4), and must

* end as the case says: exit 0 with output, or exit 1 with nothing on stdout and the exact error, which
  names the file, the field and the limit;
* stay within the targets on the project's 2-core machine: peak RSS <= TARGET_RSS_MIB, CPU <= TARGET_CPU_S;
* and, when it hits a limit, stop within a second of it.

The measured figures are printed (pytest -s) and listed at the end of every run (tests/conftest.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import SAMPLE_REPO, argo_env, base_env
from mip_cmp.core import budget

TARGET_RSS_MIB = 128
TARGET_CPU_S = 5.0
FED_A = "federations/federation-a"
FED_FILE = f"{FED_A}/mip.yaml"
BOUND = [{"name": "federation", "string": "federation-a"}, {"name": "directory", "string": FED_A}]


def federation(name: str, values: str = "", apps: str = "exareme2") -> str:
    """A federation file; `values` (lines indented by 6) go under its first app's values, from line 8 on."""
    head = f"apiVersion: mip-cmp.io/v1alpha1\nkind: Federation\nname: {name}\ncluster: in-cluster\napps:\n"
    if values:
        return head + f"  {apps}:\n    values:\n" + values
    return head + "".join(f"  {app}: {{}}\n" for app in apps.split(","))


def fill(line: Callable[[int], str], limit: int = budget.MAX_FILE_BYTES - 4096) -> str:
    """As many numbered value lines as fit in `limit` bytes."""
    out, size, i = [], 0, 0
    while size + len(text := line(i)) <= limit:
        out.append(text)
        size += len(text)
        i += 1
    return "".join(out)


def add_federations(repo: Path, count: int, text: Callable[[str], str]) -> None:
    """`count` federations named (and in directories named) federation-x0000, ...; `text(name)` is the file."""
    for i in range(count):
        name = f"federation-x{i:04d}"
        directory = repo / "federations" / name
        directory.mkdir()
        (directory / "mip.yaml").write_text(text(name))


def root_with(replace: str, by: str) -> Callable[[Path], None]:
    def setup(repo: Path) -> None:
        root = repo / "mip.yaml"
        text = root.read_text()
        assert replace in text
        root.write_text(text.replace(replace, by))

    return setup


# --- the inputs -------------------------------------------------------------------------------------------

def memory_templates(repo: Path) -> None:
    """Every value a 16 KiB template result: the whole output used to be built before its size was checked
    (a 250 KB file drove one render past 480 MiB)."""
    (repo / FED_FILE).write_text(federation("federation-a", fill(lambda i: f"      k{i}: \"{{{{ 'x' * 16000 }}}}\"\n")))


def template_cpu_measuring(repo: Path) -> None:
    """Each template measures (walks) the largest lists it may build, 40 times: a file of them took over
    70 s of CPU."""
    template = "{{ [" + ", ".join(["([''] * 4000)|length"] * 40) + "] }}"
    (repo / FED_FILE).write_text(federation("federation-a", fill(lambda i: f"      k{i}: \"{template} {i}\"\n")))


def template_cpu_compiling(repo: Path) -> None:
    """Thousands of distinct deep filter chains: each costs jinja2 and Python milliseconds to compile."""
    template = "{{ federation.name" + " | upper" * 17 + " }}"
    (repo / FED_FILE).write_text(federation("federation-a", fill(lambda i: f"      k{i}: \"{template}{i}\"\n")))


def regex_credential_detector(repo: Path) -> None:
    """A valid file whose values make the credential detector's JWT pattern restart inside one long run:
    quadratic, and the root render (which checks every federation) went past Argo CD's deadline."""
    (repo / FED_FILE).write_text(federation("federation-a", fill(lambda i: f"      k{i}: {'eyJ' * 2000}\n")))


def regex_error_scrubber(repo: Path) -> None:
    """An invalid file whose error message (the path of a bad key) made the scrubber's `key=value` pattern
    backtrack quadratically: over 100 s for one error line."""
    key = "x" + "a." * 100_000
    (repo / FED_FILE).write_text(federation("federation-a").replace("  exareme2: {}\n", f"  ? {key}\n  : {{}}\n"))


def yaml_volume_at_the_root(repo: Path) -> None:
    """Many federation files of the largest node count each: the root reads them all (about 0.2 s of CPU
    each), 28 s for 127 of them."""
    values = "".join(f"      k{i}: [1, 2, 3, 4]\n" for i in range(8000))  # each file just under MAX_NODES
    add_federations(repo, 8, lambda name: federation(name, values))  # the 6th passes the total


def output_amplification(repo: Path) -> None:
    """Every federation lists every catalog app, each with a long repoURL: each federation's AppProject
    repeats them all. The root's output would be hundreds of MiB; it stops at budget.MAX_OUTPUT_BYTES."""
    url = "https://example.org/" + "r" * 1900
    catalog = "".join(f"  app{i}:\n    repoURL: {url}{i}\n    path: chart\n    revision: main\n    version: '1'\n"
                      for i in range(60))
    root_with("\ncatalog:\n", "\ncatalog:\n" + catalog)(repo)
    apps = ",".join(f"app{i}" for i in range(60))
    add_federations(repo, 160, lambda name: federation(name, apps=apps))  # the 142nd passes the limit


def pathological_name_pattern(repo: Path) -> None:
    """The platform's own namePattern backtracks exponentially on a federation's name: no counter sees work
    inside a regular expression, the CPU timer stops it."""
    root_with("federations:\n  path: federations\n",
              "federations:\n  path: federations\n  namePattern: '^(federation-)?([a-z]+)*-$'\n")(repo)
    (repo / FED_FILE).write_text(federation("federation-" + "a" * 28))


def largest_federation(repo: Path) -> None:
    """A valid federation file of the largest size and node count: must render, within the targets."""
    (repo / FED_FILE).write_text(federation("federation-a", "".join(f"      k{i}: [1, 2, 3, 4]\n" for i in range(8000))))


def many_federations(repo: Path) -> None:
    """The most federations a platform may have (budget.MAX_FEDERATIONS): the root must render them."""
    add_federations(repo, budget.MAX_FEDERATIONS - 2, lambda name: federation(name, apps="exareme2,mip-stack"))


@dataclass(frozen=True)
class Case:
    id: str
    setup: Callable[[Path], None]
    expect: str  # exit 1: the exact first stderr line; "" for exit 0
    app: str = "."
    params: list[dict[str, str]] | None = None
    limit_seconds: float | None = None  # a time limit the case must hit (and stop within a second of)


def _templates_message(field: str, line: int, col: int, what: str) -> str:
    return f"{FED_FILE}:{line}:{col}: apps.exareme2.values.{field}: {what}"


CASES = [
    Case("memory-template-results", memory_templates,
         _templates_message("k65", 73, 12, "the templates of this render produce more than 1,048,576 characters "
                            "(budget.MAX_TEMPLATE_OUTPUT_CHARS); use fewer or shorter templates"),
         params=BOUND),
    Case("template-cpu-measuring", template_cpu_measuring,
         _templates_message("k6", 14, 11, "the templates of this render need more than 1,000,000 evaluation "
                            "steps (budget.MAX_TEMPLATE_STEPS); use fewer or simpler templates"),
         params=BOUND),
    Case("template-cpu-compiling", template_cpu_compiling,
         _templates_message("k230", 238, 13, "the templates of this render need more than 1,000,000 evaluation "
                            "steps (budget.MAX_TEMPLATE_STEPS); use fewer or simpler templates"),
         params=BOUND),
    Case("regex-credential-detector", regex_credential_detector, "", params=BOUND),
    Case("regex-credential-detector-at-the-root", regex_credential_detector, ""),
    Case("regex-error-scrubber", regex_error_scrubber,
         f"{FED_FILE}:7:5:  ...: must be at most 63 characters", params=BOUND),
    Case("yaml-volume-at-the-root", yaml_volume_at_the_root,
         "federations/federation-x0005/mip.yaml: the mip.yaml files of this render hold more than 250,000 YAML "
         "nodes together (budget.MAX_TOTAL_NODES); make them smaller"),
    Case("output-amplification", output_amplification,
         "mip.yaml: output: AppProject federation-x0141: the output exceeds 16777216 bytes "
         "(budget.MAX_OUTPUT_BYTES) at this object; render less"),
    Case("cpu-pathological-name-pattern", pathological_name_pattern,
         f"{FED_FILE}:3:7: name: this render used more than 4 s of CPU time (budget.MAX_RENDER_CPU_SECONDS) "
         "and was stopped here; make the input smaller or simpler",
         params=[{"name": "federation", "string": "federation-" + "a" * 28}, BOUND[1]],
         limit_seconds=budget.MAX_RENDER_CPU_SECONDS),
    Case("largest-federation-renders", largest_federation, "", params=BOUND),
    Case("most-federations-render", many_federations, ""),
]


@dataclass(frozen=True)
class Usage:
    code: int
    stdout_bytes: int
    stderr: str
    rss_mib: float
    cpu_s: float
    wall_s: float
    stdout: bytes = b""


# A process's peak RSS counts the pages it had before exec: a child forked from this (large) test process
# would report this process's size. So a small launcher forks and execs the command, and reports its
# rusage from wait4.
_LAUNCH = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status), usage.ru_maxrss, usage.ru_utime + usage.ru_stime]), file=sys.stderr)
"""


def measure(cwd: Path, env: dict[str, str], timeout: float = 120) -> Usage:
    """Run `mip-cmp generate` as argocd-cmp-server does (plain in-process path), and read its own peak RSS
    and CPU time from the kernel (wait4)."""
    start = time.monotonic()
    # Without coverage: its tracer (CI measures branch coverage) doubles a render's CPU time, and these
    # figures are the product's own. Every limit these cases reach is covered by in-process tests too.
    plain = {k: v for k, v in base_env().items() if not k.startswith("COVERAGE_")}
    result = subprocess.run([sys.executable, "-c", _LAUNCH, sys.executable, "-m", "mip_cmp", "generate"], cwd=cwd,
                            env={**plain, **env, "MIP_CMP_RENDERER": "off"}, capture_output=True,
                            timeout=timeout, check=True)
    wall = time.monotonic() - start
    *lines, last = result.stderr.decode(errors="replace").splitlines()
    code, maxrss_kib, cpu = json.loads(last)
    stderr = "".join(line + "\n" for line in lines)
    return Usage(code, len(result.stdout), stderr, maxrss_kib / 1024, cpu, wall, result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_resource_abuse_stays_within_budget(case: Case, tmp_path: Path, record_property: Callable[..., None]) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLE_REPO, repo)
    case.setup(repo)
    env = argo_env(case.app, params=case.params)
    usage = measure(repo / case.app, env)
    figures = (f"{case.id}: exit {usage.code}, peak RSS {usage.rss_mib:.0f} MiB (target {TARGET_RSS_MIB}), "
               f"CPU {usage.cpu_s:.2f} s (target {TARGET_CPU_S:g}), wall {usage.wall_s:.2f} s")
    print("\n" + figures)
    record_property("resources", figures)
    first = usage.stderr.splitlines()[0] if usage.stderr else ""
    if case.expect:
        assert (usage.code, usage.stdout_bytes) == (1, 0), usage.stderr[:2000]
        assert first == case.expect
    else:
        assert (usage.code, usage.stderr) == (0, ""), usage.stderr[:2000]
        assert usage.stdout_bytes > 0
    assert usage.rss_mib <= TARGET_RSS_MIB, figures
    assert usage.cpu_s <= TARGET_CPU_S, figures
    if case.limit_seconds is not None:
        # It ran into the limit (the kernel's CPU timer and its rusage accounting differ by a few percent) and
        # stopped within a second of it, interpreter start-up included.
        assert 0.9 * case.limit_seconds <= usage.cpu_s <= case.limit_seconds + 1, figures


def test_every_budget_is_documented_and_each_limit_is_one_constant() -> None:
    """The table docs/security.md shows is budget.markdown_table(): the numbers there are the code's."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text()
    assert budget.markdown_table() in text
    names = {limit.name for limit in budget.limits()}
    constants = {name for name in vars(budget) if name.startswith("MAX_")}
    documented = {part.strip() for name in names for part in name.split("/")}
    assert constants <= documented, f"undocumented limits: {sorted(constants - documented)}"


def test_scrubbing_and_credential_checks_are_linear() -> None:
    """The worst inputs we know for each pattern, at the largest size a file allows: well under a second
    each (they were quadratic: minutes at this size)."""
    from mip_cmp.core import redact

    size = budget.MAX_FILE_BYTES
    inputs = {
        "word-run": "a" * size, "jwt-prefixes": "eyJ" * (size // 3), "dotted": "a." * (size // 2),
        "begin-key": "-----BEGIN" * (size // 10), "password-words": "password" * (size // 8),
        "url-passwords": "://a:" * (size // 5), "token-prefixes": "glpat-" * (size // 6),
        "github-pat": "github_pat_" * (size // 11), "slack": "xoxa-" * (size // 5), "stripe": "sk-live-" * (size // 8),
    }
    for name, text in inputs.items():
        start = time.process_time()
        redact.scrub(text)
        redact.credential_value("apiKey", text)
        redact.credential_value("password", text)
        spent = time.process_time() - start
        print(f"regex {name}: {spent * 1000:.1f} ms for {len(text)} characters")
        assert spent < 0.5, (name, spent)


def test_scrubbing_still_redacts_what_it_did() -> None:
    from mip_cmp.core import redact

    text = ("DB_PASSWORD=hunter2 api-key = abc -----BEGIN RSA PRIVATE KEY----- "
            "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4 https://u:pw@host ghp_abcdefghijklmnopqrstuvwxyz "
            "sk-live-abcdefghijk AKIAIOSFODNN7EXAMPLE glpat-abcdefghijklmnopqrstu xoxb-1234567890ab "
            "github_pat_abcdefghijklmnopqrstuv Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg")
    assert redact.scrub(text) == ("DB_PASSWORD=<redacted> api-key = <redacted> <redacted> <redacted> "
                                  "https://u:<redacted>@host <redacted> <redacted> <redacted> <redacted> "
                                  "<redacted> <redacted> <redacted>")


def test_a_credential_cut_by_the_scrub_window_is_not_half_shown() -> None:
    from mip_cmp.core import redact

    secret = "AKIAIOSFODNN7EXAMPLE"
    for shift in range(len(secret) + 1):
        text = "x " * ((budget.SCRUB_WINDOW_CHARS - shift) // 2) + secret + " tail"
        scrubbed = redact.scrub(text)
        assert "AKIA" not in scrubbed and "EXAMPLE" not in scrubbed, shift
        assert len(scrubbed) <= budget.MAX_MESSAGE_CHARS

