"""Training ratings grouped by user or by movie, as models that read them (SVD++, AutoRec, item-kNN) keep
them: one sorted array per column plus row pointers (compressed sparse rows), all plain tensors so a
checkpoint carries them."""

import torch


def group_by(key: torch.Tensor, n_groups: int, *values: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Row pointers (n_groups + 1,) and ``values`` reordered so each group's entries are contiguous: group g
    owns positions ``ptr[g]:ptr[g + 1]``. A stable sort, so the order inside a group is the input order."""
    order = torch.argsort(key, stable=True)  # (N,)
    counts = torch.bincount(key, minlength=n_groups)  # (n_groups,)
    ptr = torch.zeros(n_groups + 1, dtype=torch.long, device=key.device)
    ptr[1:] = torch.cumsum(counts, 0)
    return (ptr, *(v[order] for v in values))


def segments(ptr: torch.Tensor, groups: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For the requested ``groups`` (G,): the positions (T,) of all their entries in the grouped arrays and,
    for each position, which of the G groups it belongs to (T,), without a Python loop."""
    starts, lengths = ptr[groups], ptr[groups + 1] - ptr[groups]  # (G,) each
    owner = torch.repeat_interleave(torch.arange(len(groups), device=ptr.device), lengths)  # (T,)
    first = torch.cumsum(lengths, 0) - lengths  # (G,) where each group's run starts in the output
    return torch.arange(len(owner), device=ptr.device) - first[owner] + starts[owner], owner
