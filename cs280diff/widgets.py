"""Interactive widgets for the notebooks (ipywidgets + matplotlib)."""
from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import torch

from cs280diff.conventions import path
from cs280diff.data import GaussianMixture
from cs280diff.plotting import plot_density_and_velocity


def flow_slider(mixture: GaussianMixture, n_samples: int = 4000, seed: int = 0, x_range=(-4.0, 4.0)):
    """A slider over t showing p_t and the exact velocity v*(., t), with a histogram of x_t = (1 - t) x0 + t x1."""
    gen = torch.Generator().manual_seed(seed)
    x1 = mixture.sample(n_samples, gen, dtype=torch.float64)
    x0 = torch.randn(x1.shape, generator=gen, dtype=torch.float64)

    def show(t: float):
        _, ax = plt.subplots(figsize=(7, 3.5))
        plot_density_and_velocity(mixture, t, x_range=x_range, ax=ax, samples=path(x0, x1, t))
        plt.show()

    slider = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.01, description="t", continuous_update=False)
    return W.interactive(show, t=slider)
