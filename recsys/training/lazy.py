"""Lazy (row-wise) Adam for large embedding tables.

Plain Adam keeps a gradient and two moments for every value of every table and updates them all each
step: for an ml-25m-sized model (162,541 users, 59,047 movies, 50 factors: 11M values) that, not the
arithmetic of the batch, was most of each step, and mf fell from 1.3M ratings per second at ml-latest-small's
size to 100k at 5M ratings. In lazy mode each :class:`~recsys.models.base.Embedding` reads the batch's
distinct rows into a small leaf tensor, and this optimiser updates only those rows and their moments
(bias correction by the global step, as TensorFlow's LazyAdam and torch's SparseAdam do); other parameters
(the dense layers) get ordinary Adam. Rows a batch does not touch keep their moments instead of decaying
them, so the path differs from plain Adam: it is used only where the tables are large (``auto``).
"""

import torch

from recsys.models.base import Embedding, StepRows

LAZY_ABOVE = 4_000_000  # embedding values above which "auto" updates rows lazily (ml-latest-small: < 1M)


def embedding_tables(model: torch.nn.Module) -> list[Embedding]:
    return [m for m in model.modules() if isinstance(m, Embedding)]


def wants_lazy(model: torch.nn.Module, mode: str) -> bool:
    """Whether ``mode`` (auto, dense or lazy) means lazy updates for ``model``'s tables."""
    if mode == "auto":
        return sum(t.weight.numel() for t in embedding_tables(model)) > LAZY_ABOVE
    return mode == "lazy"


class LazyAdam(torch.optim.Optimizer):
    """Row-wise Adam for the model's embedding tables (switched to lazy lookups), fused Adam for the rest."""

    def __init__(self, model: torch.nn.Module, lr: float, weight_decay: float = 0.0, betas=(0.9, 0.999), eps=1e-8):
        self.tables = embedding_tables(model)
        self.step_rows = StepRows()  # the tables reading one index tensor find its distinct rows once a step
        for table in self.tables:
            table.lazy, table.step_rows = True, self.step_rows
        in_tables = {id(t.weight) for t in self.tables}
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        super().__init__([t.weight for t in self.tables], defaults)
        dense = [p for p in model.parameters() if id(p) not in in_tables]
        self.dense = torch.optim.Adam(dense, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay) if dense else None

    def zero_grad(self, set_to_none: bool = True) -> None:
        if self.dense is not None:
            self.dense.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def step(self, closure=None):
        if self.dense is not None:
            for group in self.dense.param_groups:  # one rate for both parts: the trainer sets this optimiser's
                group["lr"] = self.param_groups[0]["lr"]
            self.dense.step()
        for table in self.tables:
            rows, grads = self._gathered(table)
            if rows is not None:
                self._update_rows(table.weight, rows, grads)
        self.step_rows.clear()

    @staticmethod
    def _gathered(table: Embedding) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """This step's distinct rows (R,) of ``table`` and their summed gradient (R, dim)."""
        parts = [(rows, leaf.grad) for rows, leaf in table.take_pending() if leaf.grad is not None]
        if not parts:
            return None, None
        if len(parts) == 1:
            return parts[0]
        rows, inverse = torch.unique(torch.cat([r for r, _ in parts]), return_inverse=True)
        grads = torch.cat([g for _, g in parts])
        return rows, torch.zeros(len(rows), grads.shape[1], dtype=grads.dtype, device=grads.device).index_add_(
            0, inverse, grads
        )

    def _update_rows(self, weight: torch.Tensor, rows: torch.Tensor, grad: torch.Tensor) -> None:
        group = self.param_groups[0]
        (beta1, beta2), state = group["betas"], self.state[weight]
        if not state:
            state["step"] = torch.zeros((), dtype=torch.float64)
            state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(weight), torch.zeros_like(weight)
        state["step"] += 1
        step = float(state["step"])
        current = weight.index_select(0, rows)
        if group["weight_decay"]:
            grad = grad.add(current, alpha=group["weight_decay"])
        exp_avg = state["exp_avg"].index_select(0, rows).mul_(beta1).add_(grad, alpha=1 - beta1)
        exp_avg_sq = state["exp_avg_sq"].index_select(0, rows).mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        state["exp_avg"].index_copy_(0, rows, exp_avg)
        state["exp_avg_sq"].index_copy_(0, rows, exp_avg_sq)
        denom = exp_avg_sq.div_(1 - beta2**step).sqrt_().add_(group["eps"])
        weight.index_copy_(0, rows, current.addcdiv_(exp_avg, denom, value=-group["lr"] / (1 - beta1**step)))

    def state_dict(self) -> dict:
        dense = self.dense.state_dict() if self.dense is not None else None
        return {"lazy": super().state_dict(), "dense": dense}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict["lazy"])
        if self.dense is not None:
            self.dense.load_state_dict(state_dict["dense"])
