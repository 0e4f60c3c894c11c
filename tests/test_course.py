"""Course tooling: the text authoring format round-trips; nbgrader metadata is right."""
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
