"""Fitting scaling curves: power law, log-linear, coverage law, knee, "more calls hurt".

Why several fits: inference scaling is reported in different shapes. Accuracy ∝ C^α
(log-log least squares) gives one exponent to compare techniques; acc = a + b·log C is the
common "x points per doubling" reading; coverage (pass@k) follows Brown et al.'s (2024)
exponentiated power law exp(a·k^b). The knee says where extra compute stops paying, and
the "more calls hurt" check flags Chen et al.'s (2024) finding that voting accuracy can
fall as calls grow, but only when the drop is larger than item-resampling noise.

Intervals: with an items x configs matrix the CI bootstraps over items (the honest source
of noise); with only aggregate points it is the analytic t interval of the OLS slope.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from numpy.typing import ArrayLike
from scipy.special import ndtri, stdtrit

from workbench.analysis.bootstrap import resample_weights
from workbench.analysis.curves import RunCurves
from workbench.errors import WorkbenchError

_TINY = 1e-12


@dataclass(frozen=True)
class Fit:
    """A fitted curve: ``slope`` is α (power law), b (log-linear) or b (coverage law)."""

    kind: str
    intercept: float
    slope: float
    slope_lo: float
    slope_hi: float
    r2: float
    n_points: int
    ci_method: str
    extra: dict[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    """What the fit left out or could not trust (zero points, degenerate resamples)."""
    n_excluded: int = 0
    """Points left out of the fit (e.g. zero accuracies for the power law)."""

    def predict(self, x: ArrayLike | np.ndarray) -> np.ndarray:
        """The fitted curve at compute / k values ``x``."""
        lx = np.log(np.asarray(x, dtype=np.float64))
        if self.kind == "power_law":
            return np.exp(self.intercept + self.slope * lx)
        if self.kind == "log_linear":
            return self.intercept + self.slope * lx
        return np.exp(-np.exp(self.intercept + self.slope * lx))  # coverage: exp(a k^b)

    def as_dict(self) -> dict[str, float | int | str | None]:
        """A flat row for tables (``extra`` entries become columns)."""
        return {"kind": self.kind, "intercept": self.intercept, "slope": self.slope,
                "slope_lo": self.slope_lo, "slope_hi": self.slope_hi, "r2": self.r2,
                "n_points": self.n_points, "ci_method": self.ci_method,
                "n_excluded": self.n_excluded,
                "warning": "; ".join(self.warnings) or None, **self.extra}


def fits_table(fits: Sequence[Fit]) -> pl.DataFrame:
    """Fits as one frame, one row each."""
    return pl.DataFrame([f.as_dict() for f in fits])


def _ols(lx: np.ndarray, ly: np.ndarray) -> tuple[float, float, float, float]:
    """Intercept, slope, slope standard error, r² of ly ~ lx."""
    n = len(lx)
    if n < 2 or np.ptp(lx) == 0:
        raise WorkbenchError(f"A fit needs at least 2 distinct compute values; got {n}. "
                             "Run more budgets (or more k) before fitting.")
    dx, dy = lx - lx.mean(), ly - ly.mean()
    slope = float(dx @ dy / (dx @ dx))
    intercept = float(ly.mean() - slope * lx.mean())
    ssr = float(np.sum((dy - slope * dx) ** 2))
    sst = float(dy @ dy)
    se = float(np.sqrt(ssr / (n - 2) / (dx @ dx))) if n > 2 else float("nan")
    return intercept, slope, se, (1.0 - ssr / sst) if sst > 0 else 1.0


def _slopes(lx: np.ndarray, ly_boot: np.ndarray) -> np.ndarray:
    """OLS slope of each row of ``ly_boot`` on ``lx`` (vectorised over bootstrap rows)."""
    dx = lx - lx.mean()
    return ((ly_boot - ly_boot.mean(axis=1, keepdims=True)) @ dx) / float(dx @ dx)


def _domain(kind: str) -> Callable[[np.ndarray], np.ndarray]:
    """Where each fit's transform is finite: log y needs y > 0, ln(-ln c) needs 0 < c < 1."""
    if kind == "power_law":
        return lambda y: y > 0
    if kind == "coverage":
        return lambda y: (y > 0) & (y < 1)
    return lambda y: np.isfinite(y)


def _fit(kind: str, lx: np.ndarray, transform: Callable[[np.ndarray], np.ndarray] | None, y: np.ndarray,
         item_matrix: np.ndarray | None, b: int, seed: int, level: float,
         notes: tuple[str, ...] = (), n_excluded: int = 0) -> Fit:
    ly = transform(y) if transform is not None else y
    a, slope, se, r2 = _ols(lx, ly)
    tail = (1 - level) / 2
    if item_matrix is not None:
        v = np.asarray(item_matrix, dtype=np.float64)
        if v.shape[1] != len(lx):
            raise WorkbenchError(f"item_matrix has {v.shape[1]} columns for {len(lx)} "
                                 "compute values: one column per configuration.")
        rng = np.random.default_rng(seed)
        boot = resample_weights(v.shape[0], b, rng) @ v / v.shape[0]
        ok = np.all(_domain(kind)(boot), axis=1)  # resamples the transform can take
        if not ok.any():
            raise WorkbenchError(f"{kind} fit: every bootstrap resample has a point outside "
                                 "the fit's domain (a zero accuracy); too few items are "
                                 "correct to fit this curve.")
        if not ok.all():
            notes = (*notes, f"{int((~ok).sum())} of {b} bootstrap resamples had a zero "
                     "(or, for coverage, a 0 or 1) point and were left out of the interval"
                     + ("; the interval is unreliable" if ok.mean() < 0.95 else ""))
        sl = _slopes(lx, transform(boot[ok]) if transform is not None else boot[ok])
        lo, hi = np.quantile(sl, [tail, 1 - tail])
        return Fit(kind, a, slope, float(lo), float(hi), r2, len(lx), "bootstrap over items",
                   warnings=notes, n_excluded=n_excluded)
    t = float(stdtrit(max(len(lx) - 2, 1), 1 - tail))
    return Fit(kind, a, slope, slope - t * se, slope + t * se, r2, len(lx), "analytic OLS",
               warnings=notes, n_excluded=n_excluded)


def _xy(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xa.shape != ya.shape or np.any(xa <= 0):
        raise WorkbenchError("Fits need matching x and y arrays with positive compute x.")
    return xa, ya


def fit_power_law(x: ArrayLike, y: ArrayLike, *,
                  item_matrix: np.ndarray | None = None, b: int = 1000, seed: int = 0,
                  level: float = 0.95) -> Fit:
    """Accuracy ∝ C^α by least squares on log y vs log C; ``slope`` is α.

    ``item_matrix`` (items x configs, per-item accuracy at each x) makes the α interval a
    bootstrap over items; without it the interval is the analytic OLS t interval.

    Zero accuracies: log 0 is undefined and no power law passes through 0, so points with
    y = 0 are *excluded*, counted in ``n_excluded`` and named in ``warnings`` (never
    clipped to a tiny value: one zero clipped to 1e-12 turned α = 0.3 into 3.35). A fit
    left with fewer than 2 points raises. Bootstrap resamples in which a kept point falls
    to 0 are left out of the interval, and the warning says how many.
    """
    xa, ya = _xy(x, y)
    keep = ya > 0
    notes: tuple[str, ...] = ()
    if not keep.all():
        dropped = ", ".join(f"{v:g}" for v in xa[~keep])
        notes = (f"excluded {int((~keep).sum())} zero-accuracy point(s) at x = {dropped}: "
                 "a power law cannot pass through 0",)
        if keep.sum() < 2:
            raise WorkbenchError(f"power-law fit: only {int(keep.sum())} of {len(ya)} points "
                                 f"have accuracy > 0 (zeros at x = {dropped}); a power law "
                                 "needs 2. Use fit_log_linear, which allows zeros.")
    mat = None if item_matrix is None else np.asarray(item_matrix)[:, keep]
    return _fit("power_law", np.log(xa[keep]), np.log, ya[keep], mat, b, seed, level,
                notes, int((~keep).sum()))


def fit_log_linear(x: ArrayLike, y: ArrayLike, *,
                   item_matrix: np.ndarray | None = None, b: int = 1000, seed: int = 0,
                   level: float = 0.95) -> Fit:
    """acc = a + b·ln C; ``slope`` b is the gain per e-fold (× ln 2 per doubling)."""
    xa, ya = _xy(x, y)
    fit = _fit("log_linear", np.log(xa), None, ya, item_matrix, b, seed, level)  # zeros fine
    return Fit(**{**fit.__dict__, "extra": {"gain_per_doubling": fit.slope * np.log(2)}})


def _neg_log_log(c: np.ndarray) -> np.ndarray:
    return np.asarray(np.log(-np.log(c)))


def fit_coverage(k: ArrayLike, coverage: ArrayLike, *,
                 item_matrix: np.ndarray | None = None, b: int = 1000, seed: int = 0,
                 level: float = 0.95, max_coverage: float = 0.99) -> Fit:
    """Brown et al. (2024): coverage(k) ≈ exp(a·k^b), fit as ln(-ln c) = ln(-a) + b ln k.

    Only points with 0 < coverage < ``max_coverage`` are used: at 0 and 1 the transform
    is infinite, and close to 1 it amplifies item noise without bound (one resample at
    exactly 1 would dominate the slope). ``extra['a']`` is a (< 0); ``slope`` is b (< 0
    when coverage rises with k).
    """
    ka, ca = _xy(k, coverage)
    keep = (ca > 0) & (ca < max_coverage)
    notes: tuple[str, ...] = ()
    if not keep.all():
        notes = (f"excluded {int((~keep).sum())} point(s) with coverage 0 or >= "
                 f"{max_coverage:g} at k = {', '.join(f'{v:g}' for v in ka[~keep])}",)
    mat = None if item_matrix is None else np.asarray(item_matrix)[:, keep]
    fit = _fit("coverage", np.log(ka[keep]), _neg_log_log, ca[keep], mat, b, seed, level,
               notes, int((~keep).sum()))
    return Fit(**{**fit.__dict__, "extra": {"a": -float(np.exp(fit.intercept))}})


def find_knee(x: ArrayLike, y: ArrayLike, *, log_x: bool = True) -> float | None:
    """Kneedle (Satopää et al. 2011) for a rising, saturating curve: the x where the
    normalised curve is furthest above the chord from its first to its last point.

    Works on log compute by default (scaling curves are concave in log C). Returns None
    when the curve never rises above the chord (no diminishing returns to point at).
    """
    xa, ya = _xy(x, y)
    order = np.argsort(xa)
    xa, ya = xa[order], ya[order]
    lx = np.log(xa) if log_x else xa
    if len(xa) < 3 or np.ptp(lx) == 0 or np.ptp(ya) == 0:
        return None
    xn = (lx - lx[0]) / (lx[-1] - lx[0])
    yn = (ya - ya.min()) / np.ptp(ya)
    chord = yn[0] + (yn[-1] - yn[0]) * xn
    diff = yn - chord
    i = int(np.argmax(diff))
    return float(xa[i]) if diff[i] > 0.05 else None


@dataclass(frozen=True)
class HurtCheck:
    """Does accuracy at the largest compute fall below an earlier config beyond noise?

    ``drop`` = end - peak; ``drop_lo``/``drop_hi`` its Bonferroni-adjusted interval.
    """

    flag: bool
    x_peak: float
    acc_peak: float
    x_end: float
    acc_end: float
    drop: float
    drop_lo: float
    drop_hi: float


def more_calls_hurt(x: ArrayLike, item_matrix: np.ndarray, *, b: int = 1000,
                    seed: int = 0, level: float = 0.95) -> HurtCheck:
    """Flag Chen et al. (2024)'s non-monotone scaling: the largest compute scores below
    some smaller compute by more than item-resampling noise.

    The end is compared, paired over items, with every earlier config; each difference
    gets a bootstrap standard error and a normal interval at level 1 - (1-level)/(K-1)
    (Bonferroni over the K-1 comparisons, so picking the luckiest earlier config does not
    raise false alarms). The flag is raised when any interval lies entirely below 0.
    ``item_matrix`` is items x configs, columns aligned with ``x``.
    """
    xa = np.asarray(x, dtype=np.float64)
    order = np.argsort(xa)
    v = np.asarray(item_matrix, dtype=np.float64)[:, order]
    xa = xa[order]
    mean = v.mean(axis=0)
    p, e = int(np.argmax(mean)), len(xa) - 1
    if p == e or e == 0:
        return HurtCheck(False, float(xa[p]), float(mean[p]), float(xa[e]), float(mean[e]),
                         0.0, 0.0, 0.0)
    rng = np.random.default_rng(seed)
    boot = resample_weights(v.shape[0], b, rng) @ v / v.shape[0]
    se = np.maximum((boot[:, e:e + 1] - boot[:, :e]).std(axis=0, ddof=1), _TINY)
    z = float(-ndtri((1 - level) / 2 / e))
    diff = mean[e] - mean[:e]
    drop = float(diff[p])
    return HurtCheck(bool(np.any(diff + z * se < 0)), float(xa[p]), float(mean[p]),
                     float(xa[e]), float(mean[e]), drop, drop - z * float(se[p]),
                     drop + z * float(se[p]))


def curve_fits(rcs: Sequence[RunCurves], *, b: int = 1000, seed: int = 0,
               level: float = 0.95) -> pl.DataFrame:
    """Per run, on its replayed curves (x = k paths): power law and log-linear fits of
    maj@k, the coverage law of pass@k, the knee of maj@k and the more-calls-hurt check.
    Intervals bootstrap over items. Runs with fewer than 3 values of k are skipped; a fit
    that cannot be made (too few non-zero points) gets a row whose ``warning`` says why."""
    rows: list[dict[str, object]] = []
    for rc in rcs:
        if len(rc.ks) < 3:
            continue
        k = rc.ks.astype(np.float64)
        maj, cov = rc.maj.mean(axis=0), rc.pass_.mean(axis=0)
        hurt = more_calls_hurt(k, rc.maj, b=b, seed=seed, level=level)
        common = {"run_id": rc.run_id, "knee_k": find_knee(k, maj),
                  "more_calls_hurt": hurt.flag, "peak_k": hurt.x_peak}
        makers: list[tuple[str, Callable[..., Fit], np.ndarray, np.ndarray]] = [
            ("power_law", fit_power_law, maj, rc.maj),
            ("log_linear", fit_log_linear, maj, rc.maj)]
        if int(((cov > 0) & (cov < 0.99)).sum()) >= 2:
            makers.append(("coverage", fit_coverage, cov, rc.pass_))
        for kind, fit_fn, y, mat in makers:
            try:
                fit = fit_fn(k, y, item_matrix=mat, b=b, seed=seed, level=level)
                rows.append({**common, **fit.as_dict()})
            except WorkbenchError as exc:  # e.g. maj@k is 0 at every k: say so, keep going
                rows.append({**common, "kind": kind, "n_points": len(k),
                             "warning": f"not fitted: {exc}"})
    return pl.DataFrame(rows) if rows else pl.DataFrame()
