"""Kubernetes quantities (catalog/kubernetes.py): every unit apimachinery's resource.Quantity takes, by value."""

from __future__ import annotations

from fractions import Fraction

import pytest

from catalog.kubernetes import MAX_QUANTITY, parse_quantity, quantity_problem


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1), ("0.5", Fraction(1, 2)), ("500m", Fraction(1, 2)), ("5e-1", Fraction(1, 2)), (".5", Fraction(1, 2)),
        ("1.", 1), ("+2", 2), ("2500u", Fraction(1, 400)), ("1000000n", Fraction(1, 1000)),
        ("16Gi", 16 * 2**30), ("16384Mi", 16 * 2**30), ("17179869184", 16 * 2**30), ("16G", 16 * 10**9),
        ("1.5Gi", 3 * 2**29), ("2k", 2000), ("1E", 10**18), ("1Ei", 2**60), ("1e3", 1000), ("1E3", 1000),
        ("1Pi", 2**50), ("3T", 3 * 10**12),
    ],
)  # fmt: skip
def test_every_unit_kubernetes_takes_is_read_by_value(text, value):
    assert parse_quantity(text).value == value


@pytest.mark.parametrize("text", ["1GB", "1 Gi", "Gi", "1gi", "1e", "1e1.5", "0x10", "one", "", " 1", "1Mb", "1.2.3"])
def test_what_kubernetes_refuses_is_not_a_quantity(text):
    assert parse_quantity(text) is None
    assert quantity_problem(text) == "is not a Kubernetes quantity"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0", "is too small"),
        ("-1Gi", "is too small"),
        ("8Ei", f"is larger than Kubernetes stores ({MAX_QUANTITY:,})"),
        ("1e400", f"is larger than Kubernetes stores ({MAX_QUANTITY:,})"),
        ("0.0001", "has more precision than Kubernetes keeps (a thousandth of the unit)"),
        ("1u", "has more precision than Kubernetes keeps (a thousandth of the unit)"),
    ],
)
def test_quantities_kubernetes_would_cap_or_round_are_refused(text, problem):
    assert quantity_problem(text) == problem


def test_the_largest_quantity_is_taken():
    assert quantity_problem(str(MAX_QUANTITY)) is None
    assert quantity_problem(str(MAX_QUANTITY + 1)) is not None
