"""Training ratings grouped by user or by movie, as models that read them (SVD++, AutoRec, item-kNN) keep
them: one sorted array per column plus row pointers (compressed sparse rows), all plain tensors so a
checkpoint carries them; and the sums over them that those models need, capped in training and chunked in
scoring so that a heavy user or a popular movie of a 25M-rating release stays within memory."""

import itertools

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


def cap_segments(positions: torch.Tensor, owner: torch.Tensor, groups: int, cap: int) -> tuple[torch.Tensor, ...]:
    """At most ``cap`` random entries of each group's (positions (T,), owner (T,)), and each kept entry's
    scale (T',): the group's count over the number kept, so a sum over the kept entries stays unbiased."""
    counts = torch.bincount(owner, minlength=groups)  # (G,)
    if len(counts) == 0 or int(counts.max()) <= cap:
        return positions, owner, torch.ones(len(positions), device=positions.device)
    order = torch.argsort(owner.double() + torch.rand(len(owner), dtype=torch.float64, device=owner.device))
    starts = torch.cumsum(counts, 0) - counts  # (G,)
    rank = torch.arange(len(order), device=owner.device) - starts[owner[order]]
    keep = order[rank < cap]
    scale = (counts.double() / counts.clamp(max=cap).double()).float()  # (G,)
    return positions[keep], owner[keep], scale[owner[keep]]


def segment_sums(ptr: torch.Tensor, groups: torch.Tensor, terms, dim: int, budget: int) -> torch.Tensor:
    """For each of ``groups`` (G,), the sum (G, dim) of ``terms(positions)`` (T, dim) over its entries, reading at most
    ``budget`` entries at a time (a group larger than that alone), so scoring a large release never holds
    every entry's term at once. For no-grad use (validation, scoring); training reads one batch at once."""
    counts = ptr[groups + 1] - ptr[groups]  # (G,)
    chunk = torch.div(torch.cumsum(counts, 0) - counts, budget, rounding_mode="floor")  # (G,) ascending
    sizes = torch.unique_consecutive(chunk, return_counts=True)[1].tolist()  # groups per chunk
    sums = torch.zeros(len(groups), dim, device=ptr.device)
    for lo, hi in itertools.pairwise([0, *itertools.accumulate(sizes)]):
        positions, owner = segments(ptr, groups[lo:hi])
        sums[lo:hi] = sums[lo:hi].index_add(0, owner, terms(positions).to(sums.dtype))
    return sums
