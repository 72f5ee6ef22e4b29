"""Duration percentiles: within 1 % of the exact answer, whatever the order of arrival."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.views import Sketch
from projections.views.sketch import ALPHA

_values = st.lists(st.floats(min_value=0.001, max_value=1e9, allow_nan=False), min_size=1,
                   max_size=200)


def _sketch(values: list[float]) -> Sketch:
    sketch = Sketch()
    for value in values:
        sketch = sketch.add(value)
    return sketch


@settings(max_examples=200, deadline=None)
@given(values=_values, q=st.sampled_from([0.0, 0.5, 0.95, 0.99, 1.0]))
def test_quantiles_are_within_one_percent(values: list[float], q: float) -> None:
    exact = sorted(values)[math.floor(q * (len(values) - 1))]
    estimate = _sketch(values).quantile(q)
    assert estimate is not None
    assert abs(estimate - exact) <= ALPHA * exact * 1.000001


@settings(max_examples=100, deadline=None)
@given(values=_values, data=st.data())
def test_order_does_not_matter_and_removal_undoes_addition(values: list[float],
                                                           data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(values))
    assert _sketch(values) == _sketch(shuffled)
    extra = data.draw(_values)
    with_extra = _sketch(values + extra)
    for value in extra:
        with_extra = with_extra.add(value, -1)
    assert with_extra == _sketch(values)


def test_empty_sketch_has_no_quantiles_and_zero_counts() -> None:
    assert Sketch().quantile(0.5) is None and Sketch().count == 0
    assert Sketch().add(0).quantile(0.99) == 0.0


def test_sketch_survives_json() -> None:
    sketch = _sketch([1.5, 20, 300, 300])
    assert Sketch.model_validate_json(sketch.model_dump_json()) == sketch
