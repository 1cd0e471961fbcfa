"""Lab 30 - Weight quantization: the granularity of the scale decides the error.

Quantizes a 1024 x 4096 weight matrix with a few outlier rows (output channels) to int8 with one
scale per tensor or per row, and to int4 with one scale per group of 128 inputs. The outliers are
constructed by hand, and the matrix has 1024 rows rather than 4096 so the lab runs fast.
"""
# lab:goal See why the granularity of the quantization scale, not only the bit width, sets the error of weight quantization.
#
# lab:mental-model
# - Symmetric quantization stores `round(w / s)` as a small integer and keeps one float scale `s` per block of weights; the step between levels is `s`.
# - The scale is set by the largest magnitude in its block, so one outlier coarsens the step for the whole block.
# - Finer blocks (per output row, per group of 128 inputs) cost more scales but isolate outliers.
# - Rounding to the nearest level leaves an error spread evenly over plus or minus half a step: its variance is step squared / 12.
# - The error is reported relative: the norm of `w - w_hat` over the norm of `w`, where `w_hat` is the dequantized weight, the integer times its scale.
# - Weight-only quantization cuts the bytes read per token; the matmul FLOPs stay the same.
#
# lab:checkpoints
# - With one int8 scale for the whole tensor, how many of the 255 levels do the ordinary rows use, and why so few?
#   answer: 20. The step is 1.355 / 127 = 0.0107, set by an outlier row; ordinary weights lie within about 10 steps of 0, so they round to the integers -9 to 10 and lose 15.4%. The outlier rows hold most of the norm, which hides this in the overall 0.090.
#   see: output "use 20 of 255 levels"
#   predict: number 3, within 10%
# - What shape does `scale` have in each of the three schemes, and which one keeps the outliers from touching ordinary rows?
#   answer: (1, 1), (1024, 1) and (1024, 32, 1). Per-row and per-group scales both isolate the outlier rows; per-row int8 then reaches 0.0088 on every row.
#   see: lines 108-114
# - Can you predict each error without quantizing? What does `rounding_noise` assume, and how close does it come?
#   answer: That each weight's error is uniform over one step, with variance step squared / 12, summed block by block. It predicts 0.0904, 0.0088 and 0.1180 against the measured 0.0904, 0.0088 and 0.1177.
#   see: lines 103-105
# - int4 has only 15 usable levels against int8's 255. Why does int4 with groups of 128 still beat per-tensor int8 on the ordinary rows?
#   answer: Each group of 128 gets its own step from its own largest weight, about three standard deviations, so ordinary rows lose 11.7% against 15.4% under the outlier-set int8 step.
#   see: output "int4 group-128    error 0.1177"
# - The int4 weights are 3.9x smaller than bf16. How much faster is the decode step here, and what does the estimate leave out?
#   answer: 1.89x: the 8.6 GB KV cache is still read at full size. The estimate counts bytes only; the work of dequantizing is not modelled, so a real kernel gains at most this.
#   see: output "int4 group-128     4.125"
# lab:traps
# - int4 means 4x faster.
#   why: Only the weight bytes shrink (15.0 to 3.9 GB here); the 8.6 GB KV cache and the activations do not, so the step floor improves 1.89x, and a compute-bound prefill gains little.
# - The bit width alone sets the error.
#   why: int8 with one scale per tensor (0.090) is 10x worse than int8 per channel (0.0088) and close to int4 with groups of 128 (0.118).
# - A weight-only int4 kernel first expands the weights to a bf16 copy, then runs the bf16 matmul.
#   why: That pass would write and reread a bf16 copy, twice the bytes saved. Real kernels (AWQ's, Marlin) load the packed int4 tiles and dequantize them in registers inside the GEMM, so only 4.125 bits per weight cross HBM.
# - int4 costs exactly 4 bits per weight.
#   why: An fp16 scale per group of 128 adds 16 / 128 = 0.125 bits, so the weights cost 4.125 bits each.
#
# lab:interview
# Weight-only quantization stores $q = \mathrm{round}(w/s)$ in a few bits with one float scale $s$
# per block, set by the block's largest magnitude. The block, per tensor, per row or per group of
# 128, decides how far one outlier spreads.
#
# With 8 constructed outlier rows in a 1024 x 4096 matrix, per-tensor int8 loses 9.0%, per-row
# int8 0.88% and int4 with groups of 128 about 12%.
#
# Kernels dequantize on chip, inside the matmul, so FLOPs do not change; only the bytes read per
# decode step shrink. With an 8.6 GB KV cache, int4 weights make the step about 1.9x faster, not 4x.
#
# lab:intuition
# - A scale is a ruler with 255 marks (int8) or 15 (int4) stretched to the largest weight of its block: one giant in the block spaces the marks so widely that ordinary weights share 20 of them.
# - The root-mean-square rounding error is $1/\sqrt{12}$ of a step, so halving the step halves the error.
# - For decode speed, count bytes: int4 turns 15.0 GB of weights into 3.9 GB, but the 8.6 GB of cache stays, so each step reads 3.9 + 8.6 GB instead of 15.0 + 8.6 GB.

# lab:figure row-error
# kind: point
# title: One scale per tensor hurts the ordinary rows, not the outlier rows that set it
# caption: Relative error of each row (every 16th row and the 8 outlier rows) against its largest weight. With
#   one int8 scale per tensor the ordinary rows lose up to 16% and the outlier rows about 1%; per-channel
#   int8 keeps every row near 0.9%, int4 with groups of 128 near 12%.
# x: row_max "largest |w| in the row" .3g
# y: error "relative error of the row" .2%
# color: scheme "scale"
# x-scale: log
# y-scale: log
#
# lab:figure step-bytes
# kind: bar
# title: int4 shrinks only the weights, so the larger the KV cache, the smaller the gain
# caption: Bytes one Llama-3.1-8B decode step reads with 4096 tokens of context per sequence. At batch 16
#   int4 cuts the weights from 15.0 to 3.9 GB but not the 8.6 GB of cache: 1.89x faster, not 4x. With one
#   sequence the gain nears 4x; at batch 64 the cache is most of the bytes.
# x: format "weight format"
# y: gb "GB read per decode step" .2f
# color: part "bytes"
# control: batch "batch (sequences of 4096 tokens)" d
# default: 16
# says: At batch {{batch}} a step reads {{sum:gb|format=bf16}} GB in bf16 and {{sum:gb|format=int4 group-128}} GB in int4.
import numpy as np

OUT, IN, GROUP, N_OUTLIER, OUTLIER_GAIN = 1024, 4096, 128, 8, 15.5  # outliers set by hand
GB, HBM_BW = 1e9, 3.35e12  # H100 SXM bandwidth, for the decode-floor estimate
PARAMS_READ = 7_504_924_672  # Llama-3.1-8B weights a decode step reads: all but the input embedding (Lab 26)


# lab:begin quantize
def quantize(w, bits, axis):
    qmax = 2 ** (bits - 1) - 1  # (1)
    scale = np.abs(w).max(axis=axis, keepdims=True) / qmax  # (2)
    q = np.clip(np.round(w / scale), -qmax - 1, qmax)  # (3)
    return q * scale  # (4)


def relative_error(w, w_hat):
    return np.linalg.norm(w - w_hat) / np.linalg.norm(w)


def rounding_noise(w, bits, block):
    step = np.abs(w.reshape(-1, block)).max(axis=1).astype(float) / (2 ** (bits - 1) - 1)  # (5)
    return np.sqrt((step**2 / 12).sum() * block) / np.linalg.norm(w)  # (6)


def schemes(w):
    per_tensor = quantize(w, 8, axis=None)
    per_channel = quantize(w, 8, axis=1)  # (7)
    groups = w.reshape(OUT, IN // GROUP, GROUP)
    int4_g128 = quantize(groups, 4, axis=2).reshape(OUT, IN)  # (8)
    return {"int8 per-tensor": (per_tensor, 8, w.size), "int8 per-channel": (per_channel, 8, IN),
            "int4 group-128": (int4_g128, 4, GROUP)}
# lab:end quantize
# lab:notes quantize
# (1) 127 for int8 and 7 for int4: symmetric around zero, so zero is exact and no offset (zero point) is stored.
# (2) One scale per slice along `axis`: the largest magnitude there maps to the top level.
# (3) Round to the nearest level; the clip only guards the range, since |w / scale| <= qmax.
# (4) Dequantize: what a weight-only kernel does in registers just before the bf16 matmul.
# (5) The step of every block, computed from the block's largest weight, independently of `quantize`.
# (6) A uniform error over one step has variance step squared / 12; each block has `block` weights.
# (7) `axis=1` reduces over the inputs, so each output row (channel) gets its own scale.
# (8) Rows are cut into 32 groups of 128 inputs; each (row, group) pair gets a scale.
#
# lab:explain 92-100 Quantize and dequantize in one function
# The `axis` argument is the whole lesson: None gives one scale, 1 one per row, and 2 on the
# reshaped (1024, 32, 128) array one per group. The error per weight is at most half a step.
#
# lab:explain 103-105 A prediction from the step alone
# If rounding errors are spread evenly over a step, the total error follows from the steps
# without quantizing anything. The blocks are consecutive runs of `block` weights in row order:
# the whole tensor, one row, or one group of 128 inputs.
#
# lab:explain 108-114 Three granularities of the same matrix
# The same function is applied three times; only the shape of `scale` differs: (1, 1),
# (1024, 1) and (1024, 32, 1). Each entry also carries the bits and block size for the noise model. The matrix is 1024 x 4096 to keep the lab fast; rows keep 4096
# inputs, so per-row and per-group errors match a 4096 x 4096 matrix with 32 outlier rows within
# sampling noise. Only the per-tensor error hangs on the one largest weight: it moves between
# about 0.08 and 0.1 with the seed and the matrix size.


def make_weights():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((OUT, IN), dtype=np.float32) * 0.02
    outliers = rng.choice(OUT, N_OUTLIER, replace=False)
    w[outliers] *= OUTLIER_GAIN  # constructed: a few output channels with much larger weights
    return w, outliers


def kv_bytes(batch, context=4096):
    return batch * context * 131072  # 128 KiB of KV cache per token of Llama-3.1-8B (Lab 26)


BITS = {"bf16": 16, "int8 per-channel": 8 + 16 / IN, "int4 group-128": 4 + 16 / GROUP}  # + fp16 scales


def figures():
    """The data of the figures declared above, computed with the lab's own functions."""
    w, outliers = make_weights()
    # row-error: each row's error against its largest weight, for every 16th row and the outliers
    rows = sorted(set(range(0, OUT, 16)) | set(outliers.tolist()))
    errors = [(name, float(np.abs(w[i]).max()), float(relative_error(w[i], w_hat[i])))
              for name, (w_hat, _, _) in schemes(w).items() for i in rows]
    # step-bytes: bytes one decode step reads, weights plus KV cache, per format and batch
    step = [(batch, name, part, size / GB) for batch in (1, 4, 16, 64) for name, b in BITS.items()
            for part, size in (("KV cache", kv_bytes(batch)), ("weights", PARAMS_READ * b / 8))]
    return {"row-error": dict(zip(("scheme", "row_max", "error"), map(list, zip(*errors)))),
            "step-bytes": dict(zip(("batch", "format", "part", "gb"), map(list, zip(*step))))}


def main():
    w, outliers = make_weights()
    ordinary = np.setdiff1d(np.arange(OUT), outliers)
    print(f"W {w.shape}, {N_OUTLIER} outlier rows x{OUTLIER_GAIN:g}; max |w| {np.abs(w).max():.3f}")
    errors = {}
    for name, (w_hat, bits, block) in schemes(w).items():
        errors[name], predicted = relative_error(w, w_hat), rounding_noise(w, bits, block)
        print(f"  {name:17s} error {errors[name]:.4f} (noise model {predicted:.4f}), "
              f"ordinary rows {relative_error(w[ordinary], w_hat[ordinary]):.4f}")
        assert abs(errors[name] / predicted - 1) < 0.02
    step = np.abs(w).max() / 127
    levels = np.unique(np.round(w[ordinary] / step)).size
    print(f"per-tensor int8 step {step:.4f}: ordinary rows, max |w| {np.abs(w[ordinary]).max():.3f}, "
          f"use {levels} of 255 levels")
    assert errors["int8 per-channel"] < errors["int8 per-tensor"] / 10

    kv = kv_bytes(16)  # batch 16 x 4096 tokens x 128 KiB of KV cache per token
    print(f"decode step floor of Llama-3.1-8B on one H100, batch 16, KV cache {kv / GB:.1f} GB")
    print("(bytes / bandwidth only: the work of dequantizing is not modelled)")
    for name, b in BITS.items():
        weights = PARAMS_READ * b / 8
        print(f"  {name:17s} {b:6.3f} bits/weight  weights {weights / GB:5.2f} GB  "
              f"step {(weights + kv) / HBM_BW * 1e3:5.2f} ms  "
              f"speedup {(2 * PARAMS_READ + kv) / (weights + kv):.2f}x")


if __name__ == "__main__":
    main()
