"""Notebook 8 part 2's interactive pieces: the playable world, and a loudness knob for the video model.

``PlayableWorld(step_model, pos0)``: buttons (up, down, left, right); each press applies the action to the simulator
(``images.game.move``) and asks ``step_model(frame, action) -> next frame`` for the model's next frame from its *own*
previous frame, then redraws both with the distance between the sprites.  The callbacks are plain methods
(``press``), so tests can call them.  ``loudness_slider(model, first)``: the frame the video model draws for a
loudness you choose.
"""
from __future__ import annotations

from typing import Callable

import ipywidgets as W
import matplotlib.pyplot as plt
import torch

from cs280diff.flows import schedules, solvers
from cs280diff.images import game, video
from cs280diff.plots.widgets import _interactive

Tensor = torch.Tensor

__all__ = ["PlayableWorld", "loudness_slider"]


class PlayableWorld:
    """A game: ``.buttons`` (one ipywidgets.Button per action), ``.widget`` to display, ``.press(action)``.

    State: ``pos`` (2,) the simulator's sprite, ``true_frame`` and ``model_frame`` (1, 1, S, S), ``history`` the
    actions so far, ``errors`` the distance (pixels) between the model's sprite and the simulator's after each press.
    """

    def __init__(self, step_model: Callable[[Tensor, Tensor], Tensor], pos0: Tensor, *, draw: bool = True):
        self.step_model, self.draw = step_model, draw
        self.pos = torch.as_tensor(pos0, dtype=torch.float32).reshape(1, 2)
        self.true_frame = game.render(self.pos)
        self.model_frame = self.true_frame.clone()
        self.history, self.errors = [], []
        self.buttons = {name: W.Button(description=name, layout=W.Layout(width="70px")) for name in game.ACTIONS}
        for name, button in self.buttons.items():
            button.on_click(lambda _b, name=name: self.press(name))
        self.reset_button = W.Button(description="reset", layout=W.Layout(width="70px"))
        self.reset_button.on_click(lambda _b: self.reset(pos0))
        self.out = W.Output()
        b = self.buttons
        pad = W.Label(layout=W.Layout(width="70px"))
        pad_keys = W.VBox([W.HBox([pad, b["up"], pad]), W.HBox([b["left"], self.reset_button, b["right"]]),
                           W.HBox([pad, b["down"], pad])])
        self.widget = W.HBox([pad_keys, self.out])
        self._show()

    def press(self, action: str) -> None:
        """Apply ``action`` ("up", "down", "left" or "right") to the simulator and to the model, and redraw."""
        if action not in game.ACTIONS:
            raise ValueError(f"action must be one of {game.ACTIONS}, got {action!r}")
        a = torch.tensor([game.ACTIONS.index(action)])
        self.pos = game.move(self.pos, a)  # the simulator's step
        self.true_frame = game.render(self.pos)
        with torch.no_grad():
            self.model_frame = self.step_model(self.model_frame, a).detach().cpu().reshape(self.true_frame.shape)
        self.history.append(action)
        self.errors.append(self.error())
        self._show()

    def reset(self, pos0) -> None:
        """Back to the start: both frames at pos0, no history."""
        self.pos = torch.as_tensor(pos0, dtype=torch.float32).reshape(1, 2)
        self.true_frame = game.render(self.pos)
        self.model_frame, self.history, self.errors = self.true_frame.clone(), [], []
        self._show()

    def error(self) -> float:
        """The distance (pixels) between the model's sprite (its ink's centre of mass) and the simulator's."""
        return float((game.position(self.model_frame) - self.pos).norm())

    def _show(self) -> None:
        if not self.draw:
            return
        self.out.clear_output(wait=True)
        with self.out:
            fig, axes = plt.subplots(1, 2, figsize=(5.2, 2.8))
            for ax, frame, title in ((axes[0], self.true_frame, "simulator"), (axes[1], self.model_frame, "model")):
                ax.imshow(frame[0, 0].clamp(-1, 1).numpy(), cmap="gray_r", vmin=-1, vmax=1)
                ax.set_title(title)
                ax.set_xticks([]), ax.set_yticks([])
            fig.suptitle(f"{len(self.history)} actions; sprite distance {self.error():.2f} px", fontsize=10)
            plt.tight_layout()
            plt.show()


def loudness_slider(model, first: Tensor, *, n_steps: int = 10, seed: int = 0):
    """A slider for the loudness s: the frame ``model`` (a ``video_signal`` frame model) draws from the first frames
    (n, 1, S, S) and s, next to the true frame at that loudness, with the measured sizes."""
    device = next(model.parameters()).device
    grid = schedules.uniform(n_steps).to(device)

    def show(s: float):
        z = torch.randn(first.shape, generator=torch.Generator().manual_seed(seed)).to(device)
        cond = video.signal_condition(first.to(device), torch.full((first.shape[0],), float(s), device=device))
        with torch.no_grad():
            frames = solvers.sample(model, z, grid, cond={"cond": cond}).cpu()
        n = first.shape[0]
        fig, axes = plt.subplots(2, n, figsize=(1.6 * n + 0.6, 3.6), squeeze=False)
        for i in range(n):
            for row, (img, label) in enumerate(((first[i], "first frame"), (frames[i], f"model, s = {s:.2f}"))):
                axes[row, i].imshow(img[0].clamp(-1, 1).numpy(), cmap="gray_r", vmin=-1, vmax=1)
                axes[row, i].set_xticks([]), axes[row, i].set_yticks([])
                axes[row, i].set_title(f"{label}\nsize {video.size(img[None]).item():.1f}", fontsize=8)
        plt.tight_layout()
        plt.show()

    return _interactive(show, s=W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="loudness s"))
