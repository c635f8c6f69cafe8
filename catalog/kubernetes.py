"""Facts about Kubernetes that settings are checked against: how a resource quantity is written and what it is
worth, and the range of the integer fields replica counts go into.

Sources:
- Quantities: kubernetes/apimachinery `pkg/api/resource/quantity.go` (the `Quantity` doc comment and
  `parseQuantityString`), as in Kubernetes v1.35:

      <quantity>        ::= <signedNumber><suffix>
      <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
      <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei
      <decimalSI>       ::= m | "" | k | M | G | T | P | E
      <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>
      <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>

  (`u` and `n` are accepted too: micro and nano, `suffix.go`.) "No matter which of the three exponent forms is used,
  no quantity may represent a number greater than 2^63-1 in magnitude, nor may it have more than 3 decimal places.
  Numbers larger or more precise will be capped or rounded up." The same grammar is the `pattern` of every
  int-or-string quantity in the OpenAPI schemas (e.g. KServe v0.20's CRDs, `../shared/kserve-crds`).
- Replica counts: `minReplicas`, `maxReplicas` and `scaleTarget` of an InferenceService component are `int32`
  (KServe v0.20 CRD `serving.kserve.io_inferenceservices.yaml`), as are a Deployment's and an HPA's replicas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

BINARY_SI = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL_SI = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
MAX_QUANTITY = 2**63 - 1
"""The largest magnitude a quantity may have, in its base unit (bytes, cores): larger ones are capped."""
INT32_MAX = 2**31 - 1
"""The largest replica count Kubernetes and KServe store (int32 fields)."""

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
QUANTITY = re.compile(rf"^(?P<number>{_NUMBER})(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE](?P<exponent>{_NUMBER}))?$")


@dataclass(frozen=True)
class Quantity:
    """A resource quantity as written, and its exact value in the base unit (cores for CPU, bytes for memory)."""

    text: str
    value: Fraction

    @property
    def millis(self) -> Fraction:
        return self.value * 1000

    @property
    def mebibytes(self) -> Fraction:
        return self.value / 2**20


def parse_quantity(text: str) -> Quantity | None:
    """The quantity `text` stands for, or None when Kubernetes would not take it. An exponent must be a whole number
    (`1e3`), as `parseQuantityString` requires."""
    match = QUANTITY.match(text.strip()) if isinstance(text, str) else None
    if match is None or text != text.strip():
        return None
    number = Fraction(match["number"].rstrip(".") or "0") if match["number"] not in (".", "+.", "-.") else None
    if number is None:
        return None
    suffix = match["suffix"] or ""
    if match["exponent"] is not None:
        if not re.fullmatch(r"[+-]?[0-9]+", match["exponent"]):
            return None
        exponent = max(-100, min(100, int(match["exponent"])))  # beyond that, far outside what may be stored
        return Quantity(text, number * Fraction(10) ** exponent)
    factor = BINARY_SI.get(suffix) or DECIMAL_SI[suffix]
    return Quantity(text, number * factor)


def quantity_problem(text: str, minimum: Fraction | int = 0, unit: str = "") -> str | None:
    """Why `text` is not a quantity a container may request (None when it is): not the grammar above, not above
    zero, beyond 2^63-1, or more precise than a thousandth (Kubernetes would round it up)."""
    quantity = parse_quantity(text)
    if quantity is None:
        return "is not a Kubernetes quantity"
    if quantity.value <= 0 or quantity.value < minimum:
        return "is too small"
    if quantity.value > MAX_QUANTITY:
        return f"is larger than Kubernetes stores ({MAX_QUANTITY:,}{unit})"
    if (quantity.value * 1000).denominator != 1:
        return "has more precision than Kubernetes keeps (a thousandth of the unit)"
    return None
