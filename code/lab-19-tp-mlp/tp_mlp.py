"""Lab 19 - Tensor-parallel MLP: column split, row split, one all-reduce per pass."""
# lab:goal See why a column split followed by a row split needs exactly one all-reduce per pass.
#
# lab:mental-model
# - TP shards the weights; every rank sees the same full activations `X`.
# - Column split of `A`: each rank owns whole hidden units, so GELU runs locally.
# - Row split of `B`: each rank returns a partial sum of the output; one all-reduce adds them.
# - Backward mirrors it: the gradient of `X` is a partial sum too and needs one all-reduce.
#
# lab:checkpoints
# - The correct split matches the single-device output to rounding error.
#   answer: The maximum error is about 2e-13 on outputs up to about 310: float64 rounding only.
# - Splitting `A` by rows instead gives garbage.
#   answer: Each rank then holds a partial pre-activation, and GELU of a partial sum is not a sum of GELUs; the error is about 191.
# - Sequence parallelism does not add communication.
#   answer: A reduce-scatter plus an all-gather each send $(N-1)/N$ of the tensor per rank, together exactly one all-reduce's $2(N-1)/N$.
#
# lab:traps
# - "TP shards the batch": every rank processes all 4 tokens; only the weights are split.
# - The nonlinearity decides the split: a row split of the first matrix would need a sync before GELU.
# - The all-reduce sits on the critical path of every layer, which is why TP stays inside a node.
#
# lab:interview
# The state being split is the MLP's weights: `A` of shape (h, 4h) is cut along its output
# columns and `B` of shape (4h, h) along its input rows, so each of 4 ranks owns a quarter of the
# hidden units end to end. Activations `X` of shape (tokens, h) are replicated, GELU runs on local
# columns, and the only communication is one all-reduce of a (tokens, h) tensor forward and one
# backward. Cutting `A` the other way would need a sync before the nonlinearity. The trade-off is
# memory against communication on the critical path: weights and optimizer state shrink by the
# TP degree, but every layer blocks on two all-reduces per pass (attention and MLP), so TP stays
# within NVLink. Sequence parallelism rewrites each all-reduce as reduce-scatter plus all-gather
# over the token axis, the same bytes, and shards the norm and dropout activations in between.

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
    """dY arrives replicated (the backward of an all-reduce is the identity)."""
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
# lab:explain 54-58 Forward: local GELU, then one sum
# The column block of `A` gives each rank complete pre-activations for its hidden units, so the
# nonlinearity is exact locally. The row block of `B` turns those units into a full-shape partial
# output, and summing the partials over ranks is the only communication of the forward pass.
#
# lab:explain 61-66 Backward: the mirror image
# The output gradient is identical on every rank, so nothing is exchanged to start. Weight
# gradients are local shards; the gradient of `X` sums contributions from every rank's hidden
# units, so it needs one all-reduce.
#
# lab:explain 69-72 The split that does not work
# Cutting `A` along its input rows leaves each rank with a partial pre-activation. A correct
# scheme would have to all-reduce before GELU; skipping that sync gives the error printed below.

# lab:begin sequence-parallel
def reduce_scatter(parts):
    """Sum the partial outputs, but leave rank r only token block r."""  # (1)
    blocks = [np.split(p, TP, axis=0) for p in parts]  # (2)
    return [sum(b[r] for b in blocks) for r in range(TP)]


def all_gather(shards):
    """Every rank receives every token block again."""
    return np.concatenate(shards, axis=0)  # (3)
# Between the two, LayerNorm and dropout work on (TOKENS / TP, H) shards.  (4)
# lab:end sequence-parallel
# lab:notes sequence-parallel
# (1) Each rank sends $(N-1)/N$ of the tensor, half of what an all-reduce sends.
# (2) The split is along the token axis: the "sequence" of sequence parallelism.
# (3) All-gather sends the other half; together they equal one all-reduce in result and bytes.
# (4) The gain: those activations shrink by the TP degree at no extra traffic.
#
# lab:explain 97-106 The all-reduce, taken apart
# Sequence parallelism replaces the forward all-reduce with a reduce-scatter over tokens, runs
# LayerNorm and dropout on (tokens / TP, h) shards, then all-gathers before the next
# column-parallel matmul. Backward swaps the two. Same bytes, less activation memory.


def main():
    rng = np.random.default_rng(0)
    A, B = rng.standard_normal((H, FFN)), rng.standard_normal((FFN, H))
    X = rng.standard_normal((TOKENS, H))
    Y = gelu(X @ A) @ B
    A_shards, B_shards = np.split(A, TP, axis=1), np.split(B, TP, axis=0)
    Y_tp, pre = tp_forward(X, A_shards, B_shards)
    err, bad = np.abs(Y_tp - Y).max(), np.abs(wrong_split(X, A, B) - Y).max()
    print(f"X {X.shape} on every rank; A shard {A_shards[0].shape}, B shard {B_shards[0].shape}")
    print(f"max |Y| {np.abs(Y).max():.1f}; column->row split, max error {err:.0e}")
    print(f"row-split A (GELU before the sum), max error {bad:.1f}")
    assert err < 1e-11 and bad > 1.0
    dY = rng.standard_normal(Y.shape)
    dX, dA = tp_backward(dY, X, pre, A_shards, B_shards)
    dpre = (dY @ B.T) * gelu_grad(X @ A)
    dX_err = np.abs(dX - dpre @ A.T).max()
    dA_err = np.abs(np.concatenate(dA, axis=1) - X.T @ dpre).max()
    print(f"backward: dX error {dX_err:.0e}, dA error {dA_err:.0e}")
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
