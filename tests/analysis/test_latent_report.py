import pytest
import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig

from sae_lens_signaware.activations import collect_activations
from sae_lens_signaware.analysis.census import compute_census
from sae_lens_signaware.analysis.latent_report import (
    direction_logits,
    feature_values,
    latent_reports,
    logit_tables,
    signed_histogram,
    top_contexts,
)
from tests.signed_dictionary import HOOK


def test_histogram_bins_are_shared_and_never_mix_signs() -> None:
    values = torch.tensor([-2.0, -1.0, -0.5, 0.0, 0.0, 0.5, 1.0, 2.0, 1e-3])
    hist = signed_histogram(values, n_bins=4)
    assert hist.edges == [-2.0, -1.0, 0.0, 1.0, 2.0]
    # [-2,-1) [-1,0) (0,1] (1,2]: -1 belongs to the negative bin next to 0
    assert hist.counts == [1, 2, 3, 1]
    assert hist.centers == [-1.5, -0.5, 0.5, 1.5]
    assert signed_histogram(values, n_bins=3).counts.__len__() == 4  # made even
    empty = signed_histogram(torch.zeros(5), n_bins=4)
    assert sum(empty.counts) == 0


def test_logit_tables_swap_for_the_negative_direction() -> None:
    logits = torch.tensor([0.5, -3.0, 2.0, 0.0, -1.0])
    vocab = ["a", "b", "c", "d", "e"]
    t = logit_tables(logits, vocab, k=2)
    assert t["pos"]["promoted"].tokens == ["c", "a"]
    assert t["pos"]["promoted"].values == [2.0, 0.5]
    assert t["pos"]["suppressed"].tokens == ["b", "e"]
    assert t["pos"]["suppressed"].values == [-3.0, -1.0]
    assert t["neg"]["promoted"].tokens == ["b", "e"]
    assert t["neg"]["promoted"].values == [3.0, 1.0]
    assert t["neg"]["suppressed"].tokens == ["c", "a"]
    assert t["neg"]["suppressed"].values == [-2.0, -0.5]


@pytest.mark.parametrize("norm", ["RMS", "LN"])
def test_direction_logits_fold_the_final_norm(norm: str) -> None:
    cfg = HookedTransformerConfig(
        n_layers=1,
        d_model=4,
        n_ctx=8,
        d_head=2,
        n_heads=2,
        d_vocab=6,
        act_fn="relu",
        normalization_type=norm,
        attn_only=True,
    )
    model = HookedTransformer(cfg)
    w = torch.tensor([1.0, 2.0, 0.5, -1.0])
    W_U = torch.arange(24, dtype=torch.float32).view(4, 6) / 10
    with torch.no_grad():
        model.get_parameter("ln_final.w").copy_(w)
        model.get_parameter("unembed.W_U").copy_(W_U)
    d = torch.tensor([1.0, -1.0, 2.0, 0.0])
    expected = (d - d.mean() if norm == "LN" else d) * w @ W_U
    assert torch.allclose(direction_logits(model, d), expected)
    assert torch.allclose(direction_logits(model, d, through_final_norm=False), d @ W_U)


def test_top_contexts_one_per_window_around_the_peak() -> None:
    values = torch.tensor(
        [
            [9.0, 0.0, 1.0, -2.0, 0.0, 0.0],
            [0.0, 3.0, 0.0, 0.0, -5.0, 0.0],
            [0.0, 0.0, 0.0, 2.5, 2.0, -1.0],
        ]
    )
    tokens = torch.arange(18).view(3, 6)
    vocab = [f"t{i}" for i in range(18)]
    qualifies = torch.ones_like(tokens, dtype=torch.bool)
    qualifies[:, 0] = False  # the 9.0 sits on a "BOS" and must not count
    pos = top_contexts(
        values, tokens, vocab, "pos", k=5, before=1, after=1, qualifies=qualifies
    )
    assert [(c.window, c.position, c.value) for c in pos] == [
        (1, 1, 3.0),
        (2, 3, 2.5),
        (0, 2, 1.0),
    ]
    assert pos[0].tokens == ["t6", "t7", "t8"] and pos[0].offset == 1
    assert pos[0].values == [0.0, 3.0, 0.0]
    neg = top_contexts(
        values, tokens, vocab, "neg", k=2, before=2, after=0, qualifies=qualifies
    )
    assert [(c.window, c.position, c.value) for c in neg] == [
        (1, 4, -5.0),
        (0, 3, -2.0),
    ]
    assert neg[0].tokens == ["t8", "t9", "t10"] and neg[0].offset == 2


def test_reports_of_a_trained_sae(signed_sae, tinystories_model, val_windows) -> None:
    model = tinystories_model
    acts = collect_activations(model, val_windows, HOOK)
    keep = (val_windows != model.tokenizer.bos_token_id).flatten()
    census = compute_census(signed_sae, acts[keep])
    latents = census.ranking()[:2].tolist()
    reports = latent_reports(
        signed_sae, model, val_windows, latents, HOOK, acts=acts, n_contexts=4
    )
    values = feature_values(signed_sae, acts, latents).view(*val_windows.shape, 2)
    for k, report in enumerate(reports):
        i = report.latent
        assert sum(report.histogram.counts) == census.n_pos[i] + census.n_neg[i]
        assert report.max_abs == pytest.approx(
            max(census.max_pos[i], census.max_neg[i])
        )
        for sign, s in (("pos", 1), ("neg", -1)):
            contexts = report.contexts[sign]
            assert contexts, f"latent {i} has no {sign} contexts"
            peaks = [c.value * s for c in contexts]
            assert all(p > 0 for p in peaks) and peaks == sorted(peaks, reverse=True)
            assert peaks[0] == pytest.approx(
                float(census.max_pos[i] if s > 0 else census.max_neg[i])
            )
            for c in contexts:
                assert c.values[c.offset] == c.value == values[c.window, c.position, k]
                assert len(c.tokens) == len(c.values)
        W = signed_sae.W_dec[i] * model.ln_final.w
        top = torch.topk(W @ model.W_U, 3).indices.tolist()
        assert report.logits["pos"]["promoted"].token_ids[:3] == top
        assert report.logits["neg"]["suppressed"].token_ids[:3] == top
