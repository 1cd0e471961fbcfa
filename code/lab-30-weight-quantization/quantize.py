"""Lab 30 - Weight quantization: the granularity of the scale decides the error.

Quantizes a 1024 x 4096 weight matrix with a few outlier rows (output channels) to int8 with one
scale per tensor or per row, and to int4 with one scale per group of 128 inputs. The outliers are
constructed by hand, and the matrix has 1024 rows rather than 4096 so the lab runs fast.
"""
# lab:goal See why the granularity of the quantization scale, not only the bit width, sets the error of weight quantization.
#
# lab:mental-model
# - Symmetric quantization stores round(w / s) in a few bits and one float scale s per block of weights.
# - The scale is set by the largest magnitude in its block, so one outlier coarsens the step for the whole block.
# - Finer blocks (per row, per group of 128) cost more scales but isolate outliers.
# - Weight-only quantization cuts the bytes read per token; the matmul FLOPs stay the same.
#
# lab:checkpoints
# - One scale for the whole tensor gives about 9% relative error in int8, and worse on ordinary rows.
#   answer: The outlier rows set the step, so ordinary rows use only about 17 of the 255 levels and lose 15%; the outlier rows hold most of the norm, which hides this in the overall 0.090.
# - One scale per output row brings int8 below 1%.
#   answer: Each row gets a step that fits its own range, so the outlier rows no longer matter: 0.0088.
# - int4 with groups of 128 is in the same range as per-tensor int8.
#   answer: 16 levels cost precision (0.118), but grouping keeps the outliers from making it worse: ordinary rows lose 11.7%, less than the 15% of per-tensor int8.
# - Four times fewer weight bits do not make decode four times faster.
#   answer: The scales, the KV cache and the dequantization cost remain; with an 8.6 GB cache the gain is 1.94x, not 3.9x.
#
# lab:traps
# - "int4 means 4x faster": only the weight bytes shrink; the KV cache, activations and dequantization do not, and a compute-bound prefill gains little.
# - Judging a format by its bit width alone: int8 with one scale per tensor is 10x worse than int8 per channel and close to int4 with groups of 128.
# - Taking these errors as facts about real models: the outliers are constructed (8 random rows scaled by 15.5, a gain picked so per-tensor int8 lands near 0.1); real checkpoints have their own outlier pattern, so measure on the actual weights.
# - Counting int4 as exactly 4 bits: an fp16 scale per 128 weights adds 0.125 bits.
#
# lab:interview
# The state is a weight matrix W of shape (out, in) = (1024, 4096), stored as small integers
# plus floating-point scales. The axis of the scale is the design choice: one per tensor lets 8
# constructed outlier rows set the step for all 4.2M weights and gives a 9.0% relative error in
# int8; one per output row isolates them and gives 0.88%; int4 with a scale per 128 inputs of a
# row gives about 12%. Weight-only quantization dequantizes before the matmul, so FLOPs do not change;
# what changes is the bytes read per decode step, which is what bounds decode latency. The
# trade-off is accuracy against bytes: finer groups cost scale storage and kernel complexity,
# and the win shrinks as the KV cache and compute take over the step time.

import numpy as np

OUT, IN, GROUP, N_OUTLIER, OUTLIER_GAIN = 1024, 4096, 128, 8, 15.5  # outliers set by hand
GB, HBM_BW = 1e9, 3.35e12  # H100 SXM bandwidth, for the decode-floor estimate


# lab:begin quantize
def quantize(w, bits, axis):
    qmax = 2 ** (bits - 1) - 1  # (1)
    scale = np.abs(w).max(axis=axis, keepdims=True) / qmax  # (2)
    q = np.clip(np.round(w / scale), -qmax - 1, qmax)  # (3)
    return q * scale  # (4)


def relative_error(w, w_hat):
    return np.linalg.norm(w - w_hat) / np.linalg.norm(w)


def schemes(w):
    per_tensor = quantize(w, 8, axis=None)
    per_channel = quantize(w, 8, axis=1)  # (5)
    groups = w.reshape(OUT, IN // GROUP, GROUP)
    int4_g128 = quantize(groups, 4, axis=2).reshape(OUT, IN)  # (6)
    return {"int8 per-tensor": per_tensor, "int8 per-channel": per_channel,
            "int4 group-128": int4_g128}
# lab:end quantize
# lab:notes quantize
# (1) 127 for int8 and 7 for int4: symmetric, so zero is exact and no zero point is stored.
# (2) One scale per slice along `axis`: the largest magnitude there maps to the top level.
# (3) Round to the nearest level; the clip only guards the range, since |w / scale| <= qmax.
# (4) Dequantize: what a weight-only kernel does in registers just before the bf16 matmul.
# (5) `axis=1` reduces over the inputs, so each output row (channel) gets its own scale.
# (6) Rows are cut into 32 groups of 128 inputs; each (row, group) pair gets a scale.
#
# lab:explain 48-52 Quantize and dequantize in one function
# The `axis` argument is the whole lesson: None gives one scale, 1 one per row, and 2 on the
# reshaped (1024, 32, 128) array one per group. The error per weight is at most half a step.
#
# lab:explain 59-65 Three granularities of the same matrix
# The same function is applied three times; only the shape of `scale` differs: (1, 1),
# (1024, 1) and (1024, 32, 1). Finer scales follow the local range of the weights. The matrix
# is 1024 x 4096 to keep the lab fast; rows keep 4096 inputs, so per-row and per-group errors
# match, within sampling noise, a 4096 x 4096 matrix with 32 outlier rows. Only the per-tensor
# error hangs on the one largest weight: it moves between about 0.08 and 0.1 with the seed and
# the matrix size.


def main():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((OUT, IN), dtype=np.float32) * 0.02
    outliers = rng.choice(OUT, N_OUTLIER, replace=False)
    w[outliers] *= OUTLIER_GAIN  # constructed: a few output channels with much larger weights
    ordinary = np.setdiff1d(np.arange(OUT), outliers)
    print(f"W {w.shape}, {N_OUTLIER} outlier rows x{OUTLIER_GAIN:g}; max |w| {np.abs(w).max():.3f}")
    errors = {}
    for name, w_hat in schemes(w).items():
        errors[name] = relative_error(w, w_hat)
        print(f"  {name:17s} relative error {errors[name]:.4f}, "
              f"on ordinary rows {relative_error(w[ordinary], w_hat[ordinary]):.4f}")
    assert errors["int8 per-channel"] < errors["int4 group-128"] < 1.5 * errors["int8 per-tensor"]
    assert errors["int8 per-channel"] < errors["int8 per-tensor"] / 10

    params, kv = 8.03e9, 16 * 4096 * 131072  # Llama-3.1-8B; batch 16 x 4096 tokens of KV cache
    bits = {"bf16": 16, "int8 per-channel": 8 + 16 / IN, "int4 group-128": 4 + 16 / GROUP}
    print(f"decode step floor on one H100, Llama-3.1-8B, batch 16, KV cache {kv / GB:.1f} GB:")
    for name, b in bits.items():
        weights = params * b / 8
        print(f"  {name:17s} {b:6.3f} bits/weight  weights {weights / GB:5.2f} GB  "
              f"step {(weights + kv) / HBM_BW * 1e3:5.2f} ms  "
              f"speedup {(2 * params + kv) / (weights + kv):.2f}x")
    assert (2 * params + kv) / (params * bits["int4 group-128"] / 8 + kv) < 2.0


if __name__ == "__main__":
    main()
