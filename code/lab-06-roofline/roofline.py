"""Lab 06 - Roofline: a kernel is limited by its FLOPs or by its bytes, whichever takes longer.

Classifies a bf16 matmul [B, 8192] x [8192, 8192] on an H100 SXM for B = 64 ... 1024, finds the
batch where it turns compute-bound, and compares it with an elementwise add.
"""
# lab:goal Classify a kernel as memory-bound or compute-bound from its arithmetic intensity.
#
# lab:mental-model
# - A kernel needs at least FLOPs / peak seconds of math and bytes / bandwidth seconds of HBM traffic.
# - Arithmetic intensity (AI) is FLOPs per byte moved; the ridge is peak / bandwidth.
# - Below the ridge, attainable throughput is AI x bandwidth; above it, the peak.
# - A matmul's AI grows with the batch dimension because the weight bytes are shared by every row.
#
# lab:checkpoints
# - The H100 ridge in dense bf16 is about 295 FLOP/B.
#   answer: 989e12 / 3.35e12 = 295.2. Using the 1979 TFLOPS sparsity figure would roughly double it, to about 590.
# - At B = 64 the matmul is memory-bound and reaches only about 211 TFLOPS.
#   answer: Its AI is 63 FLOP/B: reading the 128 MiB weight dominates, and 63 x 3.35 TB/s = 211 TFLOPS.
# - The matmul turns compute-bound at B = 319, not at B = 296.
#   answer: $AI = BD/(D + 2B)$ is below $B$, because the activation bytes also grow with B; solving AI = 295.2 gives B = 318.2.
# - An elementwise add never becomes compute-bound.
#   answer: 1 FLOP per 6 bytes (two 2-byte reads, one 2-byte write) at any size: AI = 1/6.
#
# lab:traps
# - "Compute-bound once B exceeds the ridge": that drops the B-dependent input and output bytes; the exact crossover is B = 318.2, so the first compute-bound batch is 319.
# - Quoting 1979 TFLOPS for bf16: that is the 2:4 sparsity figure, and it puts the ridge at about 590 instead of 295.
# - Reading the roofline as a prediction: it is an upper bound; real kernels also pay for launches, tiles and caches.
#
# lab:interview
# The roofline compares two clocks for one kernel: FLOPs over peak throughput and bytes over HBM
# bandwidth, and the kernel can run no faster than the slower one. For a bf16 matmul of activations
# [B, D] with a weight [D, D] the FLOPs are $2BD^2$ and the bytes are $2(D^2 + 2BD)$, so the arithmetic
# intensity $BD/(D + 2B)$ grows with the batch axis B while the weight bytes stay fixed. On an H100
# (989 TFLOPS dense bf16, 3.35 TB/s) the ridge is 295 FLOP/B, and with D = 8192 the matmul becomes
# compute-bound only past B = 318.2, not at B = 295. Elementwise kernels sit at AI = 1/6 whatever their size, so they are
# always bandwidth-bound. The trade-off: batching raises intensity and throughput, but it costs
# activation memory and, in serving, latency per request.

import numpy as np

PEAK_BF16 = 989e12  # H100 SXM dense bf16 Tensor Core FLOP/s (1979e12 is with 2:4 sparsity)
HBM_BW = 3.35e12  # H100 SXM HBM3 bytes/s
D = 8192
BYTES = 2  # bf16

# lab:begin roofline
RIDGE = PEAK_BF16 / HBM_BW  # (1)


def matmul_cost(b, d, nbytes=BYTES):
    flops = 2.0 * b * d * d  # (2)
    moved = nbytes * (b * d + d * d + b * d)  # (3)
    return flops, moved


def elementwise_add_cost(n, nbytes=BYTES):
    return 1.0 * n, nbytes * 3.0 * n  # (4)


def roofline(flops, moved):
    ai = flops / moved
    attainable = min(PEAK_BF16, ai * HBM_BW)  # (5)
    seconds = max(flops / PEAK_BF16, moved / HBM_BW)
    return ai, attainable, seconds


def crossover_batch(d):
    return RIDGE * d / (d - 2 * RIDGE)  # (6)
# lab:end roofline
# lab:notes roofline
# (1) The ridge point: the intensity at which both clocks tie, 295.2 FLOP/B for an H100 in dense bf16.
# (2) One multiply and one add for each of the B x D x D products.
# (3) Read the activations and the weight, write the output: each tensor crosses HBM once, in bf16.
# (4) One add per element, and 6 bytes per element: two inputs read and one output written.
# (5) The roof: the sloped part AI x bandwidth below the ridge, the flat peak above it.
# (6) Solves B D / (D + 2B) = ridge for B; this is larger than the ridge itself.
#
# lab:explain 47-47 The ridge comes from two datasheet numbers
# Dividing peak FLOP/s by bytes/s gives FLOPs per byte. A kernel with less intensity than this leaves
# the Tensor Cores waiting on HBM; one with more leaves HBM idle.
#
# lab:explain 50-57 Counting FLOPs and bytes
# The matmul's bytes have a fixed part (the D x D weight) and a part that grows with B. The add
# has no reuse at all: every element is read, used once and written.
#
# lab:explain 60-68 Attainable throughput and the crossover
# The roofline returns the intensity, the best throughput that intensity allows and the lower bound
# on time. Setting the intensity equal to the ridge and solving for B gives the exact crossover.


def main():
    print(f"H100 SXM: {PEAK_BF16 / 1e12:.0f} TFLOPS dense bf16, {HBM_BW / 1e12:.2f} TB/s, "
          f"ridge {RIDGE:.1f} FLOP/B (the sparse 1979 TFLOPS would give {1979e12 / HBM_BW:.0f})")
    print(f"matmul [B, {D}] x [{D}, {D}] in bf16")
    print("     B   AI (FLOP/B)   attainable TFLOPS   time (us)   bound")
    ais = []
    for b in (64, 128, 256, 512, 1024):
        ai, att, sec = roofline(*matmul_cost(b, D))
        ais.append(ai)
        bound = "compute" if ai >= RIDGE else "memory"
        print(f"{b:6d}   {ai:11.1f}   {att / 1e12:17.0f}   {sec * 1e6:9.1f}   {bound}")
    assert np.all(np.diff(ais) > 0) and all(a < b for a, b in zip(ais, (64, 128, 256, 512, 1024)))

    b_star = crossover_batch(D)
    below, above = roofline(*matmul_cost(318, D))[0], roofline(*matmul_cost(319, D))[0]
    print(f"crossover B = {b_star:.1f} (AI at 318: {below:.1f}, at 319: {above:.1f}); "
          f"the shortcut 'B > ridge' says {RIDGE:.0f}")
    assert below < RIDGE <= above and 318 < b_star < 319

    n = 8192 * 8192
    ai_add, att_add, sec_add = roofline(*elementwise_add_cost(n))
    print(f"elementwise add of {n:,} bf16 elements: AI = {ai_add:.4f} FLOP/B, "
          f"{att_add / 1e12:.2f} TFLOPS attainable, {sec_add * 1e6:.1f} us")
    assert abs(ai_add - 1 / 6) < 1e-12 and att_add < 0.001 * PEAK_BF16


if __name__ == "__main__":
    main()
