"""Lab 19 - Tensor-parallel MLP: column split, row split, one all-reduce per pass."""
# lab:goal See why a column split followed by a row split needs exactly one all-reduce per pass.
#
# lab:mental-model
# - Tensor parallelism (TP) over $t$ ranks shards the weights; every rank sees the same full activations `X`. Here $t$ = `TP` = 4.
# - Column split of `A` (the scheme of Megatron-LM, NVIDIA's training code): each rank owns whole
#   hidden units, so GELU runs locally.
# - Row split of `B`: each rank returns a partial sum of the output; one all-reduce adds them.
# - Backward mirrors it: the gradient of `X` is a partial sum too and needs one all-reduce.
# - A ring all-reduce sends $2(t-1)/t$ of the tensor per rank: $t-1$ steps pass $1/t$-sized chunks
#   to add them up (reduce-scatter), then $t-1$ steps pass the finished chunks on (all-gather).
#
# lab:checkpoints
# - Which dimension of `A` and of `B` does each rank's block keep whole, and what shapes result?
#   answer: Both blocks are (64, 64): `A_i` keeps all 64 input features and 64 of the 256 hidden
#   units (a column block); `B_i` keeps the matching 64 rows and all 64 outputs (a row block).
#   see: output "A shard (64, 64), B shard (64, 64)"
#   predict: number 3, within 0%
# - How many all-reduces does one MLP need per training step, and on which lines?
#   answer: Two: line 100 sums the partial outputs in forward (Megatron's `g`), line 108 sums the
#   partial input gradients in backward (Megatron's `f`); the weight gradients of line 107 stay local.
#   see: lines 100-108
# - How far off is the output when `A` is split by rows instead, and why is that not rounding?
#   answer: 191.4 on outputs up to 309.5: each rank applies GELU to a partial pre-activation, and
#   GELU of a sum is not the sum of GELUs.
#   see: output "row-split A (GELU before the sum), max error 191.4"
# - With $t$ = 8 instead of 4, how many bytes would each rank send to all-reduce the same 512-byte output?
#   answer: $2 \cdot 7/8 \cdot 512$ instead of 768: per-rank traffic creeps toward $2S$, it does not grow with $t$.
#   see: output "all-reduce 768"
# - Do the reduce-scatter and all-gather of sequence parallelism send more than the all-reduce they replace?
#   answer: No: 384 + 384 = 768 bytes, the same, since each half sends $(t-1)/t$ of the tensor.
#   see: output "RS 384 + AG 384"
# lab:traps
# - TP shards the batch, like data parallelism.
#   why: Every rank multiplies all 4 tokens (`X` is (4, 64) on every rank, line 98); only the
#   weights are split, as the printed shard shapes show.
# - Any way of cutting the two matrices works as long as the pieces are summed at the end.
#   why: The nonlinearity decides. A row split of `A` hands GELU a partial sum (lines 112-115) and
#   is off by 191.4; making it correct would need an extra all-reduce before GELU.
# - The all-reduce can run in the background, so TP across nodes costs little.
#   why: The next layer needs the summed output of line 100 before it can start, so every
#   all-reduce is on the critical path: the chain of steps that wait on each other, where any
#   added time adds to the step. Hence TP stays on NVLink, the fast GPU-to-GPU links of one node.
#
# lab:interview
# Megatron-style tensor parallelism splits an MLP's weights, not its tokens: $A$ of shape
# $(h, 4h)$ by columns and $B$ of shape $(4h, h)$ by rows, so each of $t$ ranks owns $4h/t$
# hidden units end to end and applies GELU locally.
#
# The output is $Y = \sum_i \mathrm{GELU}(XA_i)\,B_i$, so one all-reduce of a (tokens, $h$)
# tensor runs forward and one backward, each sending $2(t-1)/t$ of it per rank. Here $t = 4$
# matches one device to float64 rounding; a row split of $A$ is off by 191.
#
# Weights and optimizer state shrink by $t$, but every layer waits on its all-reduces, so TP
# stays inside a node. Sequence parallelism rewrites each all-reduce as a reduce-scatter plus an
# all-gather over tokens: same bytes, and LayerNorm and dropout activations shrink by $t$.
#
# lab:intuition
# - Picture each rank owning a quarter of the MLP's neurons, wired from input to output: no neuron
#   needs another rank's neuron, only the final sum of all their contributions.
# - Split freely until you meet a nonlinearity; the one sum must come after it, never before.
# - All-reduce traffic per rank stays below twice the tensor whatever $t$ is (1.5x at $t$ = 4,
#   1.75x at 8): TP's cost is link bandwidth and latency on every layer, not the number of ranks.

# lab:figure split
# kind: heatmap
# title: Each rank holds the same 64 hidden units in both matrices, as columns of A and rows of B
# caption: A (64 x 256) is drawn transposed, so both matrices share the hidden-unit axis; a cell is a
#   16 x 16 block, labelled with the shard that holds it. Rank 1 keeps A1 and B1, (64, 64) each:
#   hidden units 64-127 run end to end on one rank, so GELU is local and only the output is summed.
# x: block "block of A (inputs) or of B (outputs)"
# y: hidden "hidden units"
# color: rank "rank holding the block"
# label: shard "shard"

import numpy as np

H, FFN, TOKENS, TP = 64, 256, 4, 4
C = np.sqrt(2.0 / np.pi)


def gelu(x):
    return 0.5 * x * (1.0 + np.tanh(C * (x + 0.044715 * x**3)))


def gelu_grad(x):
    t = np.tanh(C * (x + 0.044715 * x**3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2) * C * (1.0 + 3 * 0.044715 * x**2)


# lab:begin forward
def all_reduce(parts):
    return sum(parts)  # (1)


def tp_forward(X, A_shards, B_shards):
    """Each rank: full X, one column block of A, one row block of B."""
    pre = [X @ A_i for A_i in A_shards]  # (2)
    partial = [gelu(p) @ B_i for p, B_i in zip(pre, B_shards)]  # (3)
    return all_reduce(partial), pre  # (4)


def tp_backward(dY, X, pre, A_shards, B_shards):
    """dY arrives replicated: Megatron's g is an all-reduce forward and the identity backward (the
    backward of an all-reduce-sum on its own is another all-reduce-sum)."""
    dpre = [(dY @ B_i.T) * gelu_grad(p) for B_i, p in zip(B_shards, pre)]
    dA = [X.T @ d for d in dpre]  # (5)
    dX = all_reduce([d @ A_i.T for d, A_i in zip(dpre, A_shards)])  # (6)
    return dX, dA


def wrong_split(X, A, B):
    """Row-split A: each rank sees a quarter of X's features and a partial pre-activation."""
    X_parts, A_rows = np.split(X, TP, axis=1), np.split(A, TP, axis=0)
    return all_reduce([gelu(x @ a) for x, a in zip(X_parts, A_rows)]) @ B
# lab:end forward
# lab:notes forward
# (1) Simulated: on GPUs this is one NCCL all-reduce, and every rank ends with the sum.
# (2) `A_i` is (64, 64): a quarter of the 256 hidden units, all 64 input features.
# (3) GELU is elementwise, so a column block needs nothing from other ranks; `B_i` is the matching row block.
# (4) The one forward all-reduce (Megatron's `g`): tokens x h values summed over ranks.
# (5) Weight gradients stay local and are already sharded like the weights.
# (6) The one backward all-reduce (Megatron's `f`): each rank's input gradient is partial.
#
# lab:explain 96-100 Forward: local GELU, then one sum
# The column block of `A` gives each rank complete pre-activations for its hidden units, so the
# nonlinearity is exact locally. The row block of `B` turns those units into a full-shape partial
# output, and summing the partials over ranks is the only communication of the forward pass.
#
# lab:explain 103-109 Backward: the mirror image
# The output gradient is identical on every rank, so nothing is exchanged to start. Weight
# gradients are local shards; the gradient of `X` sums contributions from every rank's hidden
# units, so it needs one all-reduce.
#
# lab:explain 112-115 The split that does not work
# Cutting `A` along its input rows leaves each rank with a partial pre-activation. A correct
# scheme would have to all-reduce before GELU; skipping that sync gives the error printed below.

# lab:begin sequence-parallel
def reduce_scatter(parts):
    """Sum the partial outputs, but leave rank r only token block r."""  # (1)
    blocks = [np.split(p, TP, axis=0) for p in parts]  # (2)
    return [sum(b[r] for b in blocks) for r in range(TP)]  # (3)


def all_gather(shards):
    """Every rank receives every token block again."""
    return np.concatenate(shards, axis=0)  # (4)
# Between the two, LayerNorm and dropout work on (TOKENS / TP, H) shards.
# lab:end sequence-parallel
# lab:notes sequence-parallel
# (1) In a ring, each rank sends $(t-1)/t$ of the tensor: half of what an all-reduce sends.
# (2) The split is along the token axis: the "sequence" of sequence parallelism.
# (3) Rank r keeps only token block r, so LayerNorm and dropout run on a $1/t$ shard: their
#   activations shrink by the TP degree $t$ at no extra traffic.
# (4) All-gather sends the other half; together they equal one all-reduce in result and bytes.
#
# lab:explain 140-149 The all-reduce, taken apart
# Sequence parallelism replaces the forward all-reduce with a reduce-scatter over tokens, runs
# LayerNorm and dropout on (tokens / $t$, h) shards, then all-gathers before the next
# column-parallel matmul. Backward swaps the two. Same bytes, less activation memory.


def shard(A, B):
    """Megatron's split: rank i gets column block i of A and row block i of B."""
    return np.split(A, TP, axis=1), np.split(B, TP, axis=0)


def figures():
    """split: the rank holding each 16 x 16 block of A (transposed) and of B, found by `shard`."""
    owner_A, owner_B = np.zeros((H, FFN), dtype=int), np.zeros((FFN, H), dtype=int)
    for rank, (a, b) in enumerate(zip(*shard(owner_A, owner_B))):
        a[...] = b[...] = rank  # np.split returns views, so this marks the full matrices
    rows = []
    for u in range(0, FFN, 16):  # the hidden units, the axis both splits share
        cells = [(f"A in {i}-{i + 15}", "A", owner_A[i:i + 16, u:u + 16]) for i in range(0, H, 16)]
        cells += [(f"B out {o}-{o + 15}", "B", owner_B[u:u + 16, o:o + 16]) for o in range(0, H, 16)]
        for name, matrix, owner in cells:
            (rank,) = np.unique(owner)  # one rank per block
            rows.append((f"{u}-{u + 15}", name, f"rank {rank}", f"{matrix}{rank}"))
    return {"split": dict(zip(("hidden", "block", "rank", "shard"), map(list, zip(*rows))))}


def main():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((H, FFN)), rng.standard_normal((FFN, H))
    X = rng.standard_normal((TOKENS, H))
    Y = gelu(X @ A) @ B
    A_shards, B_shards = shard(A, B)
    Y_tp, pre = tp_forward(X, A_shards, B_shards)
    err, bad = np.abs(Y_tp - Y).max(), np.abs(wrong_split(X, A, B) - Y).max()
    print(f"X {X.shape} on every rank; A shard {A_shards[0].shape}, B shard {B_shards[0].shape}")
    print(f"max |Y| {np.abs(Y).max():.1f}; column->row split equals one device"
          f" (max error < 1e-11): {'yes' if err < 1e-11 else 'no'}")
    print(f"row-split A (GELU before the sum), max error {bad:.1f}")
    assert err < 1e-11 and bad > 1.0
    dY = rng.standard_normal(Y.shape)
    dX, dA = tp_backward(dY, X, pre, A_shards, B_shards)
    dpre = (dY @ B.T) * gelu_grad(X @ A)
    dX_err = np.abs(dX - dpre @ A.T).max()
    dA_err = np.abs(np.concatenate(dA, axis=1) - X.T @ dpre).max()
    print(f"backward: dX and dA equal one device (max error < 1e-10):"
          f" {'yes' if max(dX_err, dA_err) < 1e-10 else 'no'}")
    assert dX_err < 1e-10 and dA_err < 1e-10

    partial = [gelu(X @ a) @ b for a, b in zip(A_shards, B_shards)]
    shards = reduce_scatter(partial)
    assert np.allclose(all_gather(shards), all_reduce(partial), rtol=0, atol=1e-11)
    S = TOKENS * H * 2  # bytes of the bf16 (tokens, h) output
    print(f"sequence parallel: rank 0 keeps {shards[0].shape} between RS and AG")
    print(f"per MLP 1 all-reduce forward + 1 backward; bytes sent per rank for S = {S}:"
          f" all-reduce {2 * (TP - 1) / TP * S:.0f}, RS {(TP - 1) / TP * S:.0f} + AG {(TP - 1) / TP * S:.0f}")


if __name__ == "__main__":
    main()
