"""Lab 31 - Tiled matmul: the tile size sets how many bytes a GEMM reads per FLOP.

Counts the global-memory traffic of a tiled bf16 GEMM C = A B (M = N = K = 8192) for square tiles
T = 16 ... 256, checks the count against a small tiled product run in numpy, and asks how many
pipeline stages of A and B tiles fit in the shared memory of an H100 SXM multiprocessor.
"""
# lab:goal See how the output tile each block computes sets the bytes a matrix multiply reads, and what caps the tile.
#
# lab:mental-model
# - A GEMM kernel gives each thread block one $B_M \times B_N$ tile of C. The block streams slices of A (its $B_M$ rows) and B (its $B_N$ columns) through shared memory, $k$ = 64 columns of the reduction at a time, and keeps the tile's partial sums in registers.
# - Every element of A a block loads is used $B_N$ times and every element of B $B_M$ times, so the FLOPs per byte loaded grow with the tile: $2 B_M B_N / ((B_M + B_N) \cdot b)$ for $b$-byte elements, $T/2$ for square bf16 tiles.
# - The whole GEMM reads A once per column of tiles and B once per row of tiles: $MNK\,b\,(1/B_M + 1/B_N)$ bytes, plus C written once.
# - The tile is capped by what fits on chip: the pipeline stages of A and B slices in shared memory, and the fp32 accumulators in the register file.
#
# lab:checkpoints
# - Before you run it: how many bytes does a 128 x 128 tile load for one slice of k = 64, and how many FLOPs does it do with them?
#   answer: (128 + 128) x 64 x 2 bytes = 32 KiB, and $2 \cdot 128^2 \cdot 64$ FLOPs with them: 64 FLOPs per byte, the T/2 of line 77.
#   see: line 77
# - Going from 256 x 256 tiles to 128 x 128, by what factor do the GEMM's global reads grow?
#   answer: The A and B reads double; C is written once either way, so the total goes from 8.72 to 17.31 GB, just under twice.
#   see: output "  128     64.0"
#   predict: number 3, within 10%
# - Why do only 3 pipeline stages of a 256 x 256 tile fit in shared memory, when a 128 x 128 tile gets 7?
#   answer: A stage holds a 64-column slice of A and B, (256 + 256) x 64 x 2 = 64 KiB, and 227 KiB per block holds 3 of them; the 128 x 128 tile's 32 KiB stages fit 7.
#   see: lines 96-101
# - The 128 x 128 tile's 64 FLOP/B is below the H100's ridge of 295. Must the GEMM be memory-bound?
#   answer: No. Neighbouring blocks read the same slices of A and B, and the 50 MB L2 cache serves most of those repeats, so far fewer bytes come from HBM than the count. The count says how much reuse the tile gives; L2 has to supply the rest.
#   see: output "an HBM-bound GEMM at 64 FLOP/B"
# lab:traps
# - Bigger tiles are always better.
#   why: Reads fall as 1/T, but a 256 x 256 tile leaves room for only 3 stages of shared memory (line 101) and its fp32 accumulators need the whole 256 KB register file; fewer, larger tiles also leave multiprocessors idle on smaller matrices.
# - Tiling makes the GEMM do less arithmetic.
#   why: Every tile size does the same $2MNK$ FLOPs (the small product checks the result for each); tiling changes only how many times each input byte is fetched.
#
# lab:interview
# A tiled GEMM gives each thread block a $B_M \times B_N$ tile of C, streams $k$-slices of A and B through shared memory and keeps the accumulators in registers.
# Each loaded element is reused $B_N$ or $B_M$ times, so the GEMM reads $MNK\,b\,(1/B_M + 1/B_N)$ bytes and does $2 B_M B_N / ((B_M + B_N) b)$ FLOPs per byte, $T/2$ for square bf16 tiles.
# For an 8192-cubed bf16 GEMM that is 137.6 GB with 16 x 16 tiles and 17.3 GB with 128 x 128, against 0.40 GB to touch A, B and C once.
# The tile is capped by on-chip storage: an H100 SXM multiprocessor has 228 KB of shared memory (227 KB for one block) and a 256 KB register file, so 128 x 128 tiles keep 7 stages in flight and 256 x 256 only 3.
# Production Hopper kernels therefore pick tiles around 128 x 256, with a few stages, and rely on the L2 cache for the reuse beyond the tile.
#
# lab:intuition
# - A tile is a meeting room: the bigger the room, the more people (output elements) share each document (input element) brought in, but the building has only so many large rooms.
# - Read $T/2$ FLOP/B as an exchange rate between on-chip storage and memory traffic: doubling the tile's side halves the bytes and quadruples the accumulators.

import numpy as np

BYTES = 2  # bf16 elements
K_STEP = 64  # columns of the reduction loaded per pipeline stage
SMEM_PER_BLOCK = 227 * 1024  # H100 SXM: 227 KB of shared memory for one thread block (228 KB per SM)
REGISTER_FILE = 256 * 1024  # H100 SXM: 64K 32-bit registers per multiprocessor
HBM_BW, PEAK_BF16 = 3.35e12, 989e12  # H100 SXM: bytes/s, dense bf16 FLOP/s
M = N = K = 8192
TILES = (16, 32, 64, 128, 256)


# lab:begin tiled
def tiled_matmul(a, b, bm, bn, moved, k_step=K_STEP):
    c = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for i in range(0, a.shape[0], bm):  # one thread block per (bm, bn) tile of C
        for j in range(0, b.shape[1], bn):
            acc = np.zeros((bm, bn), np.float32)  # (1)
            for p in range(0, a.shape[1], k_step):
                a_slice, b_slice = a[i:i + bm, p:p + k_step], b[p:p + k_step, j:j + bn]  # (2)
                moved["read"] += (a_slice.size + b_slice.size) * BYTES
                acc += a_slice @ b_slice
            c[i:i + bm, j:j + bn] = acc
            moved["written"] += acc.size * BYTES  # (3)
    return c


def gemm_traffic(m, n, k, bm, bn):
    return m * n * k * BYTES * (1 / bm + 1 / bn) + m * n * BYTES  # (4)


def intensity(bm, bn):
    return 2 * bm * bn / ((bm + bn) * BYTES)  # (5)
# lab:end tiled
# lab:notes tiled
# (1) The tile's partial sums live in registers for the whole reduction: fp32, $4 B_M B_N$ bytes.
# (2) One pipeline stage: a $B_M \times k$ slice of A and a $k \times B_N$ slice of B, staged in shared memory.
# (3) C is written once, when the reduction is done.
# (4) A is read once per column of tiles ($N/B_N$ times), B once per row of tiles ($M/B_M$ times).
# (5) FLOPs per byte loaded: $2 B_M B_N k$ FLOPs for $(B_M + B_N) k b$ bytes per stage.
#
# lab:explain 58-69 A tiled product that counts its loads
# The loops are what a GEMM kernel's grid does: each $(i, j)$ is one thread block, and the loop
# over $p$ is its main loop over the reduction. Counting the bytes of each slice it loads gives
# the traffic that `gemm_traffic` predicts in closed form.
#
# lab:explain 72-77 The two formulas
# Summing the loads over all blocks gives $MNK\,b\,(1/B_M + 1/B_N)$, so the tile's two sides
# set the traffic; per stage, FLOPs over bytes is the intensity.

# lab:begin smem
def stage_bytes(bm, bn, k_step=K_STEP):
    return (bm + bn) * k_step * BYTES  # (1)


def stages_that_fit(bm, bn):
    return SMEM_PER_BLOCK // stage_bytes(bm, bn)  # (2)
# lab:end smem
# lab:notes smem
# (1) One stage holds the A and B slices of one step of $k$: loads for the next steps are in flight while the tensor cores work on this one.
# (2) Stages a block can keep in its 227 KB; more stages hide more memory latency.
#
# lab:explain 96-101 What caps the tile
# Shared memory holds the stages, so a tile twice as large on each side gets half as many
# stages; the accumulators take registers, $4 B_M B_N$ bytes that no stage count changes.

# lab:figure traffic
# kind: line
# title: Each doubling of the tile halves what the GEMM reads, toward the 0.40 GB floor of touching A, B and C once
# caption: Global bytes of a bf16 GEMM with M = N = K = 8192 and square tiles: A and B reads plus C written once.
#   16 x 16 tiles read {{traffic.gb|tile=16,series=tiled GEMM}} GB, 128 x 128 {{traffic.gb|tile=128,series=tiled GEMM}} GB.
# x: tile "tile side T" d
# y: gb "global bytes (GB)" .4g
# color: series "traffic"
# x-scale: log
# y-scale: log
#
# lab:figure stages
# kind: bar
# title: Shared memory decides how many pipeline stages a tile gets
# caption: Shared memory taken by 1 to 8 stages of 64-column slices of A and B, against the 227 KB one block may use.
#   A 128 x 128 tile fits 7 stages, a 256 x 256 tile 3.
# x: stages "stages in flight" d
# y: kib "shared memory (KiB)" d
# color: fits "fits in 227 KB?"
# control: tile "tile side T" d
# default: 128
# says: A {{tile}} x {{tile}} tile fits {{rows:fits|fits=yes}} stages in shared memory.

def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    traffic = [(t, "tiled GEMM", gemm_traffic(M, N, K, t, t) / 1e9) for t in TILES]
    traffic += [(t, "A, B and C once", 3 * M * N * BYTES / 1e9) for t in TILES]
    stages = [(t, s, s * stage_bytes(t, t) // 1024, "yes" if s * stage_bytes(t, t) <= SMEM_PER_BLOCK else "no")
              for t in (64, 128, 256) for s in range(1, 9)]
    return {"traffic": dict(zip(("tile", "series", "gb"), map(list, zip(*traffic)))),
            "stages": dict(zip(("tile", "stages", "kib", "fits"), map(list, zip(*stages))))}


def main():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((256, 256)), rng.standard_normal((256, 256))
    for t in (16, 32, 64, 128):
        moved = {"read": 0, "written": 0}
        c = tiled_matmul(a, b, t, t, moved)
        assert np.allclose(c, a @ b, atol=1e-3), "tiling changes the order of the sums, not the product"
        assert moved["read"] + moved["written"] == gemm_traffic(256, 256, 256, t, t)
    print("256-cubed product, tiles 16 to 128: equal to a @ b, loads equal to the formula: True")
    assert intensity(128, 256) == 2 * 128 * 256 / (384 * BYTES)  # a rectangular tile

    print(f"bf16 GEMM, M = N = K = {M}: {2 * M * N * K / 1e12:.2f} TFLOP for every tile size")
    print("    T   FLOP/B   global GB   x floor")
    floor = 3 * M * N * BYTES
    for t in TILES:
        moved = gemm_traffic(M, N, K, t, t)
        print(f"  {t:3d}   {intensity(t, t):6.1f}   {moved / 1e9:9.2f}   {moved / floor:7.1f}")
        assert intensity(t, t) == t / 2
    print(f"floor (A, B and C once): {floor / 1e9:.2f} GB")
    print(f"an HBM-bound GEMM at 64 FLOP/B would run at {64 * HBM_BW / 1e12:.0f} TFLOPS, below the ridge of "
          f"{PEAK_BF16 / HBM_BW:.0f} FLOP/B; the L2 cache supplies the reuse the tile does not")

    print("shared memory per block 227 KB (232,448 bytes):")
    for t in (64, 128, 256):
        print(f"  T = {t:3d}: {stage_bytes(t, t) // 1024:3d} KiB per stage, {stages_that_fit(t, t)} stages fit, "
              f"fp32 accumulators {4 * t * t // 1024} KiB of the {REGISTER_FILE // 1024} KiB register file")
    assert SMEM_PER_BLOCK == 232_448 and stages_that_fit(128, 128) == 7 and stages_that_fit(256, 256) == 3


if __name__ == "__main__":
    main()
