"""Remember the keys seen so far in a run, in memory bounded by the number of distinct keys.

Keys are 64-bit hashes (polars' vectorised hash of the key columns), kept as sorted runs that
merge when two reach the same size (a log-structured set): membership of a whole batch is a
vectorised binary search per run, and the total merge work stays O(n log n) over a run instead
of re-hashing every seen key for each batch. Two different keys colliding in 64 bits is
possible (about 1e-7 for two million keys); the cost would be one row wrongly quarantined.
"""

from __future__ import annotations

import polars as pl


def key_hash_expr(columns: list[str]) -> pl.Expr:
    """One UInt64 per row; null where any key column is null (rules skip nulls)."""
    key = pl.col(columns[0]).hash() if len(columns) == 1 else pl.struct(columns).hash()
    any_null = pl.any_horizontal([pl.col(c).is_null() for c in columns])
    return pl.when(~any_null).then(key)


def key_hashes(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    """`key_hash_expr` over a frame."""
    return frame.select(key_hash_expr(columns).alias("key")).to_series()


class SeenKeys:
    """The set of key hashes seen in earlier batches of one run."""

    def __init__(self) -> None:
        self._runs: list[pl.Series] = []

    def __len__(self) -> int:
        return sum(run.len() for run in self._runs)

    def repeats(self, hashes: pl.Series) -> pl.Series:
        """True for each non-null hash seen in an earlier batch or earlier in this one.

        Remembers the new ones. The batch's hashes are sorted once: each run is then searched
        in order (binary searches of random probes measured 4x slower), the new keys come out
        sorted and distinct, and the repeated keys (usually few) are mapped back to the rows
        with a small `is_in`, so no row-order permutation is ever built.
        """
        keys = hashes.drop_nulls().sort()
        earlier = pl.repeat(False, keys.len(), dtype=pl.Boolean, eager=True)
        for run in self._runs:
            position = run.search_sorted(keys, side="left")
            found = run.gather(position.clip(0, run.len() - 1)) == keys
            earlier = earlier | (found & (position < run.len()))
        first = (keys != keys.shift(1)).fill_null(True)
        self._add(keys.filter(first & ~earlier))
        repeated = pl.repeat(False, hashes.len(), dtype=pl.Boolean, eager=True)
        seen_before = keys.filter(earlier)
        if seen_before.len():
            repeated = hashes.is_in(seen_before.implode()).fill_null(False)
        twice = keys.filter(~first & ~earlier).unique()
        if twice.len():
            # Keys new to the run that occur more than once here: all but the first are repeats.
            rows = hashes.is_in(twice.implode()).fill_null(False).arg_true()
            later = rows.filter(~hashes.gather(rows).is_first_distinct())
            repeated = repeated.scatter(later, True)
        return repeated

    def _add(self, fresh: pl.Series) -> None:
        if fresh.len() == 0:
            return
        self._runs.append(fresh)
        # Runs at least double in size from newest to oldest: O(log n) of them, whatever the
        # batch sizes (merging only equal sizes let slightly shrinking batches pile up).
        while len(self._runs) > 1 and self._runs[-2].len() < 2 * self._runs[-1].len():
            # Runs hold disjoint keys (only unseen ones are added): sorting is enough.
            merged = pl.concat([self._runs.pop(), self._runs.pop()]).sort()
            self._runs.append(merged)
