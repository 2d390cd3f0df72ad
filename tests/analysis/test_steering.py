import torch

from sae_lens_signaware.activations import collect_activations
from sae_lens_signaware.analysis.census import compute_census
from sae_lens_signaware.analysis.latent_report import direction_logits
from sae_lens_signaware.analysis.steering import steer_latent
from tests.signed_dictionary import HOOK


def test_plus_and_minus_move_the_next_token_in_opposite_directions(
    signed_sae, tinystories_model, val_windows
) -> None:
    model, tokens = tinystories_model, val_windows[:8]
    acts = collect_activations(model, val_windows, HOOK)
    census = compute_census(signed_sae, acts)
    for latent in census.ranking()[:2].tolist():
        a = float(max(census.max_pos[latent], census.max_neg[latent]))
        report = steer_latent(model, signed_sae, tokens, latent, a, HOOK, k=5)
        plus, minus = report["plus"], report["minus"]
        assert report["two_way"], report
        assert plus["kl"] > 1e-3 and minus["kl"] > 1e-3
        assert plus["delta_logprob_promoted"] > 0 > minus["delta_logprob_promoted"]
        assert plus["delta_logprob_suppressed"] < 0 < minus["delta_logprob_suppressed"]
        # the direct logit effect predicts what +a raises most and -a lowers most
        top = torch.topk(direction_logits(model, signed_sae.W_dec[latent]), 20).indices
        vocab_top = {model.tokenizer.decode([t]) for t in top.tolist()}
        assert plus["most_raised"][0][0] in vocab_top
        assert minus["most_lowered"][0][0] in vocab_top
        assert report["n_positions"] == int(
            (tokens != model.tokenizer.bos_token_id).sum()
        )


def test_setting_a_silent_latent_to_zero_is_the_identity(
    signed_sae, tinystories_model, val_windows
) -> None:
    """The splice keeps the SAE's error term: setting a latent to the value it
    already has (0 where it does not fire) leaves the model's output unchanged."""
    model, tokens = tinystories_model, val_windows[:1, :16]
    f = signed_sae.encode(collect_activations(model, tokens, HOOK))
    silent = torch.nonzero((f != 0).sum(0) == 0).flatten()
    assert silent.numel() > 0
    report = steer_latent(model, signed_sae, tokens, int(silent[0]), 0.0, HOOK)
    assert report["plus"]["kl"] < 1e-9
    assert abs(report["plus"]["delta_logprob_promoted"]) < 1e-5
    assert not report["two_way"]
