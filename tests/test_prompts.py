"""images.prompts: the (digit, style) prompts of notebook 8's composition experiment."""
import torch

from cs280diff.images import digits, prompts
from cs280diff.nets.dit import TinyDiT


def test_embolden_thickens_by_one_pixel_right_and_down():
    x = -torch.ones(1, 1, 8, 8)
    x[0, 0, 3, 4] = 1.0
    b = prompts.embolden(x)
    assert b.shape == x.shape
    assert torch.nonzero(b[0, 0] > 0).tolist() == [[2, 3], [2, 4], [3, 3], [3, 4]]  # the 2 x 2 windows holding it
    real, _ = digits.load_digits("test")
    assert (prompts.ink(prompts.embolden(real)) > prompts.ink(real)).all()


def test_the_sampler_never_shows_a_held_out_pair_and_styles_its_images():
    x1, cond = prompts.sampler()(4000, torch.Generator().manual_seed(0))
    tokens = cond["tokens"]
    assert tokens.shape == (4000, 2) and tokens.dtype == torch.long
    pairs = {(int(d), int(s) - 10) for d, s in tokens}
    assert not pairs & set(prompts.HELD_OUT)
    assert len(pairs) == 20 - len(prompts.HELD_OUT)  # every other combination occurs
    bold = tokens[:, 1] == 11
    thresholds = prompts._ink_thresholds()[tokens[:, 0]]
    assert ((prompts.ink(x1) > thresholds) == bold).float().mean() > 0.99  # the ink says the style


def test_composition_reports_seen_and_held_out_accuracies():
    torch.manual_seed(0)
    net = TinyDiT(channels=1, size=8, patch=2, width=16, depth=1, heads=2, t_embed=8, vocab=prompts.VOCAB,
                  prompt_len=prompts.PROMPT_LEN)
    r = prompts.composition(net, n_per=2, n_steps=2)
    assert r["digit"].shape == r["style"].shape == (10, 2)
    assert r["samples"].shape == (10, 2, 2, 1, 8, 8)
    for key in ("seen_digit", "seen_style", "held_out_digit", "held_out_style", "real_bold_digit"):
        assert 0.0 <= r[key] <= 1.0
    assert r["real_bold_digit"] > 0.8  # the clean classifier still reads real bold digits (measured 0.855)
