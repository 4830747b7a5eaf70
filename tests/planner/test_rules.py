"""Every simplification rule alone: it fires where it is exact, not where it is not, and
the result is bit-identical to numpy's (signed zeros and NaN included)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import lazyarray as la
from lazyarray.planner.passes import RULES
from lazyarray.planner.rules import SIMPLIFY
from tests.cases import sample
from tests.planner.helpers import assert_identical, only, run_as_is

# rule, expression (for numpy and lazyarray alike), input dtype, whether the rule fires
CASES: list[tuple[str, Any, str, bool]] = [
    ("mul_by_one", lambda m, x: x * 1, "float64", True),
    ("mul_by_one", lambda m, x: 1.0 * x, "float32", True),
    ("mul_by_one", lambda m, x: x * 1, "complex128", False),
    ("mul_by_one", lambda m, x: x * 1.0, "int64", False),  # the result is float64
    ("add_negative_zero", lambda m, x: x + (-0.0), "float64", True),
    ("add_negative_zero", lambda m, x: x + 0.0, "float64", False),  # -0.0 + 0.0 is 0.0
    ("add_negative_zero", lambda m, x: x + 0, "int64", True),
    ("sub_zero", lambda m, x: x - 0.0, "float64", True),
    ("sub_zero", lambda m, x: x - (-0.0), "float64", False),
    ("sub_zero", lambda m, x: x - 0, "uint8", True),
    ("mul_by_zero", lambda m, x: x * 0, "int64", True),
    ("mul_by_zero", lambda m, x: x * 0, "float64", False),  # NaN*0, -1*0
    ("div_by_one", lambda m, x: x / 1, "float64", True),
    ("div_by_one", lambda m, x: x / 1, "int64", False),
    ("floor_div_by_one", lambda m, x: x // 1, "int64", True),
    ("floor_div_by_one", lambda m, x: x // 1, "float64", False),  # floor(x)
    ("pow_one", lambda m, x: x**1, "float64", True),
    ("pow_two", lambda m, x: m.power(x, 2), "float64", True),  # x**2 is square already
    ("pow_two", lambda m, x: m.power(x, 2), "int8", True),
    ("involution", lambda m, x: -(-x), "int8", True),
    ("involution", lambda m, x: -(-x), "float64", True),
    ("involution", lambda m, x: -(-x), "complex128", True),
    ("involution", lambda m, x: -(-x), "uint8", True),  # wraps, and back
    ("involution", lambda m, x: m.logical_not(m.logical_not(x > 0)), "float64", True),
    ("involution", lambda m, x: m.logical_not(m.logical_not(x)), "float64", False),  # bool
    ("involution", lambda m, x: ~~x, "int64", True),
    ("involution", lambda m, x: m.conj(m.conj(x)), "complex64", True),
    ("involution", lambda m, x: m.flip(m.flip(x, 0), 0), "float64", True),
    ("involution", lambda m, x: m.flip(m.flip(x, 0), 1), "float64", False),
    ("involution", lambda m, x: -m.sin(-x), "float64", False),
    ("idempotent", lambda m, x: abs(abs(x)), "float64", True),
    ("idempotent", lambda m, x: abs(abs(x)), "complex128", True),
    ("idempotent", lambda m, x: m.floor(m.floor(x)), "float32", True),
    ("idempotent", lambda m, x: m.floor(m.floor(x)), "int16", True),  # float16 both
    ("idempotent", lambda m, x: m.floor(m.ceil(x)), "float64", False),
    ("transpose_of_transpose", lambda m, x: x.T.T, "float64", True),
    (
        "transpose_of_transpose",
        lambda m, x: m.transpose(m.transpose(x[None], (1, 0, 2)), (2, 0, 1)),
        "float64",
        True,
    ),
    ("reshape_of_reshape", lambda m, x: x.reshape(12).reshape(4, 3), "float64", True),
    ("reshape_of_reshape", lambda m, x: x.reshape(3, 4), "int64", True),
    ("astype_chain", lambda m, x: x.astype("int32").astype("int64"), "int8", True),
    ("astype_chain", lambda m, x: x.astype("int8").astype("int64"), "int64", False),  # lossy
    ("astype_chain", lambda m, x: x.astype("int32").astype("float64"), "int8", True),
    ("where_constant", lambda m, x: m.where(True, x, x * 2), "float64", True),
    ("where_constant", lambda m, x: m.where(False, x, x * 2), "int64", True),
    ("where_same", lambda m, x: m.where(x > 0, x, x), "float64", True),
    ("where_same", lambda m, x: m.where(x[None] > 0, x, x), "float64", False),  # broadcasts
]


@pytest.mark.parametrize(("rule", "build", "dtype", "fires"), CASES)
def test_rule_alone(rule: str, build: Any, dtype: str, fires: bool) -> None:
    data = sample(dtype, (3, 4))
    expected = build(np, data.copy())
    node = build(la, la.Array(data)).node
    optimized = only(node, rule)
    assert (optimized is not node) == fires
    assert_identical(run_as_is((optimized,))[0], expected)


def test_every_rule_has_cases() -> None:
    named = {case[0] for case in CASES}
    assert named == {rule.name for rule in SIMPLIFY}
    firing = {case[0] for case in CASES if case[3]}
    assert firing == named


def test_rules_have_their_algebra() -> None:
    for rule in RULES.values():
        assert "->" in rule.algebra, rule.name


def test_disabling_a_rule_by_name() -> None:
    x = la.Array(sample("float64", (3, 4)))
    with la.config.set(disabled={"mul_by_one", "fold"}, small_bytes=0):
        assert "multiply" in (x * 1).explain()
    with la.config.set(disabled={"fold"}, small_bytes=0):
        assert "multiply" not in (x * 1).explain()


def test_unknown_names_are_refused() -> None:
    with la.config.set(disabled={"no_such_rule"}), pytest.raises(ValueError, match="no_such_rule"):
        la.Array([1.0]).compute(cache=False)


def test_arithmetic_identities_leave_masked_arrays_alone() -> None:
    data = np.ma.MaskedArray([np.inf, 1.0], mask=[False, False])
    node = (la.MaskedArray(data) / 1).node
    assert only(node, "div_by_one") is node  # numpy.ma masks inf / 1
    result = (la.MaskedArray(data) / 1).compute()
    np.testing.assert_array_equal(np.ma.getmaskarray(result), [True, False])
