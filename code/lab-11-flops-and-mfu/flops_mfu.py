"""Lab 11 - FLOPs & MFU: count the FLOPs of a training step, then turn 6ND into GPU-days and MFU.

A numpy MLP with a counting matmul shows where the 6 in 6ND comes from; the same arithmetic then
prices a 7B model on 2T tokens on 1000 H100s and reads an MFU (and HFU) off a measured throughput.
"""
# lab:goal Turn a model size and a token count into FLOPs, days of cluster time and MFU.
#
# lab:mental-model
# - A matmul of (m, k) by (k, n) costs $2mkn$ FLOPs: one multiply and one add per term.
# - Training costs about $6N$ FLOPs per token: $2N$ forward, $4N$ backward (input and weight gradients).
# - MFU = achieved model FLOPs per second / peak; the peak must be the dense peak for the dtype used.
# - HFU also counts FLOPs the hardware did for recompute; MFU does not.
#
# lab:checkpoints
# - Why is backward twice the forward?
#   answer: Each weight matmul needs two matmuls of the same size in backward: one for the gradient of its input, one for the gradient of its weight.
# - How long do 7B parameters on 2T tokens take on 1000 H100s at 40% MFU?
#   answer: $6ND = 8.4 \times 10^{22}$ FLOPs over $1000 \times 989 \times 10^{12} \times 0.4$ FLOP/s is about 2.46 days.
# - A run logs the same tokens per second but has full recompute on: what are its MFU and HFU?
#   answer: MFU is 40% (same tokens per second, same model FLOPs per token); HFU is 53% because the hardware did $8N$ per token, not $6N$.
# - When do attention-score FLOPs equal the dense matmul FLOPs?
#   answer: At $T = 8D$ for the Scaling Book's layer (gated MLP, F = 4D); at $T = 6D$ for a GPT layer of $12D^2$.
#
# lab:traps
# - Dividing by 1979 TFLOPS (the 2:4-sparse bf16 rate, also the dense FP8 rate) instead of 989 (dense bf16) halves the MFU you report.
# - $6ND$ leaves out the attention scores (per token they grow with T) and recompute; it is a floor, not the FLOPs the GPU ran.
#   PaLM's MFU counts the scores ($6N + 12LHQT$ per token, H heads of size Q), so a $6N$-only MFU reads low at long context.
# - MFU is not HFU: HFU counts recomputed FLOPs and MFU does not, so only MFU compares runs with different memory tricks.
#
# lab:interview
# The state being counted is the set of matmuls of a training step: forward multiplies each
# (tokens, in) activation by an (in, out) weight, and backward does two matmuls of the same size,
# one for the input gradient and one for the weight gradient, which is where 6 FLOPs per
# parameter per token come from. A 7B model on 2T tokens is 8.4e22 FLOPs, about 2.46 days on
# 1000 H100s at 40% MFU against the dense bf16 peak of 989 TFLOPS. The axis that changes the
# picture is sequence length: attention scores add 12TD FLOPs per layer and token, a share of
# T/(8D) for the Scaling Book's layer. The trade-off is in the metric: recompute spends FLOPs for
# memory, and HFU counts them while MFU, the number that measures useful work, does not, so
# turning recompute on can only lower MFU (through a slower step) even as HFU rises.

import numpy as np

H100_DENSE_BF16, H100_SPARSE_BF16 = 989e12, 1979e12  # FLOP/s per GPU, SXM datasheet

# lab:begin count
flops = {"n": 0}


def mm(a, b):
    flops["n"] += 2 * a.shape[0] * a.shape[1] * b.shape[1]  # (1)
    return a @ b


def train_step_flops(x, w1, w2):
    """Forward and backward of y = relu(x @ w1) @ w2 with loss 0.5 * |y|^2."""
    flops["n"] = 0
    hidden = mm(x, w1)
    act = np.maximum(hidden, 0.0)
    y = mm(act, w2)
    forward = flops["n"]  # (2)
    dy = y
    dw2, dact = mm(act.T, dy), mm(dy, w2.T)  # (3)
    dhidden = dact * (hidden > 0)
    dw1, dx = mm(x.T, dhidden), mm(dhidden, w1.T)  # (4)
    return forward, flops["n"] - forward
# lab:end count
# lab:notes count
# (1) The FLOP count of a matmul depends only on shapes: two per multiply-add.
# (2) Two weight matmuls: $2 \cdot \text{tokens} \cdot N$ FLOPs, with N the weight count.
# (3) Each weight gives a weight gradient and an input gradient, each as costly as its forward matmul.
# (4) `dx` is needed to continue into earlier layers, so a real network pays for it at every layer.
#
# lab:explain 46-51 FLOPs are a function of shapes
# Every matmul of an (m, k) by a (k, n) array adds $2mkn$. Elementwise work like ReLU is ignored:
# it is a few FLOPs per activation, against $2 \cdot$ fan-in per output for a matmul.
#
# lab:explain 54-65 One training step, counted
# Forward is two matmuls; backward is four. Counting per token and parameter gives 2 forward and 4
# backward, the $6N$ per token used for whole runs.

# lab:begin budget
def train_days(n_params, tokens, gpus, peak, mfu):
    total = 6 * n_params * tokens  # (1)
    return total, total / (gpus * peak * mfu) / 86400  # (2)


def utilization(tokens_per_s, flops_per_token, gpus, peak):
    return tokens_per_s * flops_per_token / (gpus * peak)  # (3)


def attention_share(T, D, layer_params):
    return 12 * T * D / (6 * layer_params)  # (4)
# lab:end budget
# lab:notes budget
# (1) Parameter FLOPs only: no attention scores, no recompute (Kaplan et al., 2020).
# (2) Wall-clock time follows from the sustained rate: GPUs x peak x MFU.
# (3) Pass $6N$ per token for MFU (PaLM adds the attention term), or $8N$ for HFU when full recompute reruns the forward.
# (4) Training FLOPs of $QK^T$ and $AV$: $12TD$ per layer and token, with no savings from the causal mask.
#
# lab:explain 82-88 From FLOPs to days and utilization
# The same three numbers (FLOPs per token, tokens per second, peak) give either the time a run
# needs at an assumed MFU or the MFU a measured throughput implies. Only the numerator changes
# between MFU and HFU.
#
# lab:explain 91-92 The attention term
# Per layer and token, attention scores cost $12TD$ while the weights cost $6 \cdot$ (layer
# parameters); with $16D^2$ parameters per layer the ratio is $T/(8D)$.


def main():
    rng = np.random.default_rng(0)
    tokens, d = 256, 64
    x = rng.standard_normal((tokens, d))
    w1, w2 = rng.standard_normal((d, 4 * d)), rng.standard_normal((4 * d, d))
    fwd, bwd = train_step_flops(x, w1, w2)
    n = w1.size + w2.size
    print(f"MLP with N = {n:,d} weights, {tokens} tokens: forward {fwd:,d} = {fwd / (n * tokens):.0f}"
          f" N/token, backward {bwd:,d} = {bwd / (n * tokens):.0f} N/token")
    assert bwd == 2 * fwd and fwd + bwd == 6 * n * tokens

    total, days = train_days(7e9, 2e12, 1000, H100_DENSE_BF16, 0.40)
    print(f"\n7B params x 2T tokens: 6ND = {total:.2e} FLOPs -> {days:.2f} days on 1000 H100 at 40% MFU")
    assert abs(total - 8.4e22) < 1e9 and abs(days - 2.46) < 0.005

    measured = 0.40 * 1000 * H100_DENSE_BF16 / (6 * 7e9)  # tokens/s such a run would log
    mfu = utilization(measured, 6 * 7e9, 1000, H100_DENSE_BF16)
    wrong = utilization(measured, 6 * 7e9, 1000, H100_SPARSE_BF16)
    hfu = utilization(measured, 8 * 7e9, 1000, H100_DENSE_BF16)
    print(f"measured {measured:.3e} tokens/s: MFU {mfu:.1%} (dense peak), {wrong:.1%} if divided by "
          f"the sparse peak; HFU with full recompute {hfu:.1%}")
    assert abs(mfu - 0.40) < 1e-12 and abs(hfu / mfu - 8 / 6) < 1e-12

    D = 4096
    print(f"\nattention-score FLOPs / weight FLOPs, D = {D} (non-causal count)")
    print("      T   gated MLP F=4D (16D^2)   GPT layer (12D^2)")
    for T in (2048, 8192, 32768, 131072):
        r16, r12 = attention_share(T, D, 16 * D * D), attention_share(T, D, 12 * D * D)
        print(f"{T:7d}   {r16:22.4f}   {r12:17.4f}")
        assert abs(r16 - T / (8 * D)) < 1e-12 and abs(r12 - T / (6 * D)) < 1e-12


if __name__ == "__main__":
    main()
