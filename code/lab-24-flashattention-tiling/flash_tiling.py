"""Lab 24 - FlashAttention tiling: standard vs tiled attention on one head, counting HBM bytes."""
# lab:goal See that FlashAttention is exact, does the same forward FLOPs, and wins by moving fewer bytes.
#
# lab:mental-model
# - HBM is the GPU's large main memory; SRAM is the small on-chip memory of each multiprocessor
#   (192 KB on an A100), about ten times faster. Standard attention writes the N x N scores S and
#   probabilities P to HBM and reads them back.
# - The tiled kernel (FlashAttention-2 loop order) keeps $B_r$ query rows and their (m, l, acc) on
#   chip while tiles of $B_c$ key and value rows stream past; each (B_r x B_c) score tile is dropped.
# - It writes the output and one log-sum-exp $L = m + \log l$ per row; backward rebuilds P from S and L.
#
# lab:checkpoints
# - How often is each K and V tile read from HBM, and how does that enter the byte count?
#   answer: Once per query tile, N / B_r = 8 times: the term $2Nd \cdot N/B_r$ of the tiled traffic.
#   see: lines 111-115
# - Which kernel does more matmul FLOPs in the forward pass?
#   answer: Neither: both do $4N^2 d$ = 16.8 M. Only the backward pass differs (it recomputes S).
#   see: output "matmul FLOPs: standard 16.8 M, tiled 16.8 M"
# - At N = 16384, why do 32-row tiles save almost nothing while 128-row tiles save about 4x?
#   answer: Standard / tiled traffic tends to $4N^2 / (2N^2 d / B_r) = 2B_r/d$: 1 for $B_r = 32$
#   and 4 for $B_r = 128$ at d = 64. The tile size SRAM allows sets the gain.
#   see: output "16384   128"
#   predict: number 5, within 10%
# lab:traps
# - "FlashAttention is an approximation of attention."
#   why: Each query row runs the exact online-softmax update of lab 23 (lines 117-122); the output
#   equals standard attention up to float64 rounding, and the assert on line 185 checks it.
# - "FlashAttention is faster because it does fewer FLOPs."
#   why: The forward FLOPs are equal (16.8 M each) and the backward does more, 5 matmuls instead of
#   4. It is faster because attention is memory-bound and the tiled kernel moves fewer HBM bytes.
#
# lab:interview
# FlashAttention computes exact attention without writing the $N \times N$ scores to HBM: $B_r$
# query rows stay on chip with their online-softmax state $(m, l, \mathrm{acc})$ while K/V tiles pass.
#
# Standard attention moves $4N^2 + 4Nd$ elements; the tiled kernel moves $2Nd + 2Nd \cdot N/B_r$,
# so the saving tends to $2B_r/d$. Only the output and one log-sum-exp per row are stored.
#
# The trade-off is compute for bytes: the backward pass recomputes $S$ (five matmuls instead of
# four), which pays because attention is limited by memory traffic.
#
# lab:intuition
# - The query tile sits on the desk (SRAM) for the whole inner loop while K/V tiles are fetched
#   from the stacks (HBM) and returned: a bigger desk (larger $B_r$) means fewer trips through K/V.
# - Memory gains more than traffic: at N = 16384 the standard kernel keeps 537 MB of probabilities
#   per head for backward (the table's N x N column), the tiled one 0.066 MB of log-sum-exp.
# lab:figure tile-order
# kind: heatmap
# title: The loop sweeps the score grid row by row; one query tile stays on chip per row
# caption: Query tile i is read once and stays on chip for visits 8i + 1 to 8i + 8 while the 8 K/V
#   tiles stream past. Every row fetches each K/V tile again, so K and V are read N / B_r = 8 times,
#   and none of the 64 score tiles of 32 x 32 is ever written to HBM.
# x: kv_tile "K/V tile j (keys 32j to 32j + 31)" d
# y: q_tile "query tile i (rows 32i to 32i + 31)" d
# color: visit "visit order" d
# label: visit "visit" d
# lab:figure hbm-bytes
# kind: line
# title: Both kernels' traffic grows as N squared; only the tile height sets the saving
# caption: At N = 16384 standard attention moves 2156 MB, 32-row tiles 2152 MB (the two lines lie on
#   top of each other) and 128-row tiles 541 MB. The saving tends to 2 B_r / d: 1 for B_r = 32 and 4
#   for B_r = 128 at d = 64, whatever the sequence length.
# x: n "sequence length N" ,d
# y: mb "HBM traffic (MB, bf16)" .4g
# color: kernel "kernel"
# x-scale: log
# y-scale: log

import numpy as np

N, D, BR, BC = 256, 64, 32, 32
BF16, FP32 = 2, 4  # bytes per element as stored on a GPU; numpy computes in float64


# lab:begin standard
class Device:  # counts HBM bytes and matmul FLOPs of whatever runs through it
    def __init__(self):
        self.bytes, self.flops = 0, 0

    def read(self, x, size=BF16):
        self.bytes += x.size * size  # (1)
        return x
    write = read

    def mm(self, a, b):
        self.flops += 2 * a.shape[0] * a.shape[1] * b.shape[1]  # (2)
        return a @ b


def standard_attention(q, k, v, dev):
    s = dev.write(dev.mm(dev.read(q), dev.read(k).T) / np.sqrt(D))  # (3)
    e = np.exp(dev.read(s) - s.max(axis=1, keepdims=True))
    p = dev.write(e / e.sum(axis=1, keepdims=True))  # (4)
    return dev.write(dev.mm(dev.read(p), dev.read(v)))
# lab:end standard
# lab:notes standard
# (1) Every array that crosses HBM is charged at its stored size (2 bytes in bf16).
# (2) A (m, k) by (k, n) matmul is 2mkn FLOPs; only matmuls are counted.
# (3) The N x N scores are written to HBM and read back by the softmax.
# (4) The N x N probabilities are written, read by the P V matmul, and kept for backward.
#
# lab:explain 76-94 A meter on the memory bus, and standard attention
# `Device` charges each array by its stored size and each matmul by 2mkn FLOPs, so both kernels are
# measured alike. The standard kernel runs scores, softmax and weighted sum as separate passes through
# HBM: $4N^2 + 4Nd$ elements, and $N^2$ probabilities stay in memory for the backward pass.


# lab:begin tiled
def flash_attention(q, k, v, dev):
    o, lse = np.empty((N, D)), np.empty(N)
    for i in range(0, N, BR):
        qi = dev.read(q[i:i + BR])  # (1)
        m, l, acc = np.full(BR, -np.inf), np.zeros(BR), np.zeros((BR, D))
        for j in range(0, N, BC):
            kj, vj = dev.read(k[j:j + BC]), dev.read(v[j:j + BC])  # (2)
            s = dev.mm(qi, kj.T) / np.sqrt(D)  # (3)
            m_new = np.maximum(m, s.max(axis=1))
            p = np.exp(s - m_new[:, None])
            scale = np.exp(m - m_new)
            l = l * scale + p.sum(axis=1)
            acc = acc * scale[:, None] + dev.mm(p, vj)  # (4)
            m = m_new
        o[i:i + BR] = dev.write(acc / l[:, None])
        lse[i:i + BR] = dev.write(m + np.log(l), FP32)  # (5)
    return o, lse
# lab:end tiled
# lab:notes tiled
# (1) Each query tile is read from HBM once and stays on chip for the whole inner loop.
# (2) K and V tiles are read again for every query tile: N/B_r passes over K and V in total.
# (3) A (B_r, B_c) score tile that never goes to HBM; the N x N matrix never exists.
# (4) Online softmax: the old output is rescaled by exp(m_old - m_new) before adding this tile.
# (5) One log-sum-exp per row (N floats) is all the backward pass needs to rebuild P from S.
#
# lab:explain 109-125 A query tile on chip, K/V tiles streaming past
# The outer loop owns B_r = 32 query rows: m and l of shape (32,), acc of shape (32, 64), whatever N is.
# Each K/V tile gives a 32 x 32 score tile that updates this state and is dropped. Only the output and
# $L = m + \log l$ go to HBM: $Nd$ values plus $N$ floats, not $N^2$ probabilities.


def traffic(n, br):  # bytes as Device counts them; on a GPU, L2 serves some K/V re-reads
    standard = (4 * n * n + 4 * n * D) * BF16
    tiled = (2 * n * D + 2 * n * D * (n // br)) * BF16 + n * FP32
    return standard, tiled


class TileLog(Device):  # a Device that also notes which (query tile, K/V tile) each score matmul uses
    def __init__(self, q, k):
        super().__init__()
        self.q, self.k, self.visits = q, k, []

    def mm(self, a, b):
        if np.shares_memory(a, self.q):  # the score matmul qi @ kj.T (p @ vj uses no view of q)
            self.visits.append((first_row(a, self.q) // BR, first_row(b, self.k) // BC))
        return super().mm(a, b)


def first_row(view, whole):  # the row of `whole` where a slice of it starts (kj.T starts where kj does)
    return (view.ctypes.data - whole.ctypes.data) // whole.strides[0]


def figures():
    """The data of the figures declared above, computed with the lab's own functions."""
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((N, D)) for _ in range(3))  # the head main() runs
    # tile-order: the (query tile, K/V tile) pairs in the order flash_attention visits them
    log = TileLog(q, k)
    flash_attention(q, k, v, log)
    tiles = {"q_tile": [int(i) for i, _ in log.visits], "kv_tile": [int(j) for _, j in log.visits],
             "visit": list(range(1, len(log.visits) + 1))}
    # hbm-bytes: the traffic model (checked against Device at N = 256) for N = 256 to 16384
    rows = []
    for n in (2 ** e for e in range(8, 15)):
        standard, _ = traffic(n, BR)
        rows.append((n, standard / 1e6, "standard (S and P through HBM)"))
        rows += [(n, traffic(n, br)[1] / 1e6, f"tiled, B_r = {br}") for br in (32, 128)]
    return {"tile-order": tiles, "hbm-bytes": dict(zip(("n", "mb", "kernel"), map(list, zip(*rows))))}


def main():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((N, D)) for _ in range(3))
    std, fl = Device(), Device()
    o_ref = standard_attention(q, k, v, std)
    o, lse = flash_attention(q, k, v, fl)
    assert np.abs(o - o_ref).max() < 1e-12 and std.flops == fl.flops == 4 * N * N * D
    assert (std.bytes, fl.bytes) == traffic(N, BR)
    print(f"N={N}, d={D}, tiles {BR}x{BC}: max |tiled - standard| < 1e-12 (float64 rounding only)")
    print(f"matmul FLOPs: standard {std.flops / 1e6:.1f} M, tiled {fl.flops / 1e6:.1f} M "
          "(backward: 8N^2d vs 10N^2d, the tiled kernel recomputes S)")
    print(f"HBM bytes:    standard {std.bytes:,}, tiled {fl.bytes:,}")
    rows = np.exp(q @ k.T / np.sqrt(D) - lse[:, None]).sum(axis=1)  # backward rebuilds P = exp(S - L)
    assert np.abs(rows - 1).max() < 1e-12, "the saved log-sum-exp normalizes every row"
    print("P rebuilt as exp(S - L) from the saved log-sum-exp: every row sums to 1 (within 1e-12)")

    print("    N  tile   standard MB   tiled MB   std/tiled   stored N x N (bf16) MB   stored lse MB")
    for n in (256, 4096, 16384):
        for br in (32, 128):
            a, b = traffic(n, br)
            print(f"{n:5d}  {br:4d}   {a / 1e6:11.2f}   {b / 1e6:8.2f}   {a / b:9.2f}"
                  f"   {n * n * BF16 / 1e6:22.1f}   {n * FP32 / 1e6:13.3f}")


if __name__ == "__main__":
    main()
