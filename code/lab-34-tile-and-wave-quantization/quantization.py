"""Lab 34 - Tile and wave quantization: a GEMM's work rounds up to whole tiles, and tiles to whole waves.

Counts the 128 x 128 output tiles of bf16 GEMMs and the waves they take on the 132 SMs of an H100
SXM, checks the wave count against a small scheduler that hands tiles to free SMs, and prices the
staircase this makes in the GEMM's time, including the logits GEMM of a padded vocabulary.
"""
# lab:goal See why a GEMM's time steps up with its shape instead of growing smoothly, and what padding does and does not fix.
#
# lab:mental-model
# - A GEMM kernel cuts C into $B_M \times B_N$ tiles and runs one thread block per tile; a tile that hangs over the edge of C still costs a whole tile (tile quantization).
# - With one block per SM, the SMs process tiles in waves of 132: the last wave may be nearly empty, but it takes as long as a full one (wave quantization).
# - The time is waves x the time of one tile, so it grows in steps; efficiency is the share of the computed tile slots that hold real output.
#
# lab:checkpoints
# - Before you run it: a 1536 x 1536 output has 19% more elements than 1408 x 1408. With 128 x 128 tiles on 132 SMs, how much longer does it take?
#   answer: About twice as long: 144 tiles need 2 waves where 121 tiles need 1, and the second wave keeps only 12 of 132 SMs busy.
#   see: output "  1536   1536     144      2"
#   predict: number 4, within 0%
# - What does padding a 50,257-word vocabulary to 50,304 change for the logits GEMM with M = 8192, in this model?
#   answer: Almost nothing: both make 25,152 tiles and 191 waves, and the useful share rises from 99.67% to 99.76%. The speedup padding gives in practice comes from alignment, not tiles.
#   see: output "  8192  50304"
# - Why does N = 4097 cost the same waves as N = 4096, with M = 4096?
#   answer: Its extra column of tiles brings the count to 1,056, exactly 8 waves of 132, the same 8 waves that 1,024 tiles already needed: the new tiles fill slots the last wave left empty.
#   see: output "  4096   4097    1056      8"
# lab:traps
# - Padding the vocabulary from 50,257 to 50,304 speeds the logits GEMM up by removing tile waste.
#   why: The tile model gives both the same 25,152 tiles and 191 waves, under 0.1% apart. A row of 50,257 bf16 values is 100,514 bytes, not a multiple of 16, which rules out 16-byte vector and bulk loads; 50,304 is a multiple of 64 and keeps rows aligned.
# - A GEMM's time grows smoothly with its size.
#   why: It moves in waves. Going from 1408 to 1536 adds 19% of the FLOPs and doubles the modelled time (line 67), because 144 tiles spill one wave past 132 SMs.
#
# lab:interview
# A GEMM with $B_M \times B_N$ tiles launches $\lceil M/B_M \rceil \lceil N/B_N \rceil$ thread blocks, and with one block per SM they run in $\lceil \text{tiles}/\text{SMs} \rceil$ waves.
# Every wave costs a full tile's time, so the efficiency is the tile efficiency $MN / (\text{tiles} \cdot B_M B_N)$ times the wave efficiency $\text{tiles} / (\text{waves} \cdot \text{SMs})$.
# On an H100 SXM's 132 SMs with 128 x 128 tiles, a 1408-square output fills one wave at 91.7%, while a 1536-square one needs 2 waves at 54.5%: 19% more work for about twice the time.
# Libraries soften this by picking tile shapes per problem and by splitting the reduction over more blocks when there are too few tiles.
# Padding a dimension, such as a vocabulary to a multiple of 64, mostly buys alignment for vector loads; the tile and wave counts barely change.
#
# lab:intuition
# - Tiles are lanes of a car ferry that always sails full-price: a 133rd car waits for a second crossing that carries one car.
# - A shape is good when its tile count sits just below a multiple of 132, bad just above one.

import math

import numpy as np

SMS = 132  # H100 SXM
BM = BN = 128  # output tile of one thread block
PEAK_BF16 = 989e12  # H100 SXM dense bf16 FLOP/s


# lab:begin quantize
def tile_count(m, n, bm=BM, bn=BN):
    return math.ceil(m / bm) * math.ceil(n / bn)  # (1)


def wave_count(tiles, sms=SMS):
    return math.ceil(tiles / sms)  # (2)


def efficiency(m, n, bm=BM, bn=BN):
    tiles = tile_count(m, n, bm, bn)
    return m * n / (tiles * bm * bn) * tiles / (wave_count(tiles) * SMS)  # (3)


def modelled_us(m, n, k, bm=BM, bn=BN):
    per_tile = 2 * bm * bn * k / (PEAK_BF16 / SMS)  # (4)
    return wave_count(tile_count(m, n, bm, bn)) * per_tile * 1e6
# lab:end quantize
# lab:notes quantize
# (1) Tiles cover C, rounding each dimension up: the last row and column of tiles may hang over the edge.
# (2) One block per SM: a wave is 132 tiles, and the last wave counts whole even when few SMs have work.
# (3) Useful share: real outputs over tile slots (tile efficiency) times busy SMs over SM slots (wave efficiency).
# (4) One tile's time at an SM's share of the peak; real kernels reach part of it, which scales every time alike.
#
# lab:explain 52-67 Tiles, waves and the time they set
# Both counts round up, so the time is a staircase in the shape: it jumps when a row or column
# of tiles is added, and again when the tile count passes a multiple of 132.


def schedule(tiles, sms=SMS):
    """The time at which the last tile finishes when free SMs take the next tile, one time unit each."""
    free_at = np.zeros(sms)
    for _ in range(tiles):
        sm = int(np.argmin(free_at))
        free_at[sm] += 1.0
    return float(free_at.max())


# lab:figure staircase
# kind: line
# title: The modelled time of a square GEMM climbs in steps, one per wave of 132 tiles
# caption: bf16 GEMM of a square output with K = 4096 on 132 SMs, against the time its FLOPs take at the full
#   peak. The chosen tile sets where the steps fall; 128 x 128 tiles jump from one wave to two between 1408 and 1536.
# x: size "output side M = N" d
# y: us "time (us)" .1f
# color: series "time"
# control: tile "tile (B_M x B_N)"
# default: 128 x 128
# says: With {{tile}} tiles the first wave lasts {{us|series=modelled, us=min}} us, up to M = {{size|series=modelled, us=min, size=max}}; a 3072 x 3072 output takes {{us|series=modelled, size=3072}} us.

def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rows = []
    for bm, bn in ((128, 128), (128, 256), (256, 128)):
        for size in range(256, 4097, 128):
            rows.append((f"{bm} x {bn}", size, "modelled", modelled_us(size, size, 4096, bm, bn)))
            rows.append((f"{bm} x {bn}", size, "FLOPs at full peak", 2 * size * size * 4096 / PEAK_BF16 * 1e6))
    return {"staircase": dict(zip(("tile", "size", "series", "us"), map(list, zip(*rows))))}


def main():
    for tiles in (1, 121, 132, 133, 144, 1024, 1056):
        assert schedule(tiles) == wave_count(tiles), "free SMs taking the next tile finish in ceil(tiles / 132) waves"
    print("scheduler check: tiles handed to free SMs finish in ceil(tiles / 132) waves: True")
    print(f"128 x 128 tiles, {SMS} SMs, K = 4096")
    print("     M      N   tiles  waves   tile eff  wave eff   useful     time")
    for m, n in ((1408, 1408), (1536, 1536), (4096, 4096), (4096, 4097), (8192, 8192), (8192, 8193),
                 (8192, 50257), (8192, 50304)):
        tiles = tile_count(m, n)
        assert tiles * BM * BN >= m * n and wave_count(tiles) * SMS >= tiles
        tile_eff = m * n / (tiles * BM * BN)
        print(f"  {m:4d}  {n:5d}  {tiles:6d}  {wave_count(tiles):5d}  {tile_eff:8.2%}  "
              f"{tiles / (wave_count(tiles) * SMS):8.2%}  {efficiency(m, n):7.2%}  {modelled_us(m, n, 4096):5.0f} us")
    slower = modelled_us(1536, 1536, 4096) / modelled_us(1408, 1408, 4096)
    print(f"1536 vs 1408: {1536**2 / 1408**2 - 1:.0%} more FLOPs, {slower:.1f}x the time")
    assert tile_count(1408, 1408) == 121 and tile_count(1536, 1536) == 144 and slower == 2
    assert abs(efficiency(1536, 1536) - 144 / 264) < 1e-12 and abs(efficiency(4096, 4097) - 4096 * 4097 / (1056 * BM * BN)) < 1e-12
    for vocab in (50257, 50304, 128256):
        print(f"vocabulary {vocab}: a bf16 row is {2 * vocab:,} bytes, a multiple of 16: {2 * vocab % 16 == 0}")


if __name__ == "__main__":
    main()
