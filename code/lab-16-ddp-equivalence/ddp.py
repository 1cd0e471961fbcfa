"""Lab 16 - DDP equivalence.

Data parallelism on a linear model with a mean-squared-error loss: four replicas each compute
the gradient of their own shard of the batch, an all-reduce averages the gradients, and every
replica takes the same step. The result is compared with one process training on the whole batch.
"""
# lab:goal Show that averaging per-shard gradients reproduces the full-batch gradient, and when it does not.
#
# lab:mental-model
# - Every replica holds the full model, gradients and optimizer state; only the batch is split.
# - The loss is a mean over examples, so the full-batch gradient is the average of equal-shard gradients.
# - After the all-reduce every replica has the same gradient, takes the same step and stays in sync.
#
# lab:checkpoints
# - Why divide the summed gradient by the number of ranks?
#   answer: Each shard gradient is already a mean over B/N examples; the mean of N such means
#   equals the mean over all B examples only when the shards are equal in size.
# - What breaks with shards of 10, 14, 20 and 20 examples?
#   answer: The plain average weights each shard equally, so each of rank 0's 10 examples counts
#   twice as much as one in a 20-example shard; the error is about 0.37 here. Weighting each
#   shard gradient by its size fixes it.
# - Does a 4-way DP run use less memory per GPU for model state?
#   answer: No: each rank keeps all 16 bytes per parameter; only its share of the activations
#   shrinks, because it processes B/N examples.
#
# lab:traps
# - "DP reduces the memory per GPU." Parameters, gradients and optimizer state are replicated in
#   full on every rank; sharding them is what ZeRO/FSDP add (lab 17).
# - "Averaging gradients is always exact." It is exact for equal shards of a mean loss; with an
#   uneven last batch or a sum loss the scale changes and must be corrected.
#
# lab:interview
# The state is a weight vector of shape (D,) replicated on every rank, and the batch of shape
# (B, D) is split along the batch axis into N shards of B/N rows. Each rank computes the gradient
# of its shard's mean loss; an all-reduce sums the N gradients and dividing by N gives exactly the
# full-batch gradient, so N replicas with batch B/N train like one process with batch B. PyTorch
# DDP groups gradients into buckets (25 MiB by default) and starts a bucket's all-reduce once all
# its gradients are ready, overlapping communication with the rest of backward. The trade-off:
# DP scales throughput and keeps the optimizer math unchanged, but it replicates the full model
# state on every GPU and a larger global batch may need the learning rate retuned (Goyal et al.).

import numpy as np

N, B, D = 4, 64, 16  # ranks, global batch, features


# lab:begin ddp
def grad_mse(w, x, y):
    return 2.0 * x.T @ (x @ w - y) / len(y)  # (1)


def all_reduce_mean(grads):
    return sum(grads) / len(grads)  # (2)


def ddp_step(replicas, shards, lr):
    grads = [grad_mse(w, x, y) for w, (x, y) in zip(replicas, shards)]  # (3)
    g = all_reduce_mean(grads)
    return [w - lr * g for w in replicas]  # (4)


def buckets(param_bytes, cap=25 * 2**20):
    out, cur = [], []
    for name, nbytes in reversed(param_bytes):  # (5)
        if cur and sum(b for _, b in cur) + nbytes > cap:
            out.append(cur)
            cur = []
        cur.append((name, nbytes))
    return out + [cur]  # (6)
# lab:end ddp
# lab:notes ddp
# (1) Gradient of the mean squared error over this rank's rows only: a mean over its shard.
# (2) All-reduce (sum) followed by division by N: the mean of the shard gradients.
# (3) Each rank runs forward and backward on its own shard with its own full copy of `w`.
# (4) Identical gradient and identical step on every rank: replicas never drift apart.
# (5) Gradients become ready in roughly reverse layer order during backward, so buckets are filled from the last layer.
# (6) A simplified version of DDP's bucketing; PyTorch also makes its first bucket smaller.
#
# lab:explain 48-59 One data-parallel step
# The model is linear regression, so the gradient is written out by hand. `ddp_step` is the whole
# algorithm: local gradient, all-reduce mean, same update everywhere.
#
# lab:explain 62-69 Gradient buckets
# Reducing every tensor separately pays the per-message latency many times; one all-reduce at the
# end of backward cannot overlap. DDP's middle ground: fill a bucket up to `bucket_cap_mb` (25 MiB
# by default) and launch its all-reduce while backward continues on earlier layers.


def main():
    rng = np.random.default_rng(0)
    w_true = rng.standard_normal(D)
    x = rng.standard_normal((B, D))
    y = x @ w_true + 0.1 * rng.standard_normal(B)
    w0 = np.zeros(D)

    shards = [(x[i::N], y[i::N]) for i in range(N)]
    g_full = grad_mse(w0, x, y)
    g_ddp = all_reduce_mean([grad_mse(w0, xs, ys) for xs, ys in shards])
    print(f"equal shards {[len(s[1]) for s in shards]}: "
          f"|g_ddp - g_full| < 1e-12: {np.abs(g_ddp - g_full).max() < 1e-12}")
    assert np.allclose(g_ddp, g_full, rtol=0, atol=1e-12)

    cuts = np.cumsum([10, 14, 20])
    uneven = list(zip(np.split(x, cuts), np.split(y, cuts)))
    g_plain = all_reduce_mean([grad_mse(w0, xs, ys) for xs, ys in uneven])
    g_weighted = sum(len(ys) * grad_mse(w0, xs, ys) for xs, ys in uneven) / B
    print(f"uneven shards {[len(s[1]) for s in uneven]}: plain mean error "
          f"{np.abs(g_plain - g_full).max():.2f}, size-weighted error < 1e-12: "
          f"{np.abs(g_weighted - g_full).max() < 1e-12}")
    assert np.abs(g_plain - g_full).max() > 1e-3 and np.allclose(g_weighted, g_full, atol=1e-12)

    replicas, w_single = [w0.copy() for _ in range(N)], w0.copy()
    for _ in range(50):
        replicas = ddp_step(replicas, shards, lr=0.05)
        w_single = w_single - 0.05 * grad_mse(w_single, x, y)
    drift = max(np.abs(r - replicas[0]).max() for r in replicas)
    print(f"50 SGD steps: max |w_ddp - w_single| < 1e-12: "
          f"{np.abs(replicas[0] - w_single).max() < 1e-12}, replica drift = {drift:g}")
    assert np.allclose(replicas[0], w_single, rtol=0, atol=1e-12) and drift == 0.0

    h, layers = 1024, 4  # a small transformer stack, fp32 gradients
    params = [(f"L{i}.{n}", k * h * h * 4) for i in range(layers)
              for n, k in (("qkv", 3), ("proj", 1), ("fc1", 4), ("fc2", 4))]
    bks = buckets(params)
    sizes = [sum(b for _, b in bk) / 2**20 for bk in bks]
    print(f"{len(params)} gradient tensors, {sum(sizes):.0f} MiB -> {len(bks)} buckets (MiB): "
          f"{[round(m) for m in sizes]}")
    print("first bucket (reduced first):", [n for n, _ in bks[0]])
    assert max(sizes) <= 25 and abs(sum(sizes) - 192) < 1e-9
    psi = sum(b for _, b in params) / 4
    print(f"model state per GPU with Adam (16 B/param): N=1 {16 * psi / 1e9:.2f} GB, "
          f"N={N} {16 * psi / 1e9:.2f} GB (replicated)")


if __name__ == "__main__":
    main()
