"""Lab 11 - FLOPs & MFU: where the 6 in 6 N D_tok comes from (N parameters, D_tok training tokens),
and how the same arithmetic prices a 7B run, reproduces a published GPT-3 MFU and counts attention.
"""
# lab:goal Turn a model size and a token count into FLOPs, days of cluster time and MFU, and check each formula against a count or a published number.
#
# lab:mental-model
# - A matmul of (m, k) by (k, n) costs $2mkn$ FLOPs: one multiply and one add per term.
# - Training costs about $6N$ FLOPs per token ($2N$ forward, $4N$ backward), so $6ND_{tok}$ for a run of $D_{tok}$ tokens.
# - MFU = tokens/s $\times$ model FLOPs per token / (GPUs $\times$ dense peak). HFU puts the FLOPs the hardware actually ran, recompute included, in the numerator.
# - Attention scores add $12TD$ FLOPs per layer and token (T tokens of context, D hidden width), on top of $6\times$ the layer's weights.
#
# lab:checkpoints
# - How many FLOPs per weight and token does the MLP's backward cost, and which matmuls produce them?
#   answer: 4: per weight matrix, one matmul for its weight gradient (`dw2`, `dw1`) and one for its input gradient (`dact`, `dx`), each as costly as the forward matmul.
#   see: lines 95-97
# - How many days do 7B parameters on 2T tokens take on 1000 H100s at 40% MFU, and what would dividing by 1979 TFLOP/s claim?
#   answer: $8.4 \times 10^{22}$ FLOPs at $1000 \times 989 \times 10^{12} \times 0.4$ FLOP/s is 2.46 days; the sparse peak claims 1.23, faster than the hardware can run.
#   see: output "2.46 days on 1000 H100"
#   predict: number 5, within 10%
# - With full recompute (and no sequence parallelism) the GPT-3 step takes 18.13 s instead of the 13.75 s of sequence parallelism with selective recompute: what MFU and HFU do you predict?
#   answer: MFU scales with 1/time: 51.4% x 13.75/18.13 = 39.0%. HFU is about 4/3 of that (one extra forward), 51.9%: the GPUs stay busy, but a quarter of their work is repeated, so only MFU shows the slowdown.
#   see: output "HFU 51.9%"
# - At what context length do attention scores cost as much as the weights of a D = 4096 layer?
#   answer: $T = 8D = 32768$, where $T/(8D)$ is 1.0000; the counted toy layer (D = 32) reaches 1 at T = 256.
#   see: output "  32768"
# lab:traps
# - MFU divides by the largest peak on the datasheet, 1979 TFLOP/s for an H100.
#   why: That is the 2:4-sparse bf16 rate (and the dense FP8 rate); a dense bf16 run must be divided by 989. The
#   A100's sparse 624 turns the GPT-3 run's 51.4% into 25.7% in the output.
# - $6ND_{tok}$ is the number of FLOPs the GPUs execute.
#   why: It counts only weights. Attention scores add $12TD$ per layer and token (lines 149-151), which PaLM's MFU
#   includes, and recompute adds a forward, which only HFU includes.
# - Turning recompute on lowers MFU.
#   why: Only at a fixed micro-batch (sequences per GPU per forward pass) and parallel layout: 51.4% vs 39.0% in the
#   output. The memory it frees buys a larger micro-batch, or fewer GPUs splitting each layer (tensor parallelism) or
#   the layer stack (pipeline parallelism), which can raise MFU: PaLM and Megatron-LM got more throughput that way.
#
# lab:interview
# FLOPs follow from matmul shapes: forward uses each weight once per token ($2N$), backward forms an input and a
# weight gradient ($4N$), so a run costs $6ND_{tok}$. A 7B model on 2T tokens is $8.4 \times 10^{22}$ FLOPs,
# 2.46 days on 1000 H100s at 40% MFU against the dense bf16 peak.
#
# MFU divides the model FLOPs delivered per second by that peak; HFU also counts recomputed FLOPs. At a fixed
# configuration recompute lowers MFU (GPT-3: 51.4% vs 39.0%), but the memory it frees can allow a larger
# micro-batch or less model parallelism, which can raise it.
#
# Attention scores add $12TD$ per layer and token, a ratio of $T/(8D)$ to a layer's weight FLOPs.
#
# lab:intuition
# - Each weight costs 6 FLOPs per token in training: 2 to use it, 2 to pass the gradient back through it, 2 to form its own gradient.
# - MFU is the share of the cluster's dense peak spent on the model's own math; waiting, communication and recomputed work all count as lost.

# lab:figure attention-ratio
# kind: line
# title: Attention scores cost as much as the weights at T = 8D, so the wider the model, the later
# caption: Training FLOPs of the scores over those of a layer's weights (gated MLP, 16D² parameters): T/(8D).
#   It doubles with the context and halves with the width, crossing 1 at T = 8,192 for D = 1024 and at
#   T = 32,768 for D = 4096.
# x: T "context length T (tokens)" ,d
# y: ratio "score FLOPs / weight FLOPs" .4g
# color: width "hidden width"
# x-scale: log
# y-scale: log
# lab:figure days
# kind: line
# title: Days to train fall as 1/MFU, and the sparse peak promises half of them
# caption: 7B parameters on 2T tokens (8.4e22 FLOPs) on 1000 H100s. At 40% MFU the dense 989 TFLOP/s gives
#   2.46 days; dividing by the 2:4-sparse 1979 TFLOP/s claims 1.23, faster than dense bf16 can run.
# x: mfu "MFU" .0%
# y: days "days on 1000 H100s" .2f
# color: peak "peak divided by"

import numpy as np

H100_DENSE_BF16, H100_SPARSE_BF16 = 989e12, 1979e12  # FLOP/s per GPU, dense and 2:4 sparse
A100_DENSE_BF16, A100_SPARSE_BF16 = 312e12, 624e12

# lab:begin count
flops = {"n": 0}


def mm(a, b):
    flops["n"] += 2 * a.shape[0] * a.shape[1] * b.shape[1]  # (1)
    return a @ b


def train_step_flops(x, w1, w2, recompute=False):
    """Forward and backward of y = relu(x @ w1) @ w2 with loss 0.5 * |y|^2."""
    flops["n"] = 0
    for _ in range(2 if recompute else 1):  # (2)
        hidden = mm(x, w1)
        act = np.maximum(hidden, 0.0)
        y = mm(act, w2)
    forward = flops["n"]
    dw2, dact = mm(act.T, y), mm(y, w2.T)  # (3)
    dhidden = dact * (hidden > 0)
    dw1, dx = mm(x.T, dhidden), mm(dhidden, w1.T)  # (4)
    return forward, flops["n"] - forward
# lab:end count
# lab:notes count
# (1) The FLOP count of a matmul depends only on shapes: two per multiply-add.
# (2) Two weight matmuls, $2 \cdot \text{tokens} \cdot N$ FLOPs (N weights); a second pass is the forward that full recompute reruns just before backward.
# (3) Each weight gives a weight gradient and an input gradient, each as costly as its forward matmul.
# (4) `dx` is needed to continue into earlier layers, so a deep network pays for it in every layer but the first.
#
# lab:explain 79-98 One training step, counted from shapes
# Every matmul of an (m, k) by a (k, n) array adds $2mkn$; elementwise work like ReLU is a few FLOPs per
# activation and is ignored. Forward is two matmuls and backward four: per token and weight, 2 + 4 = 6,
# the $6N$ used for whole runs. Rerunning the forward adds 2 more, the $8N$ of full recompute.

# lab:begin budget
def train_days(n_params, tokens, gpus, peak, mfu):
    total = 6 * n_params * tokens  # (1)
    return total, total / (gpus * peak * mfu) / 86400  # (2)


def utilization(tokens_per_s, flops_per_token, gpus, peak):
    return tokens_per_s * flops_per_token / (gpus * peak)  # (3)


def gpt_flops_per_token(L, h, s, v):
    n = 12 * L * h * h + v * h  # (4)
    model = 6 * n + 12 * L * s * h  # (5)
    return model, model + 2 * 12 * L * h * h + 4 * L * s * h  # (6)
# lab:end budget
# lab:notes budget
# (1) Parameter FLOPs only: no attention scores, no recompute (Kaplan et al., 2020).
# (2) Wall-clock time follows from the sustained rate: GPUs x peak x MFU.
# (3) The same formula gives MFU (model FLOPs per token) or HFU (hardware FLOPs per token).
# (4) Matmul weights: $12h^2$ per layer plus the $v \times h$ output layer (biases and norms are too small to matter).
# (5) Model FLOPs as PaLM and Korthikanti et al. count them: $6N$ plus the attention scores, $12sh$ per layer and token, derived in the attention excerpt below (where it is written $12TD$, as in the Scaling Book).
# (6) Hardware FLOPs with full recompute: every layer's forward once more ($2 \cdot 12Lh^2 + 4Lsh$); the output layer is not rerun.
#
# lab:explain 112-124 From FLOPs to days and utilization
# FLOPs per token, tokens per second and the peak give either the days a run needs at an assumed MFU or
# the MFU a measured throughput implies. Only the numerator changes between MFU and HFU.

# lab:begin attention
def attention_ratio(T, D, layer_params):
    return 12 * T * D / (6 * layer_params)  # (1)


def counted_layer(T, D, heads, rng):
    """Forward of one layer (attention, then a gated MLP with F = 4D) on T tokens."""
    x, dh = rng.standard_normal((T, D)), D // heads
    flops["n"] = 0
    q, k, v = (mm(x, rng.standard_normal((D, D))) for _ in range(3))  # (2)
    before = flops["n"]
    o = np.hstack([mm(mm(q[:, i:i + dh], k[:, i:i + dh].T), v[:, i:i + dh])  # (3)
                   for i in range(0, D, dh)])
    scores = flops["n"] - before
    o = mm(o, rng.standard_normal((D, D)))
    gate, up = mm(o, rng.standard_normal((D, 4 * D))), mm(o, rng.standard_normal((D, 4 * D)))
    mm(np.maximum(gate, 0.0) * up, rng.standard_normal((4 * D, D)))  # (4)
    return flops["n"] - scores, scores
# lab:end attention
# lab:notes attention
# (1) Training FLOPs of $QK^T$ and $AV$, $12TD$ per layer and token, over $6 \times$ the layer's weights.
# (2) Q, K and V projections: weight matmuls, $2 \cdot 3TD^2$ FLOPs.
# (3) Per head, (T, dh) by (dh, T) scores, then (T, T) by (T, dh): $4T^2 d_h$, so $4T^2D$ over all heads.
# (4) Gated MLP: three $D \times 4D$ matrices, $24TD^2$; with the projections, $2T \cdot 16D^2$ in all.
#
# lab:explain 139-155 The attention term, derived and counted
# Each query is compared with all T keys and then mixes T value vectors, $2TD + 2TD$ forward FLOPs
# per token and layer; backward costs twice that, $12TD$ in all. The weights cost $6 \times 16D^2$, so the
# ratio is $12TD / 96D^2 = T/(8D)$. The counted layer checks it: softmax and the gate are elementwise
# and add no matmul FLOPs, and backward triples both sides, so the forward ratio is the training ratio.


def figures():
    """The data of the figures declared above, from the lab's own formulas."""
    ratio = [(T, attention_ratio(T, D, 16 * D * D), f"D = {D}")  # attention-ratio: the gated-MLP layer
             for D in (1024, 4096, 16384) for T in (2**k for k in range(10, 18))]
    days = [(m / 100, train_days(7e9, 2e12, 1000, peak, m / 100)[1], name)  # days: main()'s 7B budget
            for peak, name in ((H100_DENSE_BF16, "dense bf16, 989 TFLOP/s"),
                               (H100_SPARSE_BF16, "2:4 sparse, 1979 TFLOP/s (wrong)")) for m in range(20, 65, 5)]
    return {"attention-ratio": dict(zip(("T", "ratio", "width"), map(list, zip(*ratio)))),
            "days": dict(zip(("mfu", "days", "peak"), map(list, zip(*days))))}


def main():
    rng = np.random.default_rng(0)
    tokens, d = 256, 64
    x = rng.standard_normal((tokens, d))
    w1, w2 = rng.standard_normal((d, 4 * d)), rng.standard_normal((4 * d, d))
    n = w1.size + w2.size
    fwd, bwd = train_step_flops(x, w1, w2)
    fwd_rc, bwd_rc = train_step_flops(x, w1, w2, recompute=True)
    print(f"MLP with N = {n:,d} weights, {tokens} tokens: forward {fwd / (n * tokens):.0f} N/token, backward "
          f"{bwd / (n * tokens):.0f} N/token; with recompute {(fwd_rc + bwd_rc) / (n * tokens):.0f} N/token")
    assert fwd + bwd == 6 * n * tokens and fwd_rc + bwd_rc == 8 * n * tokens

    total, days = train_days(7e9, 2e12, 1000, H100_DENSE_BF16, 0.40)
    claimed = train_days(7e9, 2e12, 1000, H100_SPARSE_BF16, 0.40)[1]
    print(f"\n7B params x 2T tokens: 6 N D_tok = {total:.2e} FLOPs -> {days:.2f} days on 1000 H100 at 40% MFU "
          f"({claimed:.2f} if divided by the sparse peak)")
    assert abs(total - 8.4e22) < 1e9 and abs(days - 2.46) < 0.005

    L, h, s, v, gpus, step_tokens = 96, 12288, 2048, 51200, 64, 64 * 2048  # Korthikanti et al., Table 3
    model, hardware = gpt_flops_per_token(L, h, s, v)
    mfu = utilization(step_tokens / 13.75, model, gpus, A100_DENSE_BF16)
    mfu_full = utilization(step_tokens / 18.13, model, gpus, A100_DENSE_BF16)
    hfu_full = utilization(step_tokens / 18.13, hardware, gpus, A100_DENSE_BF16)
    print(f"\nGPT-3 175B on {gpus} A100s, {step_tokens:,d} tokens per step: model FLOPs {model:.3e}/token")
    print(f"  sequence parallel + selective recompute, 13.75 s: MFU {mfu:.1%} (paper: 51.4%); "
          f"{utilization(step_tokens / 13.75, model, gpus, A100_SPARSE_BF16):.1%} against the sparse peak")
    print(f"  full recompute,      18.13 s: MFU {mfu_full:.1%}, HFU {hfu_full:.1%}")
    assert round(100 * mfu, 1) == 51.4 and abs(hfu_full / mfu_full - (fwd_rc + bwd_rc) / (fwd + bwd)) < 0.01

    print("\nattention-score FLOPs / weight FLOPs, counted on one layer (D = 32, 2 heads):")
    for T in (64, 256):
        weights, scores = counted_layer(T, 32, 2, rng)
        print(f"  T = {T:3d}: {scores:,d} / {weights:,d} = {scores / weights:.4f}")
        assert abs(scores / weights - attention_ratio(T, 32, 16 * 32 * 32)) < 1e-12
    print("the same ratio for D = 4096 (non-causal count)\n      T   gated MLP (16D^2)   GPT layer (12D^2)")
    for T, D in ((2048, 4096), (8192, 4096), (32768, 4096), (131072, 4096)):
        print(f"{T:7d}   {attention_ratio(T, D, 16 * D * D):17.4f}   {attention_ratio(T, D, 12 * D * D):17.4f}")


if __name__ == "__main__":
    main()
