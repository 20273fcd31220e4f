"""Numbers → words for the findings page. Nothing here decides a result; it only phrases one.

The one rule that matters: a comparison never claims more than the numbers show. Rates
carry 95% intervals (metrics keys `<k>`, `<k>_n`, `<k>_lo`, `<k>_hi`); two rates whose
intervals overlap are reported as "within each other's 95% intervals", not as a ranking.
Single-run numbers without an interval (MSE of one model) are compared as plain ratios and
the sentence says they come from one run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """A proportion with its sample size and 95% interval (Wilson or bootstrap)."""

    value: float
    n: int | None = None
    lo: float | None = None
    hi: float | None = None

    @property
    def has_interval(self) -> bool:
        return self.lo is not None and self.hi is not None

    def overlaps(self, other: Rate) -> bool:
        """True when the two 95% intervals overlap (or either has none: nothing shown)."""
        if not (self.has_interval and other.has_interval):
            return True
        return self.lo <= other.hi and other.lo <= self.hi

    def pct(self) -> str:
        """'95.8% (94.1–97.0, n = 500)': the 95% interval and n where known."""
        extra = []
        if self.has_interval:
            extra.append(f"{100 * self.lo:.1f}–{100 * self.hi:.1f}")
        if self.n:
            extra.append(f"n = {self.n:,}")
        return pct(self.value) + (f" ({', '.join(extra)})" if extra else "")

    def num(self, digits: int = 3) -> str:
        """As pct() for a non-percentage (AUROC): '0.981 [0.973, 0.989]'."""
        s = f"{self.value:.{digits}f}"
        if self.has_interval:
            s += f" ({self.lo:.{digits}f}–{self.hi:.{digits}f})"
        return s


def rate(d: dict | None, key: str) -> Rate | None:
    """The Rate stored under `key` of a flat or nested metrics dict (None if absent)."""
    if not d or not isinstance(d.get(key), (int, float)) or _nan(d[key]):
        return None
    return Rate(float(d[key]), d.get(f"{key}_n"), d.get(f"{key}_lo"), d.get(f"{key}_hi"))


def _nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def pct(v: float | None, digits: int = 1) -> str:
    return "n/a" if v is None or _nan(v) else f"{100 * v:.{digits}f}%"


def num(v, digits: int = 4) -> str:
    """Significant digits for floats, thousands separators for ints, n/a for missing."""
    if v is None or _nan(v):
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.{max(1, digits - 1)}e}"
        return f"{v:.{digits}g}"
    return str(v)


def ratio(a: float, b: float) -> str:
    """'2.7× lower' / '1.3× higher' / 'the same' for a relative to b (both > 0)."""
    if a is None or b is None or a <= 0 or b <= 0:
        return "not comparable"
    r = a / b
    if abs(r - 1) < 0.005:
        return "the same"
    k = r if r > 1 else 1 / r
    return f"{k:.2f}× {'higher' if r > 1 else 'lower'}" if k < 2 else f"{k:.1f}× {'higher' if r > 1 else 'lower'}"


def compare_rates(name_a: str, a: Rate, name_b: str, b: Rate, what: str) -> str:
    """One sentence comparing two rates, honest about overlapping intervals."""
    head = f"{what}: {name_a} {a.pct()} vs {name_b} {b.pct()}"
    if not (a.has_interval and b.has_interval):
        return head + " — no interval was recorded for both, so the run cannot say whether they differ."
    if a.overlaps(b):
        return head + " — within each other's 95% intervals, so this run does not separate them."
    better = name_a if a.value > b.value else name_b
    return head + f" — the intervals do not overlap: {better} is higher."


def best_of(items: dict[str, float], lower_is_better: bool) -> tuple[str, float] | None:
    """(name, value) of the best finite entry."""
    ok = {k: v for k, v in items.items() if v is not None and not _nan(v)}
    if not ok:
        return None
    k = (min if lower_is_better else max)(ok, key=ok.get)
    return k, ok[k]


def tied_with_best(rates: dict[str, Rate], higher_is_better: bool = True) -> tuple[str, list[str]]:
    """(best name, names whose interval overlaps the best's); rates must be non-empty."""
    pick = max if higher_is_better else min
    best = pick(rates, key=lambda k: rates[k].value)
    return best, [k for k, r in rates.items() if k != best and r.overlaps(rates[best])]


def are(items: list) -> str:
    return "is" if len(items) == 1 else "are"


def names(items: list[str], limit: int = 6) -> str:
    """'a, b and c' (with '… and k more' past `limit`)."""
    items = [f"`{i}`" for i in items]
    if len(items) > limit:
        items = items[:limit] + [f"{len(items) - limit} more"]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
