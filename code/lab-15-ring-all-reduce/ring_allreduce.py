"""Lab 15 - Ring all-reduce.

Eight simulated ranks in a ring run reduce-scatter then all-gather, one chunk per step, while a
counter records every element each rank sends. The counts give the bandwidth cost model that
nccl-tests uses to turn algorithm bandwidth into bus bandwidth.
"""
# lab:goal Derive the cost of ring all-reduce, $2(N-1)/N \cdot S$ sent per rank, by counting it.
#
# lab:mental-model
# - The buffer of S elements is cut into N chunks; each step every rank sends one chunk to its right neighbour.
# - Reduce-scatter takes N-1 steps and leaves each rank owning one fully summed chunk.
# - All-gather takes N-1 more steps to pass the summed chunks around the ring.
# - Time is about $2(N-1)\alpha + \frac{2(N-1)}{N}\frac{S}{\mathrm{BW}}$ ($\alpha$: latency of one step,
#   BW: link bandwidth); the latency term grows with N, the bandwidth term hardly changes.
#
# lab:checkpoints
# - How many elements does each rank send for N = 8 and S = 1024, and as a multiple of S?
#   answer: 2 x 7 chunks of S/8 elements = 1792 elements, 1.75 S, the same on every rank.
#   see: output "elements sent per rank"
#   predict: number 1, within 0%
# - After the reduce-scatter loop (lines 100-105), which chunk does rank 3 own fully summed?
#   answer: Chunk (3 + 1) mod 8 = 4: at step k rank r sends chunk (r - k) mod N, so the chunk a rank
#   receives last, at step N-2, is (r + 1) mod N, and it has then collected all N terms.
#   see: lines 100-105
# - How does the per-rank traffic change when N grows from 8 to 512, and what grows instead?
#   answer: Traffic creeps from 1.75 S to 1.996 S and never reaches 2 S; the latency term,
#   2(N-1) steps of alpha, grows from 70 us to 5113 us and dominates the 64 KB column.
#   see: output " 512       1.996 S"
# - An 8-GPU all-reduce of 1 GB takes 40 ms. What are algbw and busbw, and which one do you
#   compare with the link bandwidth?
#   answer: algbw = S/t = 25 GB/s; busbw = algbw x 2(N-1)/N = 43.75 GB/s, the one to compare with
#   the link, because it undoes the 2(N-1)/N factor every ring all-reduce pays.
#   see: output "1 GB all-reduce on 8 GPUs in 40 ms"
# lab:traps
# - "All-reduce traffic grows with N."
#   why: Each rank sends $2(N-1)$ chunks of $S/N$, that is $2(N-1)/N \cdot S < 2S$ (line 116): the
#   table goes 1.000, 1.500, 1.750, 1.969, 1.996 S. Only the $2(N-1)$ latency terms grow, which is
#   why small messages scale badly and large ones do not. (That assumes equal links: a ring across
#   nodes runs at its slowest link, the NIC, not NVLink, whatever N.)
# - The algbw of an all-reduce should approach the link speed.
#   why: For all-reduce every byte of the result costs each rank $2(N-1)/N$ bytes on its link, so
#   an ideal ring on 50 GB/s links shows algbw 28.57 GB/s at N = 8. busbw multiplies that factor
#   back (line 121) and reads 50.00 GB/s at every N (nccl-tests PERFORMANCE.md).
#
# lab:interview
# Ring all-reduce cuts each rank's S-element buffer into N chunks. A reduce-scatter of N-1 steps
# passes partial chunks to the right neighbour, which adds them; an all-gather of N-1 more steps
# circulates the finished chunks.
#
# Each rank sends 2(N-1) chunks of S/N elements, $2(N-1)/N \cdot S$: 1.75 S for 8 ranks and never
# more than 2 S, whatever N. nccl-tests therefore reports $\text{busbw} = \text{algbw} \cdot
# 2(N-1)/N$, comparable with the link bandwidth. That holds when every link is equal: a ring that
# spans nodes waits at each step for its slowest link, a NIC at about 50 GB/s per direction against
# NVLink's 450, which is why NCCL also has a tree algorithm (a chain inside each node, a double
# binary tree between nodes) for multi-node jobs.
#
# The trade-off is latency: 2(N-1) sequential steps cost $2(N-1)\alpha$, so for small messages
# libraries switch to tree or hierarchical algorithms.
#
# lab:intuition
# - A bucket brigade: everyone hands one bucket to the right at the same moment, so every link is
#   busy in every step and no rank is a bottleneck, unlike a root that must talk to all N-1 others.
# - Steps grow as N while each message shrinks as 1/N: 2(N-1) steps of S/N elements is why the
#   bytes per rank stay just under 2 S, and why only the step count, not the volume, grows.
# - Rule of thumb: a big all-reduce costs about 2 S / BW, a small one about $2N\alpha$; the message
#   size where the two are equal is where the ring stops scaling.

# lab:figure ring
# kind: heatmap
# title: At every step each rank sends a different chunk, and each chunk moves one rank down per step
# caption: At reduce-scatter step k rank r sends chunk (r - k) mod 8, so every chunk walks one hop per step
#   and every link is busy. After RS 6 rank r owns chunk (r + 1) mod 8 (rank 3: chunk 4), which it sends
#   first in the all-gather: 14 sends of S/8 elements, 1792 per rank.
# x: step "step (RS reduce-scatter, AG all-gather)"
# y: rank "sending rank" d
# color: chunk "chunk sent"
# label: chunk "chunk sent"
#
# lab:figure busbw
# kind: line
# title: Small messages cannot use the link: bus bandwidth reaches 50 GB/s only for large buffers
# caption: The 2(N - 1) latency steps make busbw = S / (N α + S / BW), half the link at S = N α BW:
#   2 MB for 8 ranks, 64 times that for 512. At 1 GB even 512 ranks reach 44.33 GB/s.
# x: size "all-reduce size S (MB)" .4g
# y: busbw "bus bandwidth (GB/s)" .2f
# color: ranks "ring"
# x-scale: log

import numpy as np

N, S = 8, 1024  # ranks, elements per buffer


# lab:begin ring
def ring_all_reduce(buffers, log=None):
    n = len(buffers)
    chunks = [np.split(b.copy(), n) for b in buffers]  # chunks[rank][chunk]
    sent = np.zeros(n, dtype=int)
    log = [] if log is None else log  # every send as (phase, step, rank, chunk)
    for step in range(n - 1):  # reduce-scatter
        msgs = [(r, (r - step) % n, chunks[r][(r - step) % n].copy()) for r in range(n)]  # (1)
        for r, c, data in msgs:
            chunks[(r + 1) % n][c] += data  # (2)
            sent[r] += data.size
            log.append(("RS", step, r, c))
    for step in range(n - 1):  # all-gather
        msgs = [(r, (r + 1 - step) % n, chunks[r][(r + 1 - step) % n].copy()) for r in range(n)]
        for r, c, data in msgs:
            chunks[(r + 1) % n][c] = data  # (3)
            sent[r] += data.size
            log.append(("AG", step, r, c))
    return [np.concatenate(c) for c in chunks], sent  # (4)


def ring_time(size_bytes, n, alpha, bw):
    return 2 * (n - 1) * alpha + 2 * (n - 1) / n * size_bytes / bw  # (5)


def bus_bw(size_bytes, t, n):
    algbw = size_bytes / t
    return algbw, algbw * 2 * (n - 1) / n  # (6)
# lab:end ring
# lab:notes ring
# (1) All messages of a step are taken before any is applied: the N sends happen at once.
# (2) Reduce-scatter: the receiver adds the partial sum. After step k a chunk holds k+2 terms.
# (3) All-gather: the receiver overwrites with a finished chunk; no arithmetic.
# (4) Rank r's chunk (r + 1) mod N was complete after reduce-scatter; now every rank has all N.
# (5) The alpha-beta model: 2(N-1) sequential steps, each moving S/N bytes over a link of bandwidth BW.
# (6) nccl-tests' correction: busbw depends on the link, not on N (PERFORMANCE.md, AllReduce).
#
# lab:explain 95-105 Reduce-scatter around the ring
# At step k rank r sends chunk $(r-k) \bmod N$ to rank r+1, which adds it to its own copy. Each
# chunk travels N-1 hops and picks up one rank's contribution per hop, so after N-1 steps rank r
# owns the full sum of chunk $(r+1) \bmod N$.
#
# lab:explain 106-112 All-gather of the finished chunks
# The same ring pattern, shifted by one, copies each finished chunk to the N-1 other ranks.
# Both phases send N-1 chunks per rank, which is where the factor $2(N-1)/N$ comes from.
#
# lab:explain 115-121 From counts to seconds and bandwidths
# `ring_time` turns the count into the alpha-beta model. `bus_bw` inverts a measured time the way
# nccl-tests does: algbw = S/t, busbw = algbw x 2(N-1)/N.


def figures():
    """The data of the figures declared above, from the lab's own simulation and cost model."""
    # ring: the chunk each rank sends at each step of one ring all-reduce of N ranks
    log = []
    ring_all_reduce([np.zeros(S) for _ in range(N)], log)
    ring = {"step": [f"{phase} {step}" for phase, step, _, _ in log], "rank": [r for _, _, r, _ in log],
            "chunk": [str(c) for _, _, _, c in log]}
    # busbw: the bus bandwidth of the modelled ring (alpha 5 us, BW 50 GB/s) for sizes 1 kB to 1 GB
    rows = []
    for n in (2, 8, 64, 512):
        for size in [m * 10**e for e in range(3, 9) for m in (1, 2, 5)] + [10**9]:
            _, busbw = bus_bw(size, ring_time(size, n, 5e-6, 50e9), n)
            rows.append((size / 1e6, float(busbw) / 1e9, f"N = {n}"))
    return {"ring": ring, "busbw": dict(zip(("size", "busbw", "ranks"), map(list, zip(*rows))))}


def main():
    rng = np.random.default_rng(0)
    buffers = [rng.standard_normal(S) for _ in range(N)]
    out, sent = ring_all_reduce(buffers)
    total = np.sum(buffers, axis=0)
    assert all(np.allclose(o, total, rtol=0, atol=1e-12) for o in out)
    err = max(np.abs(o - total).max() for o in out)
    print(f"{N} ranks, S = {S} elements: every rank holds the sum (max error < 1e-12: {err < 1e-12})")
    print(f"elements sent per rank: {sent.tolist()} = {sent[0] / S:.3f} S")
    assert np.all(sent == 2 * (N - 1) * S // N) and sent[0] / S == 1.75

    root_sends = (N - 1) * S  # the root receives S from each rank, then sends S back to each
    print(f"naive reduce-to-root + send back: rank 0 sends {root_sends / S:.0f} S "
          f"(and receives {root_sends / S:.0f} S), the other ranks send 1 S")

    print("\n   N   sent per rank   time 1 GB   time 64 KB   (alpha 5 us, BW 50 GB/s, assumed)")
    alpha, bw = 5e-6, 50e9
    for n in (2, 4, 8, 64, 512):
        frac = 2 * (n - 1) / n
        print(f"{n:4d}   {frac:9.3f} S   {ring_time(1e9, n, alpha, bw) * 1e3:7.2f} ms"
              f"   {ring_time(64e3, n, alpha, bw) * 1e6:8.0f} us")
        assert frac < 2

    t = 0.040  # a measured 40 ms for 1 GB on 8 GPUs
    algbw, busbw = bus_bw(1e9, t, 8)
    print(f"\n1 GB all-reduce on 8 GPUs in {t * 1e3:.0f} ms: algbw {algbw / 1e9:.2f} GB/s, "
          f"busbw {busbw / 1e9:.2f} GB/s")
    for n in (2, 8, 64):
        a, b = bus_bw(1e9, ring_time(1e9, n, 0.0, bw), n)
        print(f"ideal ring, N = {n:2d}: algbw {a / 1e9:6.2f} GB/s -> busbw {b / 1e9:.2f} GB/s")
        assert abs(b - bw) < 1e-3


if __name__ == "__main__":
    main()
