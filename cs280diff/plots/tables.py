"""Tables of measured numbers that read well in a notebook (an HTML table) and in a terminal (aligned text).

A long row printed as text wraps wherever the window ends, often in the middle of a number; an HTML table wraps
inside its cells only, between words, and keeps its columns.
"""
from __future__ import annotations

import html
from collections.abc import Sequence


class Table:
    """A table with a header row; shown as HTML by Jupyter (``_repr_html_``) and as aligned text by ``print``.

    header: the column names; rows: one sequence of cells per row, already formatted as strings (or anything
    ``str`` accepts), the same length as ``header``; title: an optional caption.
    """

    def __init__(self, header: Sequence, rows: Sequence[Sequence], title: str | None = None):
        self.header = [str(h) for h in header]
        self.rows = [[str(c) for c in row] for row in rows]
        self.title = title
        bad = [i for i, row in enumerate(self.rows) if len(row) != len(self.header)]
        if bad:
            raise ValueError(f"Table: row {bad[0]} has {len(self.rows[bad[0]])} cells for {len(self.header)} columns")

    def __str__(self) -> str:
        widths = [max(len(c) for c in col) for col in zip(self.header, *self.rows)]
        lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in [self.header, *self.rows]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(([self.title] if self.title else []) + lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in self.header)
        body = "".join("<tr>" + "".join(f'<td style="text-align:{"left" if i == 0 else "right"}">{esc(c)}</td>'
                                        for i, c in enumerate(row)) + "</tr>" for row in self.rows)
        caption = f"<caption style='caption-side:top;text-align:left'>{esc(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def show_table(header: Sequence, rows: Sequence[Sequence], title: str | None = None) -> Table:
    """Display a ``Table`` in a notebook (print it elsewhere) and return it."""
    table = Table(header, rows, title)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python without IPython
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(table)
    else:
        print(table)
    return table
