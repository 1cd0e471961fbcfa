"""Lab 16 - DDP equivalence.

Data parallelism on a linear model with a mean-squared-error loss: four replicas each compute
the gradient of their own shard of the batch, an all-reduce averages the gradients, and every
replica takes the same step. The result is compared with one process training on the whole batch.
"""
# lab:goal Show that averaging per-shard gradients reproduces the full-batch gradient, and when it does not.
#
# lab:mental-model
# - Data parallelism (DP; PyTorch's version is DistributedDataParallel, DDP) gives every rank a full
#   replica of the model, gradients and optimizer state; only the batch is split into shards.
# - The loss is a mean over examples, so the full-batch gradient is the average of equal-shard gradients.
# - After the all-reduce every replica has the same gradient, takes the same step and stays in sync.
# - DDP groups gradients into buckets and starts each bucket's all-reduce during the backward pass.
#
# lab:checkpoints
# - If `all_reduce_mean` (line 96) returned the sum without dividing by N, what step would each
#   replica take?
#   answer: Four times the full-batch step: each shard gradient is already a mean over its 16
#   examples, so the sum of four of them is 4 x the full-batch mean, as if the learning rate were 4x.
#   see: line 96
# - With shards of 10, 14, 20 and 20 examples, how far is the plain mean from the full-batch
#   gradient, and what weighting repairs it?
#   answer: 0.37 in the largest component; weighting each shard gradient by its size (and dividing
#   by B = 64) gives back the full-batch gradient to rounding error.
#   see: output "uneven shards"
#   predict: number 5, within 20%
# - The 16 gradient tensors add up to 192 MiB. How many buckets does PyTorch's rule make, and why is
#   the largest one bigger than the 25 MiB cap?
#   answer: 7 buckets of 16, 32, 32, 32, 32, 32 and 16 MiB. A tensor joins the bucket before the
#   size is checked (lines 108-110), so a bucket at 16 MiB that receives a 16 MiB tensor closes at 32.
#   see: output "buckets (MiB)"
# - Why does bucket 0 hold the single tensor L3.fc2?
#   answer: The first bucket's limit is 1 MiB, and L3.fc2, the first gradient to be ready (16 MiB),
#   reaches it alone; later buckets use the 25 MiB limit.
#   see: output "bucket 0 (reduced first)"
# lab:traps
# - "DP reduces the memory per GPU."
#   why: Every rank keeps the full model, gradients and optimizer state (line 102 updates a full `w`
#   on each replica): the last line prints 0.81 GB at N = 1 and at N = 4. Only the activations
#   shrink, as each rank processes B/N examples; sharding the state is what ZeRO/FSDP add (lab 17).
# - "Averaging gradients is always exact."
#   why: It is exact for equal shards of a mean loss. With shards of 10 to 20 examples the plain
#   mean is off by 0.37; the shard gradients must be weighted by their sizes.
# - "DP trains exactly like one process with the big batch, whatever the model."
#   why: The identity needs every example's loss to depend only on that example. BatchNorm
#   normalises with the mean and variance of the local B/N examples, so its outputs differ from the
#   full batch unless SyncBatchNorm computes the statistics over all ranks.
# - "`bucket_cap_mb` is a hard maximum."
#   why: PyTorch closes a bucket once its size reaches the limit, after adding the tensor that got
#   it there (lines 108-110), so buckets overshoot: 32 MiB here, and a single tensor larger than the
#   cap makes its bucket larger still.
#
# lab:interview
# Data parallelism replicates the weights, shape (D,), on N ranks and splits the (B, D) batch into
# N shards of B/N rows. An all-reduce averages the N shard gradients, which equals the full-batch
# gradient, so N ranks at B/N train like one process at batch B when examples are independent.
#
# PyTorch DDP packs gradients into buckets (25 MiB cap, first bucket 1 MiB), launches them in
# index order during backward and overlaps communication with compute.
#
# The trade-off: throughput scales, but every GPU holds the full state, and a larger global batch
# may need the learning rate retuned (Goyal et al.).
#
# lab:intuition
# - The mean of N class averages equals the school average only if the classes are the same size;
#   with uneven classes you weight each average by its headcount, exactly as line 174 does.
# - A bucket is a bus that leaves when it is full: the passenger who fills it still boards, so a bus
#   can leave over capacity, and buses leave in number order even if a later one fills first.
# - Read a DP config as one batch: 8 ranks x 16 examples behaves like one process with all 8 x 16 (without
#   BatchNorm), so the learning rate belongs to the global batch, not to the per-rank batch.

# lab:figure buckets
# kind: bar
# title: A bucket closes only after the gradient that reaches its limit, so buckets overshoot the cap
# caption: The 16 gradients of a 4-layer stack (192 MiB), packed in the order backward produces them. At
#   the default 25 MiB cap bucket 0 holds L3.fc2 alone (1 MiB limit) and the others reach 32 MiB. A larger
#   cap means fewer all-reduces (16 at 1 MiB, 3 at 100 MiB), each waiting for more of the backward pass.
# x: bucket "bucket, in launch order" d
# y: mib "gradient MiB" .0f
# color: tensor "gradient tensor"
# control: cap "bucket_cap_mb" d
# default: 25
# says: With bucket_cap_mb = {{cap}}, backward launches {{count:bucket}} all-reduces; the first carries {{sum:mib|bucket=0}} MiB.
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


def buckets(ready, first_cap=2**20, cap=25 * 2**20):
    out, cur, size, limit = [], [], 0, first_cap
    for name, nbytes in ready:  # (5)
        cur.append(name)
        size += nbytes
        if size >= limit:  # (6)
            out.append((cur, size))
            cur, size, limit = [], 0, cap
    return out + ([(cur, size)] if cur else [])
# lab:end ddp
# lab:notes ddp
# (1) Gradient of the mean squared error over this rank's rows only: a mean over its shard.
# (2) All-reduce (sum) followed by division by N: the mean of the shard gradients.
# (3) Each rank runs forward and backward on its own shard with its own full copy of `w`.
# (4) Identical gradient and identical step on every rank: replicas never drift apart.
# (5) `ready` lists gradients in the order backward produces them: from the last layer back.
# (6) PyTorch's rule (`compute_bucket_assignment_by_size`): add the tensor, then close the bucket
#   once it has reached its limit, 1 MiB for the first bucket and `bucket_cap_mb` for the others.
#
# lab:explain 91-102 One data-parallel step
# The model is linear regression, so the gradient is written out by hand. `ddp_step` is the whole
# algorithm: local gradient, all-reduce mean, same update everywhere.
#
# lab:explain 105-113 Gradient buckets
# Reducing every tensor separately pays the per-message latency many times; one all-reduce at the
# end of backward cannot overlap with it. DDP's middle ground packs gradients, in the order they
# become ready, into buckets: 1 MiB for the first, `bucket_cap_mb` (25 MiB by default) for the
# rest, each closed after the tensor that reaches the limit. After the first iteration DDP (by
# default) rebuilds the buckets in the order gradients actually arrived, which `ready` models. A
# bucket's all-reduce starts when all its gradients are ready and every lower-numbered bucket has
# started, while backward continues on earlier layers. The gradients bucketed below come from
# `transformer_gradients()`: the fp32 weight gradients of four layers with h = 1024 (QKV, output
# projection and the two MLP matrices; biases and norms left out), listed in parameter order.


def transformer_gradients(h=1024, layers=4):
    """(name, bytes) of the fp32 gradients of a small transformer stack, in parameter order."""
    return [(f"L{i}.{n}", k * h * h * 4) for i in range(layers)
            for n, k in (("qkv", 3), ("proj", 1), ("fc1", 4), ("fc2", 4))]


def figures():
    """The data of the figure declared above, from the lab's own bucketing rule."""
    # buckets: every gradient tensor in its bucket, for several values of bucket_cap_mb
    rows = []
    params = transformer_gradients()
    for cap in (1, 5, 25, 50, 100):
        for index, (names, _) in enumerate(buckets(list(reversed(params)), cap=cap * 2**20)):
            rows += [(cap, index, dict(params)[name] / 2**20, name.split(".")[1]) for name in names]
    return {"buckets": dict(zip(("cap", "bucket", "mib", "tensor"), map(list, zip(*rows))))}


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

    params = transformer_gradients()
    ready = list(reversed(params))  # backward produces the last layer's gradients first
    bks = buckets(ready)
    sizes = [size / 2**20 for _, size in bks]
    print(f"{len(params)} gradient tensors, {sum(sizes):.0f} MiB -> {len(bks)} buckets (MiB): "
          f"{[round(m) for m in sizes]}")
    print("bucket 0 (reduced first):", bks[0][0], "| all-reduces start in bucket order 0, 1, 2, ...")
    limits, last = [1] + [25] * (len(bks) - 1), [dict(params)[names[-1]] / 2**20 for names, _ in bks]
    assert [n for names, _ in bks for n in names] == [n for n, _ in reversed(params)], "backward order: last layer first"
    assert all(m >= lim for m, lim in zip(sizes[:-1], limits)), "each bucket reaches its limit"
    assert all(m - t < lim for m, t, lim in zip(sizes, last, limits)), "and closes right after"
    psi = sum(b for _, b in params) / 4
    print(f"model state per GPU with Adam (16 B/param): N=1 {16 * psi / 1e9:.2f} GB, "
          f"N={N} {16 * psi / 1e9:.2f} GB (replicated)")


if __name__ == "__main__":
    main()
