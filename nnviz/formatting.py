"""Numbers as a student reads them: the digits that matter, never "-0" or "nan".

* :func:`number` — ``sig`` significant digits; tiny and huge values as ``4.68×10⁻⁶``
  (:func:`latex_number`: ``4.68 \\times 10^{-6}`` for a formula).
* :func:`probability` — enough decimals that both p and 1 − p keep three significant digits, so a
  sure answer reads 0.99999532, not 1, and ``−log p`` shown beside it (:func:`loss`) agrees.
* :func:`percent`, :func:`signed` — the same rules for a percentage and a change.

A value that is not a number reads "undefined" and an infinite one "∞": a page never shows "nan".
"""

from __future__ import annotations

import math

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
NOT_A_NUMBER = "undefined"


def _special(v: float) -> str | None:
    if math.isnan(v):
        return NOT_A_NUMBER
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return None


def _parts(v: float, sig: int) -> tuple[str, int | None]:
    """``(mantissa, exponent or None)`` of ``v`` at ``sig`` significant digits, never "-0"."""
    s = f"{v:.{sig}g}"
    mantissa, _, exponent = s.partition("e")
    if float(mantissa) == 0:
        return "0", None
    return mantissa, int(exponent) if exponent else None


def number(v: float, sig: int = 4) -> str:
    """``v`` with ``sig`` significant digits as plain text: ``0.3771``, ``4.683×10⁻⁶``, ``-12.5``;
    zero (also −0.0 and what rounds to it) is ``0``, NaN ``undefined``, infinity ``∞``."""
    v = float(v)
    if (special := _special(v)) is not None:
        return special
    mantissa, exponent = _parts(v, sig)
    return mantissa if exponent is None else f"{mantissa}×10{str(exponent).translate(SUPERSCRIPT)}"


def latex_number(v: float, sig: int = 4) -> str:
    """:func:`number` for a LaTeX formula: powers of ten written out, negatives in brackets (so
    "− (−0.2)" reads right)."""
    v = float(v)
    if (special := _special(v)) is not None:
        return {NOT_A_NUMBER: r"\text{undefined}", "∞": r"\infty", "-∞": r"(-\infty)"}[special]
    mantissa, exponent = _parts(v, sig)
    s = mantissa if exponent is None else rf"{mantissa} \times 10^{{{exponent}}}"
    return f"({s})" if mantissa.startswith("-") else s


def probability_decimals(p: float, keep: int = 3, least: int = 4) -> int:
    """Decimals that show ``p`` in [0, 1] with ``keep`` significant digits of ``1 − p`` (and of
    ``p``), at least ``least``: 0.6858 needs 4, 0.99999532 needs 8."""
    q = min(p, 1.0 - p)
    if not q > 0:
        return least
    return max(least, -math.floor(math.log10(q)) + keep - 1)


def probability(p: float, keep: int = 3) -> str:
    """A probability in [0, 1] with the digits that matter: ``0.6858``, ``0.99999532`` (not 1),
    ``3.2×10⁻⁷`` for a tiny one; exactly ``1`` or ``0`` only when it is."""
    p = float(p)
    if (special := _special(p)) is not None:
        return special
    if p <= 0 or p >= 1:
        return "0" if p <= 0 else "1"
    if p < 1e-4:
        return number(p, keep)
    return f"{p:.{probability_decimals(p, keep)}f}"


def percent(p: float, keep: int = 3) -> str:
    """A probability as a percentage: one decimal (``68.6%``), more when p is within 0.1 % of 0
    or 1, so that a change shows: ``99.999532%``, not ``100.0%``."""
    p = float(p)
    if (special := _special(p)) is not None:
        return special
    if p <= 0 or p >= 1:
        return "0%" if p <= 0 else "100%"
    if p < 1e-6:
        return f"{number(p * 100, 2)}%"
    return f"{p * 100:.{max(1, probability_decimals(p, keep, least=3) - 2)}f}%"


def loss(value: float, sig: int = 3) -> str:
    """A loss in nats beside a :func:`probability`: ``sig`` significant digits, so that
    ``−log(0.99999532) = 4.68×10⁻⁶`` agrees with the probability shown."""
    return number(value, sig)


def signed(v: float, sig: int = 3, unit: str = "") -> str:
    """A change with its sign: ``+31.2 points``, ``-4.7×10⁻⁵``, ``0`` (never ``+0.00`` or ``-0``)."""
    text = number(v, sig)
    if text not in ("0", NOT_A_NUMBER) and not text.startswith("-"):
        text = "+" + text
    return f"{text} {unit}".rstrip()


def latex_probability(p: float, keep: int = 3) -> str:
    """:func:`probability` for a LaTeX formula (a tiny one as ``3.2 \\times 10^{-7}``)."""
    p = float(p)
    return latex_number(p, keep) if _special(p) is not None or 0 < p < 1e-4 else probability(p, keep)


def rounded(v: float, decimals: int = 4) -> float:
    """``v`` rounded for a table cell, with −0.0 made 0.0 (a table would show "-0")."""
    return round(float(v), decimals) + 0.0


def digits_for_change(before: float, after: float, sig: int = 5, most: int = 12) -> int:
    """Significant digits (at least ``sig``, at most ``most``) at which ``before`` and ``after``
    read differently, so that a small step still shows (0.299894 → 0.299887, not 0.29989 twice)."""
    if before == after:
        return sig
    for digits in range(sig, most + 1):
        if number(before, digits) != number(after, digits):
            return digits
    return most
