"""Runtime helpers: device, profile, seeding."""
import pytest
import torch

from cs280diff import runtime


def test_profile_fast_on_cpu_and_while_grading(monkeypatch):
    monkeypatch.delenv(runtime.PROFILE_ENV, raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert runtime.get_profile() == ("full" if torch.cuda.is_available() else "fast")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert runtime.get_profile() == "fast" and runtime.is_grading()


def test_profile_override(monkeypatch):
    monkeypatch.setenv(runtime.PROFILE_ENV, "full")
    assert runtime.get_profile() == "full"
    assert runtime.pick(fast=1, full=2) == 2
    monkeypatch.setenv(runtime.PROFILE_ENV, "turbo")
    with pytest.raises(ValueError, match="fast"):
        runtime.get_profile()


def test_pick_and_bad_profile():
    assert runtime.pick(fast=1, full=2, profile="fast") == 1
    with pytest.raises(ValueError):
        runtime.pick(1, 2, profile="medium")


def test_device(monkeypatch):
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    expected = "cuda" if torch.cuda.is_available() else None
    assert runtime.get_device().type == (expected or runtime.get_device().type)
    assert runtime.get_device("cpu") == torch.device("cpu")
    monkeypatch.setenv(runtime.DEVICE_ENV, "cpu")
    assert runtime.get_device() == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            runtime.get_device("cuda")


def test_seeding_is_deterministic():
    g1 = runtime.seed_everything(3)
    a = (torch.rand(3), torch.randn(2, generator=g1))
    g2 = runtime.seed_everything(3)
    b = (torch.rand(3), torch.randn(2, generator=g2))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    with pytest.raises(TypeError):
        runtime.seed_everything(1.5)
    z1 = runtime.randn((4,), runtime.make_generator(5))
    z2 = runtime.randn((4,), runtime.make_generator(5), device="cpu")
    assert torch.equal(z1, z2)


def test_to_device_pins_and_does_not_block_on_the_way_to_a_gpu():
    """CPU -> CUDA goes through pinned memory with non_blocking=True (no host wait); everything else is ``.to``."""
    calls = []

    class HostTensor:  # stands in for a CPU tensor on a machine without a GPU
        device = torch.device("cpu")

        def pin_memory(self):
            calls.append("pin_memory")
            return self

        def to(self, device, **kw):
            calls.append(("to", str(device), kw))
            return "on the GPU"

    assert runtime.to_device(HostTensor(), "cuda") == "on the GPU"
    assert calls == ["pin_memory", ("to", "cuda", {"non_blocking": True})]
    calls.clear()
    assert runtime.to_device(HostTensor(), "cpu") == "on the GPU" and calls == [("to", "cpu", {})]
    x = torch.randn(3)
    assert runtime.to_device(x, torch.device("cpu")) is x
