"""Write a large table with the bank sample's schema: its rows resampled and perturbed (seeded).

Each row keeps a real sample row's target, period and month (drawn with replacement); each of its
other values comes from another sample row of the same class (the same target value), numbers
jittered within the schema's ranges. So every feature keeps its distribution within each class, and
the label relationship is what each feature says on its own (interactions are lost). Rows are
independent draws: resampling whole rows instead makes ~25 near-copies of each sample row, on both
sides of the holdout split, which a flexible model memorises (a random forest scored 0.80 ROC AUC on
them, against 0.75 on the real sample). Nothing is downloaded and the output is not committed: the
benchmark that needs it writes it.

    python benchmarks/big_data.py --sample <bake>/data/bank-marketing.csv --rows 1000000 --out big.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

# Numeric columns: (relative noise, absolute noise, lowest, highest); within schema.py's ranges.
JITTER = {
    "age": (0.0, 2, 18, 95),
    "balance": (0.1, 20, -1_000_000, 10_000_000),
    "day": (0.0, 1, 1, 31),
    "campaign": (0.0, 1, 1, 1_000),
    "previous": (0.0, 0, 0, 1_000),
}
TARGET, KEPT = "y", ("period", "y", "month")  # the month is part of the period


def generate(sample: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    big = sample.iloc[rng.integers(0, len(sample), rows)].reset_index(drop=True)
    labels = big[TARGET].to_numpy()
    for column in sample.columns.difference(KEPT):
        values = np.empty(rows, dtype=sample[column].dtype)
        for label, members in sample.groupby(TARGET).indices.items():
            of_label = labels == label
            values[of_label] = sample[column].to_numpy()[rng.choice(members, int(of_label.sum()))]
        big[column] = values
    for column, (relative, absolute, low, high) in JITTER.items():
        values = big[column].to_numpy(dtype=float)
        values = values * rng.lognormal(0.0, relative, rows) if relative else values
        values = values + rng.integers(-absolute, absolute + 1, rows)
        big[column] = np.clip(np.round(values), low, high).astype(np.int64)
    contacted = big["pdays"] >= 0  # -1 means never contacted: keep it
    shifted = big["pdays"] + rng.integers(-3, 4, rows)
    big["pdays"] = np.where(contacted, np.clip(shifted, 0, 10_000), -1)
    return big


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, required=True, help="The bank sample CSV of a baked project.")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    big = generate(pd.read_csv(args.sample), args.rows, args.seed)
    big.to_csv(args.out, index=False)
    print(f"Wrote {len(big):,} rows to {args.out} ({args.out.stat().st_size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
