"""Course tooling: the text authoring format (jupytext's percent format, or compact headers) round-trips; nbgrader
metadata is right."""
from cs280diff import course

TEXT = """# %% [markdown]
# Title

# %% [code]
# cs280diff set-up

# %% [solution] id=f
def f(x):
    ### BEGIN SOLUTION
    return x
    ### END SOLUTION

# %% [tests] id=test_f points=2
assert f(1) == 1

# %% [answer] id=q points=3
YOUR ANSWER

# %% [readonly] id=ro
x = 1
"""


def test_text_round_trip_and_metadata():
    nb = course.notebook_from_text(TEXT)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code", "markdown", "code"]
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    assert meta[2]["solution"] and not meta[2]["grade"]
    assert meta[3]["grade"] and meta[3]["points"] == 2 and meta[3]["locked"]
    assert meta[4]["grade"] and meta[4]["solution"] and meta[4]["points"] == 3
    assert meta[5]["locked"] and not meta[5]["grade"]
    again = course.notebook_from_text(course.text_from_notebook(nb))
    assert again == nb


def test_the_text_format_is_jupytext_percent_and_compact_headers_mean_the_same():
    import jupytext
    import nbformat

    nb = course.notebook_from_text(TEXT)
    text = course.text_from_notebook(nb)
    assert text.startswith("# %% [markdown]") and "# %% nbgrader=" in text  # jupytext's own cell headers
    plain = jupytext.reads(text, fmt="py:percent")  # jupytext alone reads the same cells and metadata
    assert [(c.cell_type, c.source.strip(), c.metadata) for c in plain.cells] == \
           [(c.cell_type, c.source, c.metadata) for c in nb.cells]
    for path in sorted(course.REPO.glob("solutions/*/*.ipynb")):  # every notebook survives the round trip
        sol = nbformat.read(path, as_version=4)
        assert course.notebook_from_text(course.text_from_notebook(sol)).cells == sol.cells, path
