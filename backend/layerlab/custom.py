"""Custom layers from the builder's guide, registered like any ``torch.nn`` type."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MyLinear(nn.Module):
    """A fully connected layer with its own weight and bias Parameters, then ReLU.

    Unlike the guide's version, ``forward`` uses the Parameters themselves rather than
    ``.data``, so gradients reach them.
    """

    def __init__(self, in_units: int, units: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_units, units))
        self.bias = nn.Parameter(torch.empty(units))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The guide's ``torch.randn`` initialization."""
        with torch.no_grad():
            self.weight.normal_()
            self.bias.normal_()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return F.relu(torch.matmul(X, self.weight) + self.bias)


class CenteredLayer(nn.Module):
    """Subtracts the mean of its input: a layer without parameters."""

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X - X.mean()
