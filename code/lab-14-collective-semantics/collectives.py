"""Lab 14 - Collective semantics.

Four simulated ranks, each holding one numpy array. Every collective is a pure function from the
list of per-rank inputs to the list of per-rank outputs, so its meaning can be checked directly.
"""
# lab:goal Pin down what each collective computes, by the shape and content each rank ends with.
#
# lab:mental-model
# - A collective maps N per-rank buffers to N per-rank buffers; the meaning is "who ends up with what".
# - Reduce-type collectives combine across ranks (a sum here; NCCL also offers max, min, product and average);
#   gather-type collectives only move and concatenate.
# - All-reduce is reduce-scatter (each rank sums one chunk) followed by all-gather (share the chunks).
# - All-to-all sends chunk j of rank i to rank j: a transpose of the (rank, chunk) grid.
#
# lab:checkpoints
# - Which collectives change the values, and which only move them?
#   answer: Reduce, all-reduce and reduce-scatter add across ranks; broadcast, all-gather and
#   all-to-all only copy elements to new places.
# - What does each rank hold after reduce-scatter, and how large is it?
#   answer: Rank r holds the sum over ranks of chunk r only: S/N elements, here 8 / 4 = 2.
# - Why is reduce-scatter the backward pass of all-gather?
#   answer: All-gather copies shard j into every rank's output; the adjoint of "copy to N places"
#   is "sum the N places back", which is the reduce-scatter. The lab checks
#   $\langle AG(x), y\rangle = \langle x, RS(y)\rangle$.
#
# lab:traps
# - "Broadcast = all-gather." Broadcast copies one root's whole buffer to everyone; all-gather
#   concatenates a different shard from every rank, so its output is N times its input.
# - All-reduce is not "everyone sends everything to everyone": the output has the input's size,
#   and the RS + AG decomposition moves only $2(N-1)/N$ of it per rank (lab 15).
#
# lab:interview
# The state is one buffer per rank, a list of N arrays. All-reduce takes N buffers of S elements
# and leaves the elementwise sum on every rank; reduce-scatter leaves only chunk r of that sum on
# rank r (S/N elements), and all-gather concatenates one shard from each rank so every output is
# N times the input. The axis that matters is the chunk axis: all-reduce equals reduce-scatter
# over chunks followed by all-gather of the chunks, and all-to-all is a transpose of the
# (rank, chunk) grid. In training, data parallelism all-reduces gradients, ZeRO/FSDP all-gathers
# weights and reduce-scatters gradients, and expert parallelism uses all-to-all. The trade-off is
# what stays resident: all-reduce keeps a full copy everywhere, while RS + AG lets each rank keep
# only its shard between the two halves.

import numpy as np

N, S = 4, 8  # 4 ranks, 8 elements per rank buffer


# lab:begin primitives
def broadcast(xs, root=0):
    return [xs[root].copy() for _ in xs]  # (1)


def reduce(xs, root=0):
    return [sum(xs) if r == root else None for r in range(len(xs))]


def all_reduce(xs):
    return [sum(xs) for _ in xs]  # (2)


def reduce_scatter(xs):
    chunks = [np.split(x, len(xs)) for x in xs]  # chunks[rank][chunk]
    return [sum(chunks[src][r] for src in range(len(xs))) for r in range(len(xs))]  # (3)


def all_gather(shards):
    return [np.concatenate(shards) for _ in shards]  # (4)


def all_to_all(xs):
    chunks = [np.split(x, len(xs)) for x in xs]
    return [np.concatenate([chunks[src][r] for src in range(len(xs))])
            for r in range(len(xs))]  # (5)
# lab:end primitives
# lab:notes primitives
# (1) Every rank gets the root's entire buffer; the other ranks' inputs are ignored.
# (2) Elementwise sum over ranks; every rank ends with the same S-element result.
# (3) Rank r receives chunk r from every rank and adds them: output size S/N.
# (4) No arithmetic: rank shards are concatenated in rank order, output size N times the input.
# (5) Rank r collects chunk r from each source rank: block (src, r) moves to (r, src).
#
# lab:explain 49-58 Root-based and reducing collectives
# `broadcast` and `reduce` have a root: one rank sends or receives everything. `all_reduce` is the
# rootless version of `reduce`: the sum $\sum_r x_r$ lands on every rank.
#
# lab:explain 61-63 Reduce-scatter: one summed chunk per rank
# Each buffer is cut into N chunks along its only axis. Rank r adds up chunk r of all N inputs, so
# the reduction work and the result are spread evenly: every element is summed exactly once.
#
# lab:explain 66-73 Moving without adding
# `all_gather` is the inverse layout change of the chunking above. `all_to_all` keeps sizes
# (S in, S out) but reroutes every chunk, which is how tokens reach their experts in an MoE layer.


def main():
    np.set_printoptions(linewidth=120)
    rng = np.random.default_rng(0)
    xs = [rng.integers(-9, 10, size=S).astype(float) for _ in range(N)]
    for r, x in enumerate(xs):
        print(f"rank {r} input  {x.astype(int)}")

    results = {
        "broadcast": broadcast(xs), "all_reduce": all_reduce(xs),
        "reduce_scatter": reduce_scatter(xs), "all_gather": all_gather(xs),
        "all_to_all": all_to_all(xs),
    }
    print("\ncollective       elements in -> out per rank   rank 0 output")
    for name, out in results.items():
        print(f"{name:15s}  {S:4d} -> {out[0].size:3d}                  {out[0].astype(int)}")
    print(f"reduce (root 0)  {S:4d} -> {S} on root, nothing elsewhere")

    rs_then_ag = all_gather(reduce_scatter(xs))
    assert all(np.array_equal(a, b) for a, b in zip(rs_then_ag, all_reduce(xs)))
    print("\nall_gather(reduce_scatter(x)) == all_reduce(x) on every rank: True")

    grid = np.stack(xs).reshape(N, N, S // N)  # (rank, chunk, element)
    a2a = np.stack(all_to_all(xs)).reshape(N, N, S // N)
    assert np.array_equal(a2a, grid.transpose(1, 0, 2))
    assert np.array_equal(all_to_all(all_to_all(xs)), xs)
    print("all_to_all == transpose of the (rank, chunk) grid; applied twice it is the identity")

    shards = [rng.standard_normal(S // N) for _ in range(N)]
    ys = [rng.standard_normal(S) for _ in range(N)]
    lhs = sum(a @ y for a, y in zip(all_gather(shards), ys))
    rhs = sum(s @ g for s, g in zip(shards, reduce_scatter(ys)))
    print(f"<all_gather(x), y> = {lhs:.9f}\n<x, reduce_scatter(y)> = {rhs:.9f}")
    assert abs(lhs - rhs) < 1e-12, "reduce-scatter is the adjoint (backward) of all-gather"

    bc = broadcast(xs)
    assert bc[0].size == S and results["all_gather"][0].size == N * S
    assert not np.array_equal(bc[1], xs[1]), "broadcast overwrites, it does not gather"


if __name__ == "__main__":
    main()
