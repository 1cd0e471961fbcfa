"""Lab 37 - Ring vs tree vs double binary tree: a latency term against a bandwidth term.

Prices an all-reduce of S bytes over N ranks with an alpha-beta model (alpha = 5 us per step,
assumed; 50 GB/s links) for a ring, an unpipelined binary tree and a pipelined double binary
tree, finds where they cross, and runs each on real arrays, counting the bytes every rank sends.
"""
# lab:goal See that trees win small all-reduces by taking log N steps instead of 2(N - 1), and that only a double binary tree keeps the ring's bandwidth for large ones.
#
# lab:mental-model
# - Each step of a collective costs a fixed latency $\alpha$ plus bytes over bandwidth: $t = \text{steps} \cdot \alpha + \text{bytes per rank} / B$.
# - A ring takes $2(N-1)$ steps and sends $2(N-1)/N \cdot S$ per rank: the best bandwidth term, the worst latency term.
# - A binary tree reduces up and broadcasts down in $2\log_2 N$ steps, but sending the whole buffer at each level makes it $2\log_2 N \cdot S/B$.
# - A double binary tree pipelines small chunks through two trees, each carrying half the buffer, with every rank a leaf in one tree and interior in the other: about $2S$ per rank and $2\log_2 N$ latency steps.
#
# lab:checkpoints
# - Before you run it: with 128 ranks, how long does a ring all-reduce of 8 KiB take, and what sets it?
#   answer: 1,270 us, almost all latency: 254 steps of 5 us, against under a microsecond of bandwidth. A double binary tree takes 70 us.
#   see: output "  8 KiB"
#   predict: number 2, within 10%
# - At 1 GiB with 128 ranks, why is the plain binary tree 7 times slower than the ring?
#   answer: It sends the whole buffer at each of its 14 levels, 300.7 ms, where the ring sends just under 2 S per rank, 43.9 ms. Pipelining through two half-buffer trees (43.0 ms) is what gives the tree the ring's bandwidth back.
#   see: output "  1 GiB"
# - Above what size does the ring beat the unpipelined tree at 8, 128 and 1,024 ranks?
#   answer: 0.47, 4.99 and 28.1 MB: the more ranks, the more latency steps the ring pays, and the larger a message must be before its bandwidth term matters.
#   see: lines 64-67
# lab:traps
# - Trees save bandwidth.
#   why: They save latency: $2\log_2 N$ steps instead of $2(N-1)$. Per rank a double binary tree sends about $2S$ (line 90 counts it), slightly more than the ring's $2(N-1)/N \cdot S$.
# - NCCL always uses a ring.
#   why: It models each algorithm's time as latency plus bytes over bandwidth and picks per call: trees (and in-switch reduction, NVLS or SHARP, where the network adds the buffers) for small or many-node all-reduces, rings for large ones.
#
# lab:interview
# In the $\alpha$-$\beta$ model a ring all-reduce costs $2(N-1)\alpha + 2(N-1)/N \cdot S/B$, a plain binary tree $2\log_2 N (\alpha + S/B)$ and a pipelined double binary tree about $2\log_2 N \alpha + 2S/B$.
# With 128 ranks, 5 us of latency and 50 GB/s, an 8 KiB all-reduce takes 1,270 us by ring and 70 us by double binary tree, while at 1 GiB the ring takes 43.9 ms, the double tree 43.0 and the plain tree 300.7.
# The double binary tree gets both terms by pipelining chunks through two trees that each carry half the data, every rank a leaf in one and interior in the other; NCCL added it in version 2.4.
# Libraries choose per call from such models, and in-network reduction (NVLink SHARP in NVSwitch, SHARP in InfiniBand switches) goes further by letting the switch add the buffers.
#
# lab:intuition
# - The ring is a bucket brigade: it moves a lot of water, but every bucket passes every hand. The tree is a phone tree: few rounds, but each call carries everything unless it is split.
# - Read the crossover as latency over bandwidth: the message size at which $N$ extra steps of $\alpha$ cost as much as the tree's extra bytes.

import math

import numpy as np

ALPHA = 5e-6  # seconds per step (assumed)
BW = 50e9  # bytes/s per link
KIB, MIB, GIB = 1024, 1024**2, 1024**3


# lab:begin model
def ring(n, size):
    return 2 * (n - 1) * ALPHA + 2 * (n - 1) / n * size / BW  # (1)


def binary_tree(n, size):
    return 2 * math.log2(n) * (ALPHA + size / BW)  # (2)


def double_binary_tree(n, size):
    return 2 * math.log2(n) * ALPHA + 2 * size / BW  # (3)


def crossover(n):
    """The size above which the ring beats the unpipelined binary tree."""
    steps, per_byte = 2 * (n - 1) - 2 * math.log2(n), 2 * math.log2(n) - 2 * (n - 1) / n
    return steps * ALPHA * BW / per_byte  # (4)
# lab:end model
# lab:notes model
# (1) $2(N-1)$ steps, and just under $2S$ per rank however many ranks.
# (2) Up and down $\log_2 N$ levels, each sending the whole buffer.
# (3) Pipelined: the latency of the tree's depth, and the two half-buffer trees' $2S$ per rank at full bandwidth.
# (4) Where the ring's extra latency steps cost as much as the tree's extra bytes.
#
# lab:explain 52-67 Three cost models and their crossover
# Each algorithm is one line of the alpha-beta model; equating two of them gives the message size
# at which they swap places.

# lab:begin trees
def tree_all_reduce(data, order):
    """Reduce up and broadcast down a binary tree laid out as a heap over `order`; returns the
    result on every rank and the bytes each rank sent."""
    n, sent = len(order), np.zeros(len(data))
    partial = {i: data[order[i]].copy() for i in range(n)}
    for i in reversed(range(1, n)):  # children before parents: reduce up
        partial[(i - 1) // 2] += partial[i]
        sent[order[i]] += partial[i].nbytes  # (1)
    for i in range(1, n):  # broadcast down from the root
        partial[i] = partial[(i - 1) // 2]
        sent[order[(i - 1) // 2]] += partial[i].nbytes  # (2)
    return {order[i]: partial[i] for i in range(n)}, sent


def double_tree_all_reduce(data):
    halves = [np.split(d, 2) for d in data]
    n = len(data)
    first, sent_a = tree_all_reduce([h[0] for h in halves], list(range(n)))
    second, sent_b = tree_all_reduce([h[1] for h in halves], list(reversed(range(n))))  # (3)
    return [np.concatenate([first[r], second[r]]) for r in range(n)], sent_a + sent_b
# lab:end trees
# lab:notes trees
# (1) A child sends its partial sum to its parent once.
# (2) A parent sends the finished sum to each of its children.
# (3) The second tree is the first with the ranks reversed: the first tree's leaves are its interior ranks.
#
# lab:explain 80-99 Two trees on real arrays
# The heap layout puts ranks $0 \dots N/2 - 1$ inside the first tree and the rest at its leaves;
# reversing the order swaps the roles, so every rank works as an interior node in exactly one tree.


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rows = []
    for n in (8, 128, 1024):
        for exponent in range(10, 31, 2):
            size = 2**exponent
            for name, cost in (("ring", ring), ("binary tree", binary_tree), ("double binary tree", double_binary_tree)):
                rows.append((n, size / KIB, name, cost(n, size) * 1e6))
    return {"alpha-beta": dict(zip(("ranks", "kib", "algorithm", "us"), map(list, zip(*rows))))}


# lab:figure alpha-beta
# kind: line
# title: Trees win small messages on latency; the ring and the double tree share the large ones
# caption: All-reduce time against message size with 5 us per step and 50 GB/s links. At 128 ranks an 8 KiB
#   message takes 1,270 us by ring and 70 us by double binary tree; past about 5 MB the ring beats the plain tree.
# x: kib "message size (KiB)" ,d
# y: us "time (us)" .4g
# color: algorithm "algorithm"
# control: ranks "ranks N" d
# default: 128
# says: At {{ranks}} ranks a 16 KiB message takes {{us|algorithm=ring, kib=16}} us by ring and {{us|algorithm=double binary tree, kib=16}} us by double binary tree.
# x-scale: log
# y-scale: log

def main():
    rng = np.random.default_rng(0)
    data = [rng.standard_normal(64) for _ in range(16)]
    total = np.sum(data, axis=0)
    plain, plain_sent = tree_all_reduce(data, list(range(16)))
    double, double_sent = double_tree_all_reduce(data)
    assert all(np.allclose(plain[r], total, rtol=0, atol=1e-12) for r in range(16))
    assert all(np.allclose(double[r], total, rtol=0, atol=1e-12) for r in range(16))
    size = data[0].nbytes
    print(f"16 ranks: binary tree and double binary tree equal np.sum on every rank: True; most bytes a rank "
          f"sends: binary tree {plain_sent.max() / size:.1f} S, double tree {double_sent.max() / size:.1f} S, "
          f"ring {2 * 15 / 16:.3f} S")
    assert double_sent.max() == 2 * size and plain_sent.max() == 3 * size

    print(f"128 ranks ({2 * 127} ring steps, {2 * 7} tree steps), alpha 5 us, 50 GB/s:")
    print("  size       ring (us)   binary tree (us)   double tree (us)")
    for label, size in (("  8 KiB", 8 * KIB), ("  1 MiB", MIB), ("  1 GiB", GIB)):
        print(f"{label}   {ring(128, size) * 1e6:11,.1f}   {binary_tree(128, size) * 1e6:16,.1f}   "
              f"{double_binary_tree(128, size) * 1e6:16,.1f}")
    print(f"at 1 GiB: ring {ring(128, GIB) * 1e3:.1f} ms, double tree {double_binary_tree(128, GIB) * 1e3:.1f} ms, "
          f"binary tree {binary_tree(128, GIB) * 1e3:.1f} ms")
    for n in (8, 128, 1024):
        print(f"ring beats the binary tree above {crossover(n) / 1e6:.2f} MB at N = {n}")
        assert math.isclose(ring(n, crossover(n)), binary_tree(n, crossover(n)))
    dbt_crossover = (2 * 7 - 2 * 3) * ALPHA / ((2 - 2 * 7 / 8) / BW)
    print(f"at N = 8 the ring beats the double tree only above {dbt_crossover / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
