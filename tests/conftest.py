import os
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")


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
