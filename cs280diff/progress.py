"""Progress bars that stay out of a student's way.

``tqdm`` here is ``tqdm.auto.tqdm`` (a widget in a notebook, text in a terminal) with two differences:

- it appears only once its loop has run for ``DELAY`` seconds, so a loop whose first step raises (a stub, a bug
  caught by the first call) leaves no bar stuck at 0 % above the traceback;
- in a notebook, when a cell fails, every bar of that cell whose loop did not finish is hidden (``end_of_cell``,
  run by a post-execute callback that ``cs280diff.runtime`` registers): no red, half-full bar above the error.

Use it exactly like tqdm: ``for step in tqdm(range(n), desc="train"): ...``.
"""
from __future__ import annotations

import time

from tqdm.auto import tqdm as _auto_tqdm

from cs280diff import runtime  # its post-execute callback calls end_of_cell

DELAY = 0.5  # seconds a loop runs before its bar is shown
_IN_IPYTHON = runtime.ipython_shell() is not None  # only there does a post-execute callback empty _THIS_CELL
_THIS_CELL: list = []  # the bars created since the last notebook cell ended


class tqdm(_auto_tqdm):  # noqa: N801 (the name students know)
    """``tqdm.auto.tqdm`` shown after ``delay`` seconds (default ``DELAY``); all other arguments as tqdm's."""

    def __init__(self, *args, delay: float = DELAY, **kwargs):
        super().__init__(*args, delay=delay, **kwargs)
        if _IN_IPYTHON:
            _THIS_CELL.append(self)  # held until the cell ends: a failed loop's bar may otherwise be collected first

    def display(self, *args, **kwargs):
        """Draw the bar; in a notebook, not before ``delay`` has passed (tqdm's own error path would draw it at
        once, red at 0 %, when a loop's first step raises) and never once the bar is hidden."""
        if getattr(self, "hidden", False):
            return None
        early = not getattr(self, "displayed", True) and time.time() - self.start_t < self.delay
        if early and kwargs.get("check_delay", True):
            kwargs["check_delay"] = False  # update the widget, do not show it yet
        return super().display(*args, **kwargs)


def end_of_cell(failed: bool) -> int:
    """Called after each notebook cell (see ``cs280diff.runtime``): when the cell failed, hide every bar it
    created whose loop did not finish (tqdm may already have closed it, red, while the error unwound).  Returns
    the number of bars hidden.  A hidden bar no longer draws, also when it is closed later."""
    bars = list(_THIS_CELL)
    _THIS_CELL.clear()
    if not failed:
        return 0
    unfinished = [bar for bar in bars if bar.total is None or bar.n < bar.total]
    for bar in unfinished:
        _hide(bar)
    return len(unfinished)


def _hide(bar: tqdm) -> None:
    """Take one bar off the page: a notebook widget is hidden and closed, a terminal bar erases its line."""
    container = getattr(bar, "container", None)  # the notebook widget; a terminal bar has none
    if container is not None:
        container.layout.display = "none"  # hide the widget at once (kept in the saved widget state)
        container.close()  # and remove its view from the output area
    else:
        bar.leave = False
        bar.close()
    bar.hidden = True  # tqdm's own close() (when the loop is collected) draws nothing now
