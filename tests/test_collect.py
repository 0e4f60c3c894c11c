"""course.collect: an inbox as students send it (folders, zips, loose platform files, renamed and duplicated
notebooks, broken files) into nbgrader's submitted/<student>/<id>/<id>.ipynb."""
import copy
import io
import zipfile

import nbformat
import pytest

import nbgrading as G
from cs280diff.course.collect import collect, identify

AIDS = ["01_one_d_flow", "03_ode_solvers", "08b_video_world_poses"]


@pytest.fixture(scope="module")
def released():
    return {aid: nbformat.read(G.REPO / "notebooks" / aid / f"{aid}.ipynb", as_version=4) for aid in AIDS}


def _stripped(nb):
    out = copy.deepcopy(nb)
    for k, cell in enumerate(out.cells):
        cell.metadata, cell.id = {}, f"x{k}"
    return out


def test_identify_by_content_then_by_name(released):
    for aid, nb in released.items():
        assert identify(nb, "homework.ipynb", released) == aid
        assert identify(_stripped(nb), "untitled.ipynb", released) == aid  # the test cells' sources
    empty = nbformat.v4.new_notebook()
    assert identify(empty, "Copy of 03_ode_solvers (2).ipynb", released) == "03_ode_solvers"
    assert identify(empty, "hw08b.ipynb", released) == "08b_video_world_poses"
    assert identify(empty, "notes.ipynb", released) is None


def test_collect_every_layout_and_report_the_rest(tmp_path, released):
    inbox, root = tmp_path / "inbox", tmp_path / "course"
    inbox.mkdir()
    nb1 = G.submission("01_one_d_flow", G.solution_sources("01_one_d_flow"))
    stub1 = released["01_one_d_flow"]
    (inbox / "ann").mkdir()
    nbformat.write(_stripped(nb1), inbox / "ann" / "Copy of hw (1).ipynb")
    nbformat.write(stub1, inbox / "ann" / "01_one_d_flow.ipynb")  # an older, empty copy of the same notebook
    (inbox / "ann" / "broken.ipynb").write_text("{not json")
    nbformat.write(nbformat.v4.new_notebook(), inbox / "ann" / "scratch.ipynb")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ben/sub/ode.ipynb", nbformat.writes(released["03_ode_solvers"]))
        z.writestr("__MACOSX/ben/._ode.ipynb", "junk")
    (inbox / "ben.zip").write_bytes(buf.getvalue())
    (inbox / "cat__08b_video_world_poses_final.ipynb").write_text(nbformat.writes(released["08b_video_world_poses"]))
    (inbox / "dan.zip").write_bytes(b"not a zip")
    (inbox / "Eve Smith (2)").mkdir()  # a name that is no good as a student id
    nbformat.write(released["03_ode_solvers"], inbox / "Eve Smith (2)" / "a.ipynb")
    result = collect(inbox, root, released)
    assert result.placed == {"ann": {"01_one_d_flow": "Copy of hw (1).ipynb"}, "ben": {"03_ode_solvers": "ode.ipynb"},
                             "cat": {"08b_video_world_poses": "cat__08b_video_world_poses_final.ipynb"},
                             "Eve_Smith_2": {"03_ode_solvers": "a.ipynb"}}
    graded = nbformat.read(root / "submitted" / "ann" / "01_one_d_flow" / "01_one_d_flow.ipynb", as_version=4)
    assert [c.source for c in graded.cells] == [c.source for c in _stripped(nb1).cells]  # the answered copy
    text = "\n".join(result.problems)
    assert "ann: two files for 01_one_d_flow: graded Copy of hw (1).ipynb, ignored 01_one_d_flow.ipynb" in text
    assert "ann: broken.ipynb is not a readable notebook" in text
    assert "ann: scratch.ipynb matches no notebook" in text
    assert "dan: dan.zip could not be read" in text
