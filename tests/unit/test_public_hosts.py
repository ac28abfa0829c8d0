"""What a federation may claim as its `publicHost` (model.PublicHosts): the platform's pattern with the
federation's own name, never a host another name could claim, never a reserved one."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from mip_cmp.model.platform import PublicHosts
from properties import examples

names = st.from_regex(r"\A[a-z0-9](?:[-a-z0-9]{0,20}[a-z0-9])?\Z", fullmatch=True)
labels = st.from_regex(r"\A[a-z0-9](?:[-a-z0-9]{0,6}[a-z0-9])?\Z", fullmatch=True)
# A pattern's labels: `*`, fixed text, or the name between fixed text (at least one of those).
name_labels = st.tuples(st.sampled_from(["", "mip-", "x"]), st.sampled_from(["", "-mip", "0"])).map(
    lambda t: f"{t[0]}{{{{ federation.name }}}}{t[1]}")
patterns = st.tuples(st.lists(st.just("*") | labels, max_size=2), name_labels,
                     st.lists(st.just("*") | labels, max_size=3)).map(lambda t: ".".join([*t[0], t[1], *t[2]]))


@examples(100)  # the project's settings: no deadline, no health check (they failed it under a load of 26)
@given(pattern=patterns, first=names, second=names, fill=labels)
def test_no_host_is_allowed_for_two_names(pattern: str, first: str, second: str, fill: str) -> None:
    """Why no federation's render needs another federation's file to keep hosts unique."""
    hosts = PublicHosts(pattern=pattern)
    host = hosts.example(first).replace("*", fill)
    assert hosts.allows(first, host)
    assert hosts.allows(second, host) == (first == second)


def test_a_star_is_one_label_and_reserved_hosts_are_nobodys() -> None:
    hosts = PublicHosts(pattern="*.{{ federation.name }}.mip.example.org", reserved=["ui.datacatalog.mip.example.org"])
    assert hosts.allows("federation-a", "ui.federation-a.mip.example.org")
    assert not hosts.allows("federation-a", "federation-a.mip.example.org")  # `*` is one label, not none
    assert not hosts.allows("federation-a", "a.b.federation-a.mip.example.org")  # nor two
    assert not hosts.allows("federation-a", "UI.federation-a.mip.example.org")
    assert not hosts.allows("datacatalog", "ui.datacatalog.mip.example.org")


@pytest.mark.parametrize(("pattern", "message"), [
    ("mip.example.org", "must hold {{ federation.name }}"),
    ("*.mip.example.org", "must hold {{ federation.name }}"),
    ("-{{ federation.name }}.org", "is not a DNS label"),
    ("{{ federation.name }}..org", "should match pattern"),
    ("{{ federation.namespace }}.org", "should match pattern"),
    ("x*.{{ federation.name }}.org", "should match pattern"),
])
def test_a_pattern_binds_the_name(pattern: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("{", r"\{").replace("}", r"\}")):
        PublicHosts(pattern=pattern)
