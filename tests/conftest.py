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
# `make test` on 2 cores (2026-12-04, from a per-test timeline); unlisted scopes are short and run after these, in
# collection order.  Refresh when a scope's cost changes much: a stale figure only costs balance, never a result.
SCOPE_SECONDS = {
    "tests/test_pipeline.py::TestNotebook_07_guidance": 281,
    "tests/test_ta_workflow.py": 197,
    "tests/test_pipeline.py::TestNotebook_06_distillation": 172,
    "tests/test_student_view.py": 156,
    "tests/test_site.py": 144,
    "tests/test_pipeline.py::TestNotebook_05_inversion_editing": 136,
    "solutions/07_guidance/07_guidance.ipynb": 134,
    "tests/test_pipeline.py::TestNotebook_02_flow_matching": 129,
    "tests/test_pipeline.py::TestNotebook_03_ode_solvers": 110,
    "tests/test_pipeline.py::TestNotebook_04_stochastic_sampling": 106,
    "tests/test_nb8_claims.py": 100,
    "tests/test_pipeline.py::TestNotebook_08_conditioning": 99,
    "tests/test_gradebook_concurrency.py": 91,
    "tests/test_pipeline.py::TestNotebook_01_one_d_flow": 75,
    "tests/test_pipeline.py::TestNotebook_08b_video_world_poses": 75,
    "tests/test_grading_robustness.py": 70,
    "solutions/08_conditioning/08_conditioning.ipynb": 68,
    "solutions/08b_video_world_poses/08b_video_world_poses.ipynb": 60,
    "solutions/04_stochastic_sampling/04_stochastic_sampling.ipynb": 53,
    "tests/test_nb7_claims.py": 51,
    "tests/test_digits_studies.py": 49,
    "solutions/06_distillation/06_distillation.ipynb": 44,
    "solutions/02_flow_matching/02_flow_matching.ipynb": 36,
    "tests/test_grading_stderr.py": 36,
    "solutions/05_inversion_editing/05_inversion_editing.ipynb": 32,
    "tests/test_browser.py": 32,
    "tests/test_game.py": 30,
    "tests/test_gpu_script.py": 27,
    "tests/test_grading_integrity.py": 27,
    "solutions/03_ode_solvers/03_ode_solvers.ipynb": 27,
    "tests/test_checkpoints.py": 27,
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
