"""meter: the per-render budgets enforced while a render works (counters, located limits, nesting)."""

from __future__ import annotations

import pytest

from mip_cmp.core import budget, meter
from mip_cmp.core.errors import Problem


def test_outside_a_render_nothing_is_counted() -> None:
    assert meter.current() is None
    meter.steps(budget.MAX_TEMPLATE_STEPS + 1)  # no render: no budget to spend, no error
    meter.nodes(budget.MAX_TOTAL_NODES + 1)


def test_a_counter_stops_the_render_past_its_limit_and_says_which() -> None:
    with pytest.raises(meter.Exceeded) as stopped, meter.metered() as m:
        meter.steps(budget.MAX_TEMPLATE_STEPS)
        assert m.steps == budget.MAX_TEMPLATE_STEPS  # at the limit is within it
        meter.steps(1)
    assert "budget.MAX_TEMPLATE_STEPS" in str(stopped.value)


@pytest.mark.parametrize(("count", "limit", "name"), [
    (meter.template_chars, budget.MAX_TEMPLATE_OUTPUT_CHARS, "MAX_TEMPLATE_OUTPUT_CHARS"),
    (meter.nodes, budget.MAX_TOTAL_NODES, "MAX_TOTAL_NODES"),
])
def test_each_counter_has_its_own_budget(count: object, limit: int, name: str) -> None:
    assert callable(count)
    with pytest.raises(meter.Exceeded, match=name), meter.metered():
        count(limit)
        count(1)


def test_the_limit_is_located_where_the_work_is() -> None:
    with pytest.raises(meter.Exceeded) as stopped, meter.metered():
        meter.at(meter.locator("federations/f/mip.yaml", (7, 3), "apps.x.values"))
        meter.nodes(budget.MAX_TOTAL_NODES + 1)
    [problem] = stopped.value.problems
    assert (problem.file, problem.line, problem.col, problem.path) == ("federations/f/mip.yaml", 7, 3, "apps.x.values")


def test_each_render_starts_with_fresh_counters() -> None:
    for _ in range(2):
        with meter.metered() as m:
            meter.nodes(budget.MAX_TOTAL_NODES)
            assert m.nodes == budget.MAX_TOTAL_NODES
    assert meter.current() is None


def test_a_nested_render_has_its_own_counters_and_gives_the_outer_one_back() -> None:
    with meter.metered() as outer:
        meter.steps(5)
        with meter.metered() as inner:
            meter.steps(2)
            assert (outer.steps, inner.steps) == (5, 2)
        assert meter.current() is outer


def test_steps_uncounted_are_not_charged() -> None:
    with meter.metered() as m:
        with meter.steps_uncounted():
            meter.steps(budget.MAX_TEMPLATE_STEPS + 10)
        assert m.steps == 0
        meter.steps(3)
        assert m.steps == 3


def test_exceeded_is_a_user_error_with_located_problems() -> None:
    error = meter.Exceeded([Problem("mip.yaml", 1, 1, "", "too much")])
    assert [str(p) for p in error.problems] == ["mip.yaml:1:1: too much"]
