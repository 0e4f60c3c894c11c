import os
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")


# `make test` runs `pytest -n 2 --dist loadscope --no-loadscope-reorder`: a scope (a module, a test class, a notebook)
# stays on one worker, and a worker takes the next scope, in collection order, when its own is nearly done.  Longest
# first (LPT) keeps a worker from starting a four-minute scope while the other is about to finish.  Seconds of one
# `make test` on 2 cores (2026-12-03, from a per-test timeline); unlisted scopes are short and run after these, in
# collection order.  Refresh when a scope's cost changes much: a stale figure only costs balance, never a result.
SCOPE_SECONDS = {
    "tests/test_pipeline.py::TestNotebook_07_guidance": 329,
    "tests/test_ta_workflow.py": 273,
    "tests/test_pipeline.py::TestNotebook_08_conditioning": 226,
    "tests/test_pipeline.py::TestNotebook_06_distillation": 223,
    "tests/test_student_view.py": 222,
    "tests/test_site.py": 211,
    "solutions/08b_video_world_poses/08b_video_world_poses.ipynb": 204,
    "tests/test_pipeline.py::TestNotebook_02_flow_matching": 198,
    "solutions/07_guidance/07_guidance.ipynb": 168,
    "tests/test_nb8_claims.py": 167,
    "tests/test_pipeline.py::TestNotebook_03_ode_solvers": 167,
    "tests/test_pipeline.py::TestNotebook_04_stochastic_sampling": 149,
    "tests/test_pipeline.py::TestNotebook_08b_video_world_poses": 145,
    "tests/test_pipeline.py::TestNotebook_05_inversion_editing": 139,
    "tests/test_gradebook_concurrency.py": 130,
    "solutions/08_conditioning/08_conditioning.ipynb": 107,
    "tests/test_pipeline.py::TestNotebook_01_one_d_flow": 99,
    "solutions/04_stochastic_sampling/04_stochastic_sampling.ipynb": 93,
    "solutions/02_flow_matching/02_flow_matching.ipynb": 81,
    "tests/test_grading_robustness.py": 76,
    "tests/test_nb7_claims.py": 75,
    "tests/test_digits_studies.py": 73,
    "tests/test_grading_stderr.py": 54,
    "solutions/06_distillation/06_distillation.ipynb": 53,
    "solutions/05_inversion_editing/05_inversion_editing.ipynb": 51,
    "solutions/03_ode_solvers/03_ode_solvers.ipynb": 51,
    "tests/test_grading_integrity.py": 48,
    "tests/test_game.py": 47,
    "tests/test_checkpoints.py": 44,
    "tests/test_browser.py": 41,
    "tests/test_gpu_script.py": 34,
    "tests/test_nb6_claims.py": 27,
    "tests/test_video.py": 23,
    "tests/test_stochastic.py": 22,
}


def scope_of(nodeid: str) -> str:
    """The unit ``--dist loadscope`` keeps on one worker: the node id up to its last ``::``."""
    return nodeid.rsplit("::", 1)[0]


def pytest_collection_modifyitems(config, items):
    """The longest scopes first (a stable sort: order within a scope, and among unlisted ones, is kept)."""
    items.sort(key=lambda item: -SCOPE_SECONDS.get(scope_of(item.nodeid), 0))


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors run fastest on one thread on these 2-core machines; tests run in parallel anyway."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def venv_bin():
    return Path(sys.executable).parent



def system_tool(found: str | None, message: str) -> str:
    """A system prerequisite from Debian (Chromium, PostgreSQL): its path, or skip with ``message`` saying how to
    get it; under CI=true a missing one fails instead (CI must run those tests)."""
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; CI must run this test")
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium for the browser tests (driven by Playwright through ``executable_path``)."""
    import shutil

    return system_tool(shutil.which("chromium") or shutil.which("chromium-browser"),
                       "Chromium is not installed (Debian: apt-get install chromium)")
