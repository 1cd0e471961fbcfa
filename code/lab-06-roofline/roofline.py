"""Lab 06 - Roofline: a kernel is limited by its FLOPs or by its bytes, whichever takes longer.

Classifies a bf16 matmul [B, 8192] x [8192, 8192] on an H100 SXM for B = 64 ... 1024, finds the
batch where it turns compute-bound, and compares it with an elementwise add.
"""
# lab:goal Classify a kernel as memory-bound or compute-bound from its arithmetic intensity.
#
# lab:mental-model
# - A kernel (one program the GPU launches) needs at least FLOPs / peak seconds of arithmetic and
#   bytes / bandwidth seconds of traffic to HBM, the GPU's main memory.
# - Arithmetic intensity (AI) is FLOPs per byte moved; the ridge is peak / bandwidth, the AI at which
#   both times are equal.
# - Below the ridge the attainable throughput is AI x bandwidth (memory-bound); above it, the peak
#   (compute-bound).
# - A matmul's AI grows with the batch B because every row reuses the same weight bytes.
#
# lab:checkpoints
# - What ridge does line 98 give for an H100 in dense bf16, and what would the 1979 TFLOPS figure give?
#   answer: 989e12 / 3.35e12 = 295.2 FLOP/B. 1979 assumes 2:4 sparsity (two of every four weights zero);
#   it would put the ridge at 591 and make memory-bound kernels look compute-bound.
#   see: output "ridge 295.2 FLOP/B"
#   predict: number 3, within 5%
# - At B = 64, which term of line 103 dominates the bytes, and what throughput does the roof allow?
#   answer: The weight, D x D = 67M elements against 2BD = 1M for input and output. AI is 63.0 FLOP/B,
#   and 63.0 x 3.35 TB/s = 211 TFLOPS, a fifth of the peak.
#   see: output "    64          63.0"
# - B = 300 is above the ridge of 295.2. Is the matmul compute-bound there?
#   answer: No. AI = 300 x 8192 / (8192 + 600) = 279.5 < 295.2, because the input and output bytes
#   also grow with B. The first compute-bound batch is 319 (exact crossover 318.2).
#   see: output "crossover B = 318.2"
# - If the elementwise add ran on a tensor 100 times larger, what would its AI be?
#   answer: Still 1/6: its FLOPs (n) and its bytes (6n) both grow with n, so no size helps.
#   see: line 108
# - Why does the time double from B = 512 to 1024 while the attainable throughput stays at 989?
#   answer: Both are compute-bound, so time is FLOPs / peak, and the FLOPs $2BD^2$ double with B.
#   see: output "  1024         819.2"
# lab:traps
# - "The matmul is compute-bound as soon as B exceeds the ridge."
#   why: That holds only if the weight were the only traffic. The input and output bytes grow with B,
#   so AI = BD/(D + 2B) stays below B: the crossover is B = 318.2 (line 119), not 295.2.
# - "The H100 does 1979 TFLOPS in bf16, so its ridge is about 591."
#   why: 1979 is the 2:4 structured-sparsity figure; a dense matmul gets at most 989, and the ridge
#   is 295.2 (line 98). The wrong peak makes memory-bound kernels look compute-bound.
# - "The roofline predicts how long a kernel takes."
#   why: It is a lower bound on time (line 114): real kernels also pay for launches, tile shapes and
#   caches, so they reach only part of the roof.
#
# lab:interview
# The roofline gives a kernel two clocks, FLOPs over peak and bytes over HBM bandwidth, and says it
# runs no faster than the slower one. Its FLOPs per byte, $I = F/M$, decide which clock wins.
#
# A bf16 matmul of $[B, D]$ by $[D, D]$ does $2BD^2$ FLOPs and moves $2(D^2 + 2BD)$ bytes, so
# $I = BD/(D + 2B)$. On an H100 (989 TFLOPS, 3.35 TB/s) the ridge is 295.2 FLOP/B; with $D = 8192$
# the matmul turns compute-bound only past $B = 318.2$. An elementwise add stays at $I = 1/6$.
#
# The trade-off: a bigger batch raises intensity and throughput, but costs activation memory and,
# when serving, latency per request.
#
# lab:intuition
# - The weight is a fixed toll paid once per kernel: at B = 64 it is 98.5% of the bytes, so the kernel
#   waits on memory; by B = 1024 the activations are 20% and the toll is amortized over 1024 rows.
# - Read the ridge as an exchange rate: the H100 can do about 295 bf16 FLOPs in the time it moves one
#   byte from HBM, so any kernel that does fewer per byte leaves the Tensor Cores underused.
# - Elementwise ops sit near AI = 0.17, over 1000 times below the ridge: for them, count bytes and
#   ignore FLOPs.

# lab:figure roofline
# kind: line
# title: A larger batch slides the matmul up the roof's slope; it reaches the flat peak only past B = 318
# caption: The roof rises as AI x 3.35 TB/s up to the ridge at 295.2 FLOP/B, then stays at 989 TFLOPS.
#   At B = 300 the matmul's AI is 279.5, still on the slope; B = 319 (AI 296.0) is the first batch on
#   the flat part.
# x: ai "arithmetic intensity (FLOP/B)" .4g
# y: tflops "attainable TFLOPS" .4g
# color: series "series"
# control: batch "batch B" d
# default: 64
# says: At B = {{batch}} the matmul does {{ai|series!="roof: min(peak, AI x bandwidth)"}} FLOP per byte and attains {{tflops|series!="roof: min(peak, AI x bandwidth)"}} TFLOPS.
# x-scale: log
# y-scale: log
# lab:figure clocks
# kind: line
# title: The traffic time barely moves with the batch while the math time grows with it
# caption: The bytes are dominated by the 128 MiB weight, so traffic takes 40.4 us at B = 32 and only
#   50.1 us at B = 1024, while the math grows in proportion to B. The two cross at B = 318.2, and the
#   kernel needs at least the larger of them.
# x: batch "batch B" d
# y: us "lower bound on time (us)" .1f
# color: clock "clock"
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
    seconds = max(flops / PEAK_BF16, moved / HBM_BW)  # (6)
    return ai, attainable, seconds


def crossover_batch(d):
    return RIDGE * d / (d - 2 * RIDGE)  # (7)
# lab:end roofline
# lab:notes roofline
# (1) The ridge point: the intensity at which both clocks tie, 295.2 FLOP/B for an H100 in dense bf16.
# (2) One multiply and one add for each of the B x D x D products.
# (3) Read the activations and the weight, write the output: each tensor crosses HBM once, in bf16.
# (4) One add per element, and 6 bytes per element: two inputs read and one output written.
# (5) The roof: the sloped part AI x bandwidth below the ridge, the flat peak above it.
# (6) The lower bound on time, assuming math and traffic overlap perfectly.
# (7) Solves $BD/(D + 2B)$ = ridge for B; the result is larger than the ridge itself.
#
# lab:explain 98-98 The ridge comes from two datasheet numbers
# Dividing peak FLOP/s by bytes/s gives FLOPs per byte. A kernel with less intensity than this leaves
# the Tensor Cores (the matrix-multiply units) waiting on HBM; one with more leaves HBM underused.
#
# lab:explain 101-108 Counting FLOPs and bytes
# The matmul's bytes have a fixed part (the D x D weight) and a part that grows with B. The add
# has no reuse at all: every element is read, used once and written.
#
# lab:explain 111-119 Attainable throughput and the crossover
# The roofline returns the intensity, the best throughput that intensity allows and the lower bound
# on time. Setting the intensity equal to the ridge and solving for B gives the exact crossover.


def figures():
    """The data of the figures declared above, computed with the lab's own functions."""
    # roofline: for each batch, the roof (3 points: it bends once, at the ridge) and the matmul
    rows = []
    for b in (64, 128, 256, 300, 319, 512, 1024):  # the printed batches, plus 300 and 319
        ai, att, _ = roofline(*matmul_cost(b, D))
        rows += [(b, x, roofline(x, 1.0)[1] / 1e12, "roof: min(peak, AI x bandwidth)")
                 for x in (10.0, RIDGE, 1000.0)]  # x FLOPs over 1 byte: a kernel of intensity x
        rows.append((b, ai, att / 1e12, "matmul, " + ("compute" if ai >= RIDGE else "memory") + "-bound"))
    # clocks: the two lower bounds that line 114 compares, against the batch
    clocks = []
    for b in range(32, 1025, 32):
        flops, moved = matmul_cost(b, D)
        clocks += [(b, flops / PEAK_BF16 * 1e6, "math: FLOPs / peak"),
                   (b, moved / HBM_BW * 1e6, "traffic: bytes / bandwidth")]
    return {"roofline": dict(zip(("batch", "ai", "tflops", "series"), map(list, zip(*rows)))),
            "clocks": dict(zip(("batch", "us", "clock"), map(list, zip(*clocks))))}


def main():
    print(f"H100 SXM: {PEAK_BF16 / 1e12:.0f} TFLOPS dense bf16, {HBM_BW / 1e12:.2f} TB/s, "
          f"ridge {RIDGE:.1f} FLOP/B (the sparse 1979 TFLOPS would give {1979e12 / HBM_BW:.0f})")
    assert 295 < RIDGE < 296
    print(f"matmul [B, {D}] x [{D}, {D}] in bf16")
    print("     B   AI (FLOP/B)   weight share of bytes   attainable TFLOPS   time (us)   bound")
    ais = []
    for b in (64, 128, 256, 512, 1024):
        flops, moved = matmul_cost(b, D)
        ai, att, sec = roofline(flops, moved)
        ais.append(ai)
        bound = "compute" if ai >= RIDGE else "memory"
        print(f"{b:6d}   {ai:11.1f}   {BYTES * D * D / moved:21.1%}   {att / 1e12:17.0f}   "
              f"{sec * 1e6:9.1f}   {bound}")
    assert np.all(np.diff(ais) > 0) and all(a < b for a, b in zip(ais, (64, 128, 256, 512, 1024)))

    b_star = crossover_batch(D)
    first = next(b for b in range(1, 4096) if roofline(*matmul_cost(b, D))[0] >= RIDGE)  # by search
    print(f"crossover B = {b_star:.1f}: first compute-bound batch {first} "
          f"(AI {roofline(*matmul_cost(first, D))[0]:.1f}); the shortcut 'B > ridge' says {RIDGE:.1f}")
    assert first == 319 and first - 1 < b_star <= first

    n = 8192 * 8192
    ai_add, att_add, sec_add = roofline(*elementwise_add_cost(n))
    print(f"elementwise add of {n:,} bf16 elements: AI = {ai_add:.4f} FLOP/B, "
          f"{att_add / 1e12:.2f} TFLOPS attainable, {sec_add * 1e6:.1f} us")
    assert abs(ai_add - 1 / 6) < 1e-12 and att_add < 0.001 * PEAK_BF16


if __name__ == "__main__":
    main()
