"""One query helper for the typed tables: the rows of a table matching a selection.

The claims (:mod:`.claims`) and the DVC headline metrics (:mod:`.dvc_outputs`) read the workflow's
CSV tables through :func:`select`, so a δ read back from CSV compares as the config's δ.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def select(df: pd.DataFrame, **sel) -> pd.DataFrame:
    """Rows equal to every value of ``sel`` (a list: any of them); none if a column is absent.

    δ is compared to a relative 1e-9 (a list of δ after rounding) since it comes back from CSV.
    """
    mask = np.ones(len(df), dtype=bool)
    for key, value in sel.items():
        if key not in df.columns:
            return df.iloc[0:0]
        col = df[key]
        if isinstance(value, (list, tuple, set)):
            if key == "delta":
                mask &= np.isin(np.round(col.astype(float), 15), np.round(np.asarray(list(value), float), 15))
            else:
                mask &= col.isin(list(value)).to_numpy()
        elif key == "delta":
            mask &= np.isclose(col.astype(float), float(value), rtol=1e-9, atol=0)
        else:
            mask &= (col == value).to_numpy()
    return df[mask]
