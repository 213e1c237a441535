"""Hypothesis strategies for hostile JSON: any shape another person's client could send,
weighted towards the keys and strings the code under test looks for."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy


def json_like(strings: list[str], keys: list[str], max_leaves: int = 25) -> SearchStrategy[object]:
    """Nested lists and objects of any JSON value (NaN and infinities too, as some
    servers pass them), with `keys` and `strings` often among the random ones."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(strings),
        st.text(max_size=20),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=8)), children, max_size=6),
        ),
        max_leaves=max_leaves,
    )
