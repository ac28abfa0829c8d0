"""The migration report: what needs the operator's attention first (flows lost, secrets to fill in,
behaviour changes, objects without a counterpart), then every object of the old repository set against its
counterpart; as text, JSON or markdown."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

SAME, CHANGED, DROPPED, MISSING = "same", "changed", "dropped", "no counterpart yet"
VERDICTS = (SAME, CHANGED, DROPPED, MISSING)
NOTHING_CARRIED = "nothing: "  # where an old Application went, when nothing of it was needed: why follows

# What needs the operator's attention, in the order the report lists it: what would break first.
LOST_FLOW = "lost flow"
SECRET = "secret to fill in"  # noqa: S105 - a topic of the report, not a password
BEHAVIOUR = "behaviour change"
NO_COUNTERPART = "without a counterpart"
STALE_SELECTOR = "stale selector"
GAINED_FLOW = "gained flow"
TOPICS = (LOST_FLOW, SECRET, BEHAVIOUR, NO_COUNTERPART, STALE_SELECTOR, GAINED_FLOW)
# A topic's plural where adding an "s" would not make one.
_PLURALS = {SECRET: "secrets to fill in", NO_COUNTERPART: NO_COUNTERPART}


def plural(topic: str) -> str:
    return _PLURALS.get(topic, f"{topic}s")


@dataclass
class Row:
    kind: str
    name: str
    origin: str
    verdict: str
    counterpart: str = ""
    why: str = ""
    facts: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Attention:
    """One thing the operator must know or do before switching: `topic` is one of TOPICS."""

    topic: str
    subject: str
    message: str


@dataclass
class MigrationReport:
    source: str
    out: str
    rows: list[Row]
    notes: dict[str, str]
    attention: list[Attention] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {v: sum(r.verdict == v for r in self.rows) for v in VERDICTS}

    def attention_items(self) -> list[Attention]:
        """Everything to look at, by topic: the objects without a counterpart come from the rows."""
        missing = [Attention(NO_COUNTERPART, f"{r.kind} {r.name}", r.why) for r in self.rows if r.verdict == MISSING]
        items = [*self.attention, *missing]
        return sorted(items, key=lambda a: TOPICS.index(a.topic))

    def topic_counts(self) -> dict[str, int]:
        items = self.attention_items()
        return {topic: sum(a.topic == topic for a in items) for topic in TOPICS}


def _summary(report: MigrationReport) -> str:
    c = report.counts()
    return (f"{len(report.rows)} Argo CD objects: {c[SAME]} same, {c[CHANGED]} changed, {c[DROPPED]} dropped, "
            f"{c[MISSING]} without a counterpart yet")


def _attention_summary(report: MigrationReport) -> str:
    counts = report.topic_counts()
    parts = [f"{n} {topic if n == 1 else plural(topic)}" for topic, n in counts.items() if n]
    return ", ".join(parts) if parts else "nothing"


def as_text(report: MigrationReport) -> str:
    lines = [f"mip-cmp import {report.source} -> {report.out}: {_summary(report)}", "",
             f"needs your attention: {_attention_summary(report)}"]
    topic = ""
    for item in report.attention_items():
        if item.topic != topic:
            topic = item.topic
            lines.append(f"  {plural(topic)}:")
        lines.append(f"    - {item.subject}: {item.message}")
    lines += ["", "object by object:"]
    for i, row in enumerate(report.rows, 1):
        target = f" -> {row.counterpart}" if row.counterpart else ""
        lines.append(f"{i:2}. {row.kind} {row.name}: {row.verdict}{target}")
        lines.append(f"      from: {row.origin}")
        if row.why:
            lines.append(f"      why: {row.why}")
        lines += [f"      {fact}" for fact in row.facts]
        lines += [f"      ~ {line}" for line in row.fields]
    if report.notes:
        lines += ["", "notes:"]
        lines += [f"  {what}: {note}" for what, note in sorted(report.notes.items())]
    return "\n".join(lines) + "\n"


def as_json(report: MigrationReport) -> str:
    data = {"source": report.source, "out": report.out, "summary": report.counts(),
            "attention": [asdict(a) for a in report.attention_items()],
            "objects": [asdict(row) for row in report.rows], "notes": report.notes}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def as_markdown(report: MigrationReport) -> str:
    out = [f"### mip-cmp import: {len(report.rows)} Argo CD objects", "", _summary(report), "",
           f"#### Needs your attention: {_attention_summary(report)}", ""]
    out += [f"- **{a.topic}** {_cell(a.subject)}: {_cell(a.message)}" for a in report.attention_items()]
    out += ["", "#### Object by object", "",
            "| # | object | verdict | counterpart | why / facts |", "|---|---|---|---|---|"]
    for i, row in enumerate(report.rows, 1):
        notes = "; ".join([row.why, *row.facts] if row.why else row.facts)
        out.append(f"| {i} | {row.kind} `{row.name}` | {row.verdict} | {row.counterpart} | {_cell(notes)} |")
    return "\n".join(out) + "\n"
