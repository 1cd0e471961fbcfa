"""Lab 14 - Collective semantics.

Four simulated ranks, each holding one numpy array. Every collective is a pure function from the
list of per-rank inputs to the list of per-rank outputs, so its meaning can be checked directly.
"""
# lab:goal Pin down what each collective computes, by the shape and content each rank ends with.
#
# lab:mental-model
# - A rank is one process (usually one GPU) of the job; a collective is a call that all N ranks
#   make together and that maps their N buffers to N new buffers.
# - Reduce-type collectives combine across ranks (a sum here; NVIDIA's NCCL library also offers
#   max, min, product and average); gather-type collectives only move and concatenate.
# - All-reduce is reduce-scatter (each rank sums one chunk) followed by all-gather (share the chunks).
# - All-to-all sends chunk j of rank i to rank j: a transpose of the (rank, chunk) grid.
# - The adjoint of a linear map $A$ is the map $A^\top$ with $\langle Ax, y\rangle = \langle x,
#   A^\top y\rangle$ for all x and y. Backpropagation multiplies an output gradient by the adjoint,
#   so the backward pass of a collective is its adjoint.
#
# lab:checkpoints
# - How many elements does each rank hold after `reduce_scatter`, and what is their value on rank 0?
#   answer: S/N = 8/4 = 2 elements: chunk 0 summed over the four ranks, [2 17], which are also the
#   first two entries of the all-reduce result.
#   see: output "reduce_scatter      8 ->   2"
#   predict: number 2, within 0%
# - Which line would you change to turn `all_to_all` into the identity, and what does the output
#   of rank 0 become?
#   answer: Line 112: collecting `chunks[r][src]` instead of `chunks[src][r]` keeps each rank's own
#   chunks, so rank 0 would print its own input [7 3 0 -4 -4 -9 -8 -9]. The real all-to-all gives
#   rank 0 chunk 0 of every rank: [7 3 -6 6 3 1 -2 7].
#   see: line 112
# - Which three collectives change values, and which three only move them?
#   answer: Reduce, all-reduce and reduce-scatter add across ranks
#   (the `sum` on lines 94, 98 and 103); broadcast, all-gather and all-to-all only copy elements.
#   see: lines 89-113
# - All-gather copies shard j to N places. What must its backward pass do with the N gradients
#   that arrive for those copies, and which collective is that?
#   answer: Add them, since a value used in N places gets the sum of their gradients; summing chunk
#   j over ranks onto rank j is reduce-scatter. The two inner products printed are equal.
#   see: output "<all_gather(x), y>"
# lab:traps
# - "Broadcast = all-gather."
#   why: Both end with the same data everywhere, but broadcast copies one root's whole buffer and
#   ignores the other ranks' inputs (line 90), while all-gather concatenates a different shard from
#   every rank, so its output is N times its input: 8 -> 32 in the output table.
# - All-reduce is "everyone sends everything to everyone".
#   why: The result has the input's size (8 -> 8), and the reduce-scatter + all-gather route
#   checked on line 172 moves only $2(N-1)/N$ of the buffer per rank (lab 15).
#
# lab:interview
# A collective is a call all N ranks make together; the state is one buffer per rank. All-reduce
# leaves the elementwise sum of N buffers of S elements on every rank; reduce-scatter leaves only
# chunk r of that sum on rank r (S/N elements); all-gather concatenates one shard per rank (N
# times the input).
#
# All-reduce equals reduce-scatter followed by all-gather, and all-to-all is a transpose of the
# (rank, chunk) grid. Reduce-scatter is the adjoint of all-gather, $\langle AG(x), y\rangle =
# \langle x, RS(y)\rangle$, so one is the other's backward pass.
#
# The trade-off is what stays resident: all-reduce keeps a full copy everywhere, while sharded
# training (ZeRO/FSDP, lab 17) keeps only a shard between a reduce-scatter and the next all-gather.
#
# lab:intuition
# - Picture a 4 x 4 table, row = source rank, column = chunk. Reduce-scatter sums column j onto
#   rank j, all-gather then hands every rank all N column sums, and all-to-all transposes the table.
# - Count elements before reading code: S -> S/N means reduce-scatter, S/N -> S all-gather,
#   S -> S with every rank equal all-reduce (or broadcast, if no arithmetic happened).
# - "Copy forward, sum backward": any op that fans a value out to N places has a backward that
#   adds N gradients, which is why sharded training pairs all-gather with reduce-scatter.

# lab:figure layouts
# kind: heatmap
# title: Reducing collectives add a chunk over all ranks; the others only copy chunks to new places
# caption: Each cell is one chunk (2 of the 8 elements), coloured by its chunk number and labelled with
#   the rank it comes from (Σ: the sum over all 4 ranks). All-to-all gives rank r chunk r of every rank,
#   a transpose; reduce-scatter leaves one summed chunk per rank, all-gather 16 chunks, every input.
# x: slot "chunk position in the rank's output" d
# y: rank "rank" d
# color: chunk "chunk"
# label: source "from rank (Σ: sum of all)"
# control: collective "collective"
# default: all_to_all
# says: After {{collective}} the 4 ranks hold {{rows:slot}} chunks in all, of which {{rows:slot|source=Σ}} are sums over every rank.
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
# lab:explain 89-98 Root-based and reducing collectives
# `broadcast` and `reduce` have a root: one rank sends or receives everything. `all_reduce` is the
# rootless version of `reduce`: the sum $\sum_r x_r$ lands on every rank.
#
# lab:explain 101-103 Reduce-scatter: one summed chunk per rank
# Each buffer is cut into N chunks along its only axis. Rank r adds up chunk r of all N inputs, so
# the reduction work and the result are spread evenly: every element is summed exactly once.
#
# lab:explain 106-113 Moving without adding
# `all_gather` is the inverse layout change of the chunking above. `all_to_all` keeps sizes
# (S in, S out) but reroutes every chunk, which is how tokens reach their experts in a
# mixture-of-experts (MoE) layer whose experts are spread over the ranks (chapter 5).


def figures():
    """The data of the figure declared above, from the lab's own collectives."""
    # layouts: the origin of every chunk each rank ends with. The inputs are tagged: every element of
    # chunk c of rank r is the bit 2**(N*r + c), so a sum keeps one bit per term it added.
    tagged = [np.repeat([2.0 ** (N * r + c) for c in range(N)], S // N) for r in range(N)]
    outputs = {"input": tagged, "broadcast": broadcast(tagged), "reduce": reduce(tagged),
               "all_reduce": all_reduce(tagged), "reduce_scatter": reduce_scatter(tagged),
               "all_gather": all_gather(tagged), "all_to_all": all_to_all(tagged)}
    rows = []
    for name, out in outputs.items():
        for rank, buf in enumerate(out):
            for slot, tag in enumerate([] if buf is None else buf[:: S // N]):  # one element per chunk
                terms = [(k // N, k % N) for k in range(N * N) if int(tag) >> k & 1]  # (rank, chunk)
                source = f"r{terms[0][0]}" if len(terms) == 1 else "Σ"  # one rank's chunk, or a sum
                rows.append((name, slot, rank, source, f"chunk {terms[0][1]}"))
    return {"layouts": dict(zip(("collective", "slot", "rank", "source", "chunk"), map(list, zip(*rows))))}


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

    shards = [rng.standard_normal(S // N) for _ in range(N)]  # x: one shard per rank
    ys = [rng.standard_normal(S) for _ in range(N)]  # y: one full-size gradient per rank
    lhs = sum(a @ y for a, y in zip(all_gather(shards), ys))
    rhs = sum(s @ g for s, g in zip(shards, reduce_scatter(ys)))
    assert abs(lhs - rhs) < 1e-12, "reduce-scatter is the adjoint (backward) of all-gather"
    print(f"<all_gather(x), y> = {lhs:.6f} = <x, reduce_scatter(y)> (difference < 1e-12)")

    bc = broadcast(xs)
    assert bc[0].size == S and results["all_gather"][0].size == N * S
    assert not np.array_equal(bc[1], xs[1]), "broadcast overwrites, it does not gather"


if __name__ == "__main__":
    main()
