"""Weight masks: which weights are prunable, magnitude pruning, and keeping masks applied.

A mask is a boolean tensor beside each prunable weight, on the weight's device: ``True``
for a weight that survives. Pruning only ever removes survivors, so masks shrink round by
round, and while a mask is enforced the weights it removes stay exactly zero.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

# Embedding rows start on another scale than the layers above them (N(0, 1) against
# about 1/sqrt(fan_in)), so a global magnitude ranking would strip the convolutions and the
# output layer first; the experiment is about the classifier's weights.
DEFAULT_SKIP = ("embedding", "bias")


def prunable_weights(
    model: nn.Module, skip: tuple[str, ...] = DEFAULT_SKIP
) -> dict[str, nn.Parameter]:
    """Weight matrices and kernels of ``model`` whose names contain none of ``skip``.

    Vectors (biases, norms) are never prunable. By default embeddings are skipped too;
    ``skip=("bias",)`` prunes them with the rest.

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
        >>> list(prunable_weights(model))
        ['0.weight', '1.weight']
        >>> list(prunable_weights(model, skip=("0.",)))
        ['1.weight']
    """
    return {
        name: param
        for name, param in model.named_parameters()
        if param.dim() >= 2 and not any(part in name for part in skip)
    }


class WeightMasks:
    """One boolean keep-mask per prunable weight of a model.

    Example:
        .. code-block:: python

            masks = WeightMasks.dense(model)
            masks = masks.pruned(model, keep_fraction=0.8, scope="global")
            masks.apply(model)
            with masks.enforced(model) as remask:
                fit(model, train, dev, params, settings, after_step=[remask])
            print(masks.remaining())  # {"convs.0.weight": 0.8, ...}
    """

    def __init__(self, keep: dict[str, torch.Tensor]):
        self.keep = keep

    @classmethod
    def dense(cls, model: nn.Module, skip: tuple[str, ...] = DEFAULT_SKIP) -> WeightMasks:
        """Masks that keep every prunable weight."""
        weights = prunable_weights(model, skip)
        return cls({name: torch.ones_like(w, dtype=torch.bool) for name, w in weights.items()})

    def __len__(self) -> int:
        return len(self.keep)

    def weights(self, model: nn.Module) -> dict[str, nn.Parameter]:
        named = dict(model.named_parameters())
        return {name: named[name] for name in self.keep}

    def total(self) -> int:
        """Number of prunable weights, pruned or not."""
        return sum(mask.numel() for mask in self.keep.values())

    def remaining(self) -> dict[str, float]:
        """Share of each prunable weight that survives, by parameter name."""
        return {name: int(mask.sum()) / mask.numel() for name, mask in self.keep.items()}

    def overall_remaining(self) -> float:
        """Share of all prunable weights that survive."""
        kept = sum(int(mask.sum()) for mask in self.keep.values())
        return kept / max(1, self.total())

    @torch.no_grad()
    def pruned(self, model: nn.Module, keep_fraction: float, scope: str = "global") -> WeightMasks:
        """New masks keeping the largest-magnitude survivors, ``keep_fraction`` of all weights.

        The number kept is ``round(keep_fraction * n)`` of the ``n`` prunable weights, over
        all weights together (``scope="global"``) or tensor by tensor (``"layer"``), so the
        schedule never drifts by rounding round after round.
        """
        weights = self.weights(model)
        # Pruned weights score below every survivor, so they can never come back.
        scores = {
            name: torch.where(self.keep[name], weights[name].abs(), -1.0) for name in self.keep
        }
        if scope == "layer":
            return WeightMasks(
                {
                    name: _keep_largest(score.flatten(), keep_fraction).view_as(score)
                    for name, score in scores.items()
                }
            )
        if scope != "global":
            raise ValueError(f"unknown scope {scope!r}")
        flat = torch.cat([score.flatten() for score in scores.values()])
        kept = _keep_largest(flat, keep_fraction)
        pieces = kept.split([score.numel() for score in scores.values()])
        return WeightMasks(
            {
                name: piece.view_as(score)
                for (name, score), piece in zip(scores.items(), pieces, strict=True)
            }
        )

    @torch.no_grad()
    def apply(self, model: nn.Module) -> None:
        """Set every pruned weight of ``model`` to exactly zero."""
        for name, weight in self.weights(model).items():
            weight.mul_(self.keep[name])

    @contextlib.contextmanager
    def enforced(self, model: nn.Module) -> Iterator[Callable[[nn.Module], None]]:
        """Zero the gradients of pruned weights while inside; yields the after-step hook.

        Gradient hooks keep the optimizer's state (momentum, Adam moments) of pruned weights
        at zero; the yielded hook, run after every optimizer step, re-applies the masks, so
        pruned weights are exactly zero after every step whatever the optimizer does.
        """
        pairs = [(weight, self.keep[name]) for name, weight in self.weights(model).items()]
        handles = [weight.register_hook(_masking_hook(keep)) for weight, keep in pairs]

        @torch.no_grad()
        def remask(_model: nn.Module) -> None:
            for weight, keep in pairs:
                weight.mul_(keep)

        try:
            yield remask
        finally:
            for handle in handles:
                handle.remove()


def _masking_hook(keep: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    def zero_pruned(grad: torch.Tensor) -> torch.Tensor:
        return grad * keep

    return zero_pruned


def _keep_largest(scores: torch.Tensor, keep_fraction: float) -> torch.Tensor:
    """Boolean mask of the ``round(keep_fraction * n)`` largest of the flat ``scores``."""
    count = round(keep_fraction * scores.numel())
    kept = torch.zeros_like(scores, dtype=torch.bool)
    kept[scores.topk(count, sorted=False).indices] = True
    return kept
