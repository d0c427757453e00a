"""Every number of the validation summary labelled: the ``numbers`` list of each verdict row.

A row's ``value`` is one human-readable string that may hold several numbers ("0.0557
(0.0556); 5.0e-04"); beside it (the string itself is unchanged) each row carries

    numbers: [{"label": what the number is, "value": float | None, "unit": unit}, ...]

one entry per number in the string, in its order, at full precision (the string rounds), in
the unit the string shows it in (``"1"`` = dimensionless, SI style). ``value`` is None where
the quantity does not exist (e.g. a crossing never reached within a sweep). Entries may follow
that the string does not show (counts such as the number of swapped pairs).
:func:`numbers_text` renders the list for the HTML tables; :func:`unlabelled_tokens` finds
the numbers of a value string that no entry accounts for (what the tests assert is empty).
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

#: a number as the value strings print it: sign, digits, decimals, exponent; not part of a word
NUMBER_TOKEN = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w.])")


def num(label: str, value: Any, unit: str) -> dict[str, Any]:
    """One labelled number; non-finite or missing values become None (JSON null)."""
    if not label or not unit:
        raise ValueError("a labelled number needs a label and a unit")
    v = None if value is None else float(value)
    if v is not None and not math.isfinite(v):
        v = None
    return {"label": str(label), "value": v, "unit": str(unit)}


def numbers_text(numbers: Iterable[dict[str, Any]]) -> str:
    """``label = value unit; ...`` (4 significant digits, "n/a" for None; unit "1" omitted)."""
    parts = []
    for n in numbers:
        v = "n/a" if n["value"] is None else f"{n['value']:.4g}"
        unit = "" if n["unit"] == "1" else f" {n['unit']}"
        parts.append(f"{n['label']} = {v}{unit}")
    return "; ".join(parts)


def _matches(token: str, value: float) -> bool:
    """Whether ``value`` prints as ``token`` (half a unit of the token's last digit)."""
    mantissa, _, exp = token.lstrip("+-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    half = 0.5 * 10.0 ** (-decimals) * (10.0 ** int(exp) if exp else 1.0)
    return abs(float(token) - value) <= half * (1 + 1e-9)


def unlabelled_tokens(row: dict[str, Any]) -> list[str]:
    """The numbers in ``row["value"]`` that no entry of ``row["numbers"]`` accounts for: each
    token, in order, must match an entry not used by an earlier token."""
    entries = [n["value"] for n in row.get("numbers", []) if n.get("value") is not None]
    used = [False] * len(entries)
    missing = []
    for token in NUMBER_TOKEN.findall(str(row.get("value", ""))):
        for i, v in enumerate(entries):
            if not used[i] and _matches(token, v):
                used[i] = True
                break
        else:
            missing.append(token)
    return missing


def table_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Every verdict row of a summary: ``table`` and the ``table`` of each section."""
    rows = list(summary.get("table", []))
    for key, value in summary.items():
        if key != "table" and isinstance(value, dict) and isinstance(value.get("table"), list):
            rows += [r for r in value["table"] if isinstance(r, dict)]
    return rows
