"""Lab 24 - FlashAttention tiling: standard vs tiled attention on one head, counting HBM bytes."""
# lab:goal See that FlashAttention is exact, does the same forward FLOPs, and wins by moving fewer bytes.
#
# lab:mental-model
# - Standard attention writes the N x N scores and probabilities to HBM and reads them back.
# - The tiled kernel keeps a (B_r x B_c) score tile on chip and carries (m, l, acc) per query row.
# - It stores only the output and one log-sum-exp per row; the backward pass recomputes the scores.
#
# lab:checkpoints
# - Is the tiled result an approximation?
#   answer: No. It matches standard attention to 1e-15 (6e-16 when the reference also divides
#   by l after the P V product), which is float64 rounding.
# - Which kernel does fewer FLOPs in the forward pass?
#   answer: Neither: both count $4N^2 d$ = 16.8 MFLOP of matmul. With the backward recompute the
#   tiled version does more ($14N^2 d$ vs $12N^2 d$ for forward plus backward).
# - Why is the traffic saving small with 32-row tiles but about 4x with 128-row tiles?
#   answer: K and V are re-read once per query tile, $2N^2 d/B_r$ elements, while the N x N
#   matrices cost $4N^2$. The ratio tends to $2B_r/d$, so the tile size SRAM allows sets the gain.
#
# lab:traps
# - "FlashAttention is approximate" or "it reduces FLOPs": it is exact, and it does the same
#   forward FLOPs and more backward FLOPs; what it removes is HBM traffic and O(N^2) memory.
# - This byte count treats every tile load as HBM traffic; on a real GPU the L2 cache absorbs part
#   of the repeated K/V reads, so read it as a model, not a measurement.
#
# lab:interview
# The state per query tile is the running max m and normalizer l, shape (B_r,), and an
# unnormalized output of shape (B_r, d); the scores exist only as a (B_r, B_c) tile. The loop runs
# over the key axis in tiles, rescaling the state with the online-softmax rule, and writes the
# output and one log-sum-exp per row. Standard attention instead writes the N x N scores and
# probabilities to HBM, so its traffic and memory grow as N^2 while the tiled version stores O(N)
# extra. FLOPs are unchanged in the forward pass, and the backward recomputes the scores from Q, K
# and the saved log-sum-exp, which costs one extra matmul but avoids storing N^2 values. The
# trade-off is compute for bytes: standard attention is limited by memory traffic, so the kernel wins.

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
# lab:explain 43-54 A meter on the memory bus
# `Device` charges each array by its stored size when it is read or written, and each matmul by
# 2mkn FLOPs, so both kernels below are measured with the same rules.
#
# lab:explain 57-61 Standard attention, three kernels
# This is the textbook order: scores, softmax, weighted sum, each a separate pass through HBM.
# Traffic is $4N^2 + 4Nd$ elements, and $N^2$ values stay in memory for the backward pass.


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
# lab:explain 79-83 A query tile and its on-chip state
# The outer loop owns B_r = 32 query rows. Their state is m and l of shape (32,) and acc of shape
# (32, 64): O(B_r d) memory however long the sequence is.
#
# lab:explain 84-92 Streaming over keys
# Each K/V tile produces a 32 x 32 score tile, which updates (m, l, acc) with the online-softmax
# rule and is then discarded.
#
# lab:explain 93-95 What goes back to HBM
# Only the normalized output and $L = m + \log l$ are written: $N d$ values plus $N$ floats, not
# the $N^2$ probabilities the standard kernel stores.


def traffic(n, br):  # bytes, same accounting as the Device counter above
    standard = (4 * n * n + 4 * n * D) * BF16
    tiled = (2 * n * D + 2 * n * D * (n // br)) * BF16 + n * FP32
    return standard, tiled


def main():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((N, D)) for _ in range(3))
    std, fl = Device(), Device()
    o_ref = standard_attention(q, k, v, std)
    o, lse = flash_attention(q, k, v, fl)
    err = np.abs(o - o_ref).max()
    e = np.exp(q @ k.T / np.sqrt(D) - (q @ k.T / np.sqrt(D)).max(axis=1, keepdims=True))
    err2 = np.abs(o - (e @ v) / e.sum(axis=1, keepdims=True)).max()
    print(f"N={N}, d={D}, tiles {BR}x{BC}: max |tiled - standard| = {err:.1e} "
          f"({err2:.1e} against a reference that also normalizes after P V)")
    print(f"matmul FLOPs: standard {std.flops / 1e6:.1f} M, tiled {fl.flops / 1e6:.1f} M")
    print(f"HBM bytes:    standard {std.bytes:,}, tiled {fl.bytes:,}")
    assert max(err, err2) < 1e-12 and std.flops == fl.flops == 4 * N * N * D
    assert (std.bytes, fl.bytes) == traffic(N, BR)
    print(f"backward matmul FLOPs: standard 8N^2d, tiled 10N^2d (recomputes S); "
          f"fwd+bwd ratio {14 / 12:.2f}")

    print("    N  tile   standard MB   tiled MB   ratio   stored N x N (bf16) MB   stored lse MB")
    for n in (256, 4096, 16384):
        for br in (32, 128):
            a, b = traffic(n, br)
            print(f"{n:5d}  {br:4d}   {a / 1e6:11.2f}   {b / 1e6:8.2f}   {a / b:5.2f}"
                  f"   {n * n * BF16 / 1e6:22.1f}   {n * FP32 / 1e6:13.3f}")


if __name__ == "__main__":
    main()
