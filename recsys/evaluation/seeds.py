"""Results over several seeds: what varies from split to split, so gaps between variants can be judged."""

import numpy as np
import pandas as pd


def summarise_over_seeds(rows: list[dict]) -> list[dict]:
    """Per variant (in first-seen order): number of seeds, mean and sample standard deviation of test MSE
    (0 for a single seed), and mean test RMSE."""
    if not rows:  # no variant finished: nothing to summarise (the run then fails naming each one)
        return []
    frame = pd.DataFrame(rows)
    out = []
    for variant, group in frame.groupby("variant", sort=False):
        mse = group["test_mse"].to_numpy(dtype=np.float64)
        std = float(np.std(mse, ddof=1)) if len(mse) > 1 else 0.0
        out.append(
            {
                "variant": variant,
                "seeds": len(mse),
                "test_mse_mean": float(mse.mean()),
                "test_mse_std": std,
                "test_rmse_mean": float(group["test_rmse"].mean()),
            }
        )
    return out
