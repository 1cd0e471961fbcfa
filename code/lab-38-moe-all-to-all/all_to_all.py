"""Lab 38 - MoE all-to-all: the bytes each GPU sends, and the receiver that sets the time.

Prices the dispatch all-to-all of a DeepSeek-V3-shaped MoE layer (hidden 7168, top-8 of 256
experts, 64 GPUs of 8 nodes with 4 experts each, 4096 tokens per GPU): bytes per GPU, the share
that leaves the node, what sending each token once per node saves, and how a skewed router makes
the most-loaded GPU, not the average, set the time. Routing runs on real arrays for every GPU.
"""
# lab:goal Estimate the bytes an MoE layer's all-to-all moves per GPU, how many cross nodes, and why imbalance, not volume, often sets its time.
#
# lab:mental-model
# - Expert parallelism places the experts on different GPUs; dispatch sends each token's hidden vector to the GPU of each of its top-$k$ experts, and combine returns the outputs: two all-to-alls forward, two backward.
# - Per GPU, dispatch sends $T k h b$ bytes times the share of copies that go to other GPUs, $1 - 1/\text{EP}$ for a uniform router.
# - With 8 GPUs per node, 7/8 of the copies leave the node and cross a 50 GB/s NIC; a copy to an expert on the GPU itself is not traffic at all.
# - An all-to-all finishes when its most-loaded receiver does, so the time scales with the maximum load over the mean.
#
# lab:checkpoints
# - Before you run it: how many megabytes does one GPU's dispatch send in bf16, and how long do its cross-node bytes take at 50 GB/s?
#   answer: 4096 tokens x 8 copies x 7168 x 2 bytes = 469.8 MB, of which 7/8, 411.0 MB, crosses nodes: 8.22 ms, or 4.11 ms if dispatch is in FP8.
#   see: output "dispatch per GPU"
#   predict: number 2, within 5%
# - Sending each token once per destination node instead of once per expert: how many remote nodes does a token need on average, and what does that save?
#   answer: 4.63 of the 7 other nodes, so 272.0 MB instead of 411.0 MB leaves the GPU; the receiving node's NVLink fans the token out to its experts.
#   see: output "once per node"
# - The router's popularity is skewed with sigma = 1. How much longer does the all-to-all take than a balanced one with the same volume?
#   answer: 3.72 times: the busiest GPU receives 3.72 times the mean load, and every GPU waits for it.
#   see: output "sigma 1.00"
# lab:traps
# - The all-to-all takes the mean load over the bandwidth.
#   why: It ends when the last receiver has its bytes: with sigma = 0.5 the busiest GPU gets 1.70 times the mean, and the whole layer waits 1.70 times as long.
# - Every copy of a token is network traffic.
#   why: Copies for experts on the sending GPU stay put (1/64 of them here, line 65 leaves them out), and copies for the same node cross NVLink, not the NIC; only 7/8 leave the node.
#
# lab:interview
# Per GPU, an MoE dispatch sends about $T k h b (1 - 1/\text{EP})$ bytes, and combine returns as many: two all-to-alls forward and two backward per layer.
# With DeepSeek-V3's shapes, 4096 tokens a GPU, top-8 of 256 experts on 64 GPUs and $h$ = 7168, that is 469.8 MB in bf16, 411.0 MB of it across nodes, 8.22 ms on a 50 GB/s NIC.
# DeepSeek-V3 cuts it by dispatching in FP8, by sending each token once per node and fanning out over NVLink, and by limiting each token to at most 4 nodes.
# The time is set by the most-loaded receiver, so a router skewed like popularity $\propto e^{\sigma z}$ costs 1.70 times at $\sigma$ = 0.5 and 3.72 times at $\sigma$ = 1, which is why load balancing matters as much as volume.
#
# lab:intuition
# - A postal sorting day ends when the busiest counter empties, not when the average one does.
# - Count copies, then take away those that stay home (own GPU) and those that only walk down the hall (own node).

from math import comb

import numpy as np

H, TOP_K, EXPERTS = 7168, 8, 256
GPUS, GPUS_PER_NODE = 64, 8
EXPERTS_PER_GPU = EXPERTS // GPUS
TOKENS = 4096  # per GPU
NIC = 50e9  # bytes/s, one 400 Gb/s NIC per GPU


# lab:begin dispatch
def route(n_tokens, rng, popularity=None):
    scores = rng.random((n_tokens, EXPERTS)) if popularity is None else rng.gumbel(size=(n_tokens, EXPERTS)) + np.log(popularity)
    return np.argpartition(-scores, TOP_K, axis=1)[:, :TOP_K]  # (1)


def dispatch(experts_by_gpu):
    """Bytes each GPU sends and receives, in bf16; copies for the sender's own experts stay put."""
    sent, received = np.zeros(GPUS), np.zeros(GPUS)
    for src, experts in enumerate(experts_by_gpu):
        dst = experts.ravel() // EXPERTS_PER_GPU  # (2)
        remote = dst[dst != src]  # (3)
        sent[src] += remote.size * H * 2
        np.add.at(received, remote, H * 2)
    return sent, received


def remote_nodes_per_token(experts, own_node):
    nodes = experts // (EXPERTS_PER_GPU * GPUS_PER_NODE)
    return np.mean([len(set(row.tolist()) - {own_node}) for row in nodes])  # (4)
# lab:end dispatch
# lab:notes dispatch
# (1) A token's top-8 experts; uniform scores model a balanced router, Gumbel noise on log-popularity a skewed one.
# (2) The GPU that owns each expert: 4 consecutive experts per GPU.
# (3) Copies for the sender's own experts are computed where they are: not traffic.
# (4) Distinct other nodes a token must reach if it is sent once per node and fanned out there.
#
# lab:explain 55-73 Dispatch, counted on real routing
# Every GPU routes its tokens, and each copy is charged to the link it must cross; the receiving
# side is counted too, because the all-to-all waits for the busiest receiver.


def skew(sigma):
    """Popularity of each expert, proportional to exp(sigma z), and the busiest GPU's load over the mean."""
    popularity = np.exp(sigma * np.random.default_rng(1).standard_normal(EXPERTS))
    popularity /= popularity.sum()
    per_gpu = popularity.reshape(GPUS, EXPERTS_PER_GPU).sum(axis=1)
    return popularity, per_gpu.max() / per_gpu.mean()


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    cross = TOKENS * TOP_K * H * 2 * (GPUS_PER_NODE - 1) / GPUS_PER_NODE
    rows = [(k, sigma, dtype, cross * k / TOP_K * width / 2 / NIC * skew(sigma)[1] * 1e3)
            for k in (2, 4, 8) for sigma in (0.0, 0.25, 0.5, 0.75, 1.0) for dtype, width in (("bf16", 2), ("FP8", 1))]
    return {"dispatch": dict(zip(("top_k", "sigma", "dtype", "ms"), map(list, zip(*rows))))}


# lab:figure dispatch
# kind: line
# title: The dispatch takes as long as its busiest receiver: skew multiplies the time, FP8 halves it
# caption: Cross-node dispatch time per MoE layer at 50 GB/s per GPU for DeepSeek-V3's shapes, against the
#   router's skew sigma. Balanced top-8 in bf16 takes 8.22 ms; sigma = 1 puts 3.72 times the mean load on one GPU.
# x: sigma "router skew sigma" .2f
# y: ms "dispatch time (ms)" .2f
# color: dtype "dispatch dtype"
# control: top_k "experts per token k" d
# default: 8
# says: With top-{{top_k}} routing a balanced dispatch takes {{ms|dtype=bf16, sigma=0}} ms in bf16; skew sigma = 1 makes it {{ms|dtype=bf16, sigma=1}} ms.

def main():
    rng = np.random.default_rng(0)
    experts_by_gpu = [route(512, rng) for _ in range(GPUS)]
    sent, received = dispatch(experts_by_gpu)
    copies = sum(e.size for e in experts_by_gpu)
    assert sent.sum() == received.sum() and copies == GPUS * 512 * TOP_K
    assert abs(1 - sent.sum() / (copies * H * 2) - 1 / GPUS) < 0.002, "a copy for the GPU's own experts is not sent"
    print(f"64 GPUs x 512 tokens routed: bytes sent equal bytes received: {sent.sum() == received.sum()}; "
          f"copies kept local {1 - sent.sum() / (copies * H * 2):.3f} (1/64 = {1 / 64:.3f})")

    per_gpu = TOKENS * TOP_K * H * 2
    cross = per_gpu * (GPUS_PER_NODE - 1) / GPUS_PER_NODE
    leaving = np.mean([np.mean(e.ravel() // EXPERTS_PER_GPU // GPUS_PER_NODE != g // GPUS_PER_NODE)
                       for g, e in enumerate(experts_by_gpu)])
    assert abs(leaving - cross / per_gpu) < 0.01, "the routed copies leave the node at the rate the formula says"
    print(f"dispatch per GPU: {TOKENS * TOP_K:,} copies, {per_gpu / 1e6:.1f} MB in bf16, {cross / 1e6:.1f} MB across "
          f"nodes: {cross / NIC * 1e3:.2f} ms at 50 GB/s ({cross / 2 / NIC * 1e3:.2f} ms in FP8)")
    exact = (GPUS // GPUS_PER_NODE - 1) * (1 - comb(EXPERTS - EXPERTS // 8, TOP_K) / comb(EXPERTS, TOP_K))
    sampled = remote_nodes_per_token(route(TOKENS, np.random.default_rng(2)), own_node=0)
    print(f"once per node: {exact:.2f} remote nodes a token ({sampled:.2f} in a routed sample), "
          f"{exact * TOKENS * H * 2 / 1e6:.1f} MB across nodes; at most 4 nodes a token caps it at "
          f"{4 * TOKENS * H * 2 / 1e6:.1f} MB")
    assert abs(sampled - exact) < 0.05
    for sigma in (0.5, 1.0):
        _, ratio = skew(sigma)
        print(f"sigma {sigma:.2f}: busiest GPU {ratio:.2f}x the mean load, so the all-to-all takes {ratio:.2f}x as long")
    assert round(skew(0.5)[1], 2) == 1.70 and round(skew(1.0)[1], 2) == 3.72


if __name__ == "__main__":
    main()
