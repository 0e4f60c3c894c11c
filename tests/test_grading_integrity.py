"""Tampering is detected: by the test cells at run time (it costs the points) and by the TA's integrity report,
which flags the answer cells that touch the grading helpers, the references or the interpreter (and no cell of the
solution)."""
import nbformat
import pytest

import nbgrading as G
from cs280diff.course.autograde import integrity_report
from cs280diff.course import report

AID = "03_ode_solvers"
WRONG_GRID = "def edm_rho_grid(n_steps, sigma_min=0.002, sigma_max=80.0, rho=7.0):\n" \
             "    return torch.linspace(0, 1, n_steps + 1, dtype=torch.float64)"
NO_OP_CHECKS = "\ngrading.check_close = lambda *a, **k: None\ngrading.check_true = lambda *a, **k: None\n" \
               "grading.check_tensor = lambda value, **k: value\n"
EULER_AS_HEUN = "def heun_step(field, x, t, t_next, **cond):\n    return x + (t_next - t) * field(x, t, **cond)\n" \
                "solvers.heun_step = heun_step  # the test now compares my answer with itself\n"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return G.Course(tmp_path_factory.mktemp("integrity"), AID)


def _instructor():
    return nbformat.read(G.REPO / "solutions" / AID / f"{AID}.ipynb", as_version=4)


def test_no_op_check_helpers_cost_the_points(course):
    """The report's case: check helpers replaced by no-ops in an answer cell, then a wrong edm_rho_grid."""
    sol = G.solution_sources(AID)
    fills = dict(sol, euler_step=sol["euler_step"] + NO_OP_CHECKS, edm_rho_grid=WRONG_GRID)
    grades = course.autograde("no_ops", G.submission(AID, fills))
    assert grades["test_edm_rho_grid"][0] == 0, grades
    assert "cs280diff.grading.check_close was replaced" in course.feedback("no_ops")["test_edm_rho_grid"]


def test_a_patched_reference_costs_the_points(course):
    """A wrong heun_step written over the reference the test compares against is caught."""
    fills = dict(G.solution_sources(AID), heun_step=EULER_AS_HEUN)
    grades = course.autograde("patched", G.submission(AID, fills))
    assert grades["test_heun_step"][0] == 0, grades
    assert "cs280diff.flows.solvers.heun_step was replaced" in course.feedback("patched")["test_heun_step"]


def test_the_report_does_not_flag_ordinary_code():
    """Names that merely look like the interpreter's (nn.Module.modules(), an attribute called reload) are fine."""
    imported = {"torch": "torch", "sys": "sys", "grading": "cs280diff.grading"}
    source = ("def count(model):\n    n = sum(1 for m in model.modules())\n    model.reload = None\n"
              "    x = torch.zeros(3)\n    x.data = x + 1\n    return n\n")
    assert report.scan_cell(source, imported) == []
    assert report.scan_cell("import sys\nsys.modules['a'] = 1\n", imported) == [
        "line 2: touches sys.modules (sys.modules)"]


@pytest.mark.parametrize("aid", G.notebook_ids())
def test_the_report_flags_nothing_in_the_solution(aid):
    instructor = nbformat.read(G.REPO / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    assert report.scan_submission(G.submission(aid, G.solution_sources(aid)), instructor) == {}


def test_the_report_flags_tampering_and_shortcuts(tmp_path):
    sol = G.solution_sources(AID)
    shortcuts = G.load_shortcuts(AID)
    fills = dict(sol, euler_step=sol["euler_step"] + NO_OP_CHECKS, heun_step=EULER_AS_HEUN,
                 sample_ode=shortcuts["sample_ode"],
                 edm_rho_grid=WRONG_GRID + "\nimport sys, builtins\nsys.modules['cs280diff.grading'] = None\n"
                                           "setattr(grading, 'passed', print)\nbuiltins.isinstance = lambda a, b: 1\n"
                                           "schedules.edm_rho.__code__ = edm_rho_grid.__code__\n")
    nb = G.submission(AID, fills)
    flags = report.scan_submission(nb, _instructor())
    text = {gid: "\n".join(f) for gid, f in flags.items()}
    assert set(flags) == {"euler_step", "heun_step", "sample_ode", "edm_rho_grid"}, flags
    assert "changes grading.check_close" in text["euler_step"] and "grading.check_tensor" in text["euler_step"]
    assert "changes solvers.heun_step" in text["heun_step"]
    assert "names its own reference solvers.sample" in text["sample_ode"]
    for words in ("sys.modules", "setattr on grading", "builtins", "__code__"):
        assert words in text["edm_rho_grid"], (words, text["edm_rho_grid"])
    # make autograde's step: reports/<student>/<aid>.md for a flagged and a clean submission
    for student, book in (("tamperer", nb), ("honest", G.submission(AID, sol))):
        (tmp_path / "submitted" / student / AID).mkdir(parents=True)
        nbformat.write(book, tmp_path / "submitted" / student / AID / f"{AID}.ipynb")
        integrity_report(tmp_path, student, AID, _instructor())
    assert "changes grading.check_close" in (tmp_path / "reports" / "tamperer" / f"{AID}.md").read_text()
    assert "No answer cell touches" in (tmp_path / "reports" / "honest" / f"{AID}.md").read_text()
