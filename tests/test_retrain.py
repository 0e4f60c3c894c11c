"""images.retrain: the full profile's in-notebook training is the build's recipe, step for step."""
import dataclasses
import math

import pytest
import torch

from cs280diff.images import retrain
from cs280diff.nets import registry
from cs280diff.nets.checkpoints import load_model
from cs280diff.recipes import build
from cs280diff.recipes.specs import SPECS


@pytest.mark.parametrize("name", ["digits_mlp", "digits_unet", "task_inbetween"])
def test_training_from_scratch_is_the_builds_computation(name, tmp_path):
    """20 steps of ``train_like_shipped`` and of the build itself (``recipes.build._train_one`` on the spec with 20
    steps, its file read back) give the same EMA weights, bit for bit (the file's dtype aside)."""
    spec = SPECS[name]
    mine = retrain.train_like_shipped(name, steps=20, progress=False)
    build._train_one(dataclasses.replace(spec, train={**spec.train, "steps": 20}), tmp_path, progress=False)
    theirs = registry.construct(spec.cls, spec.arch)
    load_model(theirs, tmp_path / f"{name}.safetensors")
    assert mine.steps == 20 and len(mine.loss_history) == 20 and all(math.isfinite(v) for v in mine.loss_history)
    stored = getattr(torch, spec.storage)
    for a, b in zip(mine.model.state_dict().values(), theirs.state_dict().values()):
        assert torch.equal(a.to(stored).to(b.dtype), b)
    assert not mine.model.training and not any(p.requires_grad for p in mine.model.parameters())


def test_the_recipe_is_the_manifests_and_the_seed_the_specs():
    for name, spec in SPECS.items():
        if spec.kind in retrain._TRAINED_BY_TRAIN:
            entry = registry.read_manifest()["models"][name]
            assert spec.init_seed == retrain.INIT_SEED and entry["train"] == spec.train and entry["arch"] == spec.arch


def test_the_global_rng_is_left_alone_and_bad_names_are_refused():
    torch.manual_seed(5)
    want = torch.rand(3)
    torch.manual_seed(5)
    retrain.train_like_shipped("digits_mlp", steps=2, progress=False)
    assert torch.equal(torch.rand(3), want)
    with pytest.raises(ValueError, match="not a shipped model trained by training.train; these are: .*digits_unet"):
        retrain.train_like_shipped("digits_classifier")
    with pytest.raises(ValueError, match="steps"):
        retrain.train_like_shipped("digits_mlp", steps=0)


def test_compare_with_shipped_flags_a_metric_beyond_its_tolerance():
    """The shipped numbers themselves are within; accuracy moved by twice its tolerance is not (and only it)."""
    entry = registry.read_manifest()["models"]["digits_unet"]
    assert all(row[4] for row in retrain.compare_with_shipped("digits_unet", entry["metrics"]))
    moved = {**entry["metrics"], "accuracy": entry["metrics"]["accuracy"] - 2 * entry["tolerances"]["accuracy"]}
    rows = retrain.compare_with_shipped("digits_unet", moved)
    assert [row[0] for row in rows if not row[4]] == ["accuracy"]
    with pytest.raises(ValueError, match="not a shipped digits velocity model"):
        retrain.compare_with_shipped("task_inbetween", entry["metrics"])
    with pytest.raises(ValueError, match="lacks.*fd_n359"):
        retrain.compare_with_shipped("digits_unet", {"accuracy": 1.0})
