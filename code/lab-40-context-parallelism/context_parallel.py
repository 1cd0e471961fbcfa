"""Lab 40 - Context parallelism: Ulysses all-to-all against ring attention.

Splits one attention layer's sequence over P GPUs both ways on real arrays and checks each against
unsharded attention: DeepSpeed-Ulysses swaps the sequence split for a head split with all-to-alls,
ring attention passes K and V blocks around a ring. It then prices the bytes each GPU sends for
Llama-3-70B's shapes (h = 8192, 64 query and 8 KV heads of 128) at 128k tokens over 8 GPUs.
"""
# lab:goal Compare the two ways to split attention over a sequence by the bytes each GPU sends, and see the limit each has.
#
# lab:mental-model
# - Both start with each of $P$ GPUs holding $N/P$ consecutive tokens of Q, K and V, and both give exactly the unsplit attention.
# - Ulysses re-splits by heads: an all-to-all gives each GPU all $N$ tokens of $1/P$ of the heads, it computes ordinary attention, and a second all-to-all returns the output. $P$ cannot exceed the number of KV heads.
# - Ring attention keeps the queries where they are and passes K and V blocks around a ring, $P - 1$ times, merging partial results with the online softmax; it has no head limit, and each transfer can hide behind the previous block's compute.
# - Ulysses moves Q, K, V and O, about $2(h + h_{kv}) N/P$ elements a GPU; the ring moves only K and V, $2(P-1)(N/P) h_{kv}$, so GQA's few KV heads favour the ring.
#
# lab:checkpoints
# - Before you run it: with GQA's 8 KV heads, how many megabytes does each of 8 GPUs send for one layer at 128k tokens, by Ulysses and by ring?
#   answer: 528.5 MB by Ulysses (Q and O are full width, $h$ = 8192) and 469.8 MB by ring (7 passes of a 16,384-token K and V block, 8 KV heads of 128 channels each).
#   see: output "GQA, 8 KV heads"
#   predict: number 2, within 10%
# - Without GQA (64 KV heads), which is cheaper, and by how much?
#   answer: Ulysses, 939.5 MB against 3,758.1 MB: with as many KV heads as query heads, passing K and V seven times costs four times Ulysses' all-to-alls.
#   see: output "MHA, 64 KV heads"
# - Can one ring step's transfer hide behind its compute?
#   answer: On NVLink easily: a step computes 8.80 TFLOP (17.8 ms at half the peak) while its 67.1 MB K and V block takes 0.15 ms; even on a 50 GB/s NIC, 1.34 ms.
#   see: output "one ring step"
# lab:traps
# - Ulysses is always cheaper than ring attention.
#   why: Ulysses moves queries and outputs at full width; with GQA's 8 KV heads the ring's K and V passes cost less (469.8 against 528.5 MB here), and the ring's transfers overlap compute.
# - Ulysses can use as many GPUs as the sequence allows.
#   why: Each GPU must hold whole KV heads after the all-to-all, so the degree is at most the number of KV heads, 8 for Llama-3-70B (line 61 refuses more); beyond that, ring attention or a hybrid.
#
# lab:interview
# Context parallelism splits a long sequence's attention over $P$ GPUs: DeepSpeed-Ulysses all-to-alls Q, K and V into a split by heads and the output back, about $2(h + h_{kv})(N/P)\,b\,(P-1)/P$ bytes a GPU, constant when $N/P$ is fixed; ring attention passes K and V blocks $P - 1$ times, $2(P-1)(N/P)\,h_{kv}\,b$, which grows with $P$.
# For Llama-3-70B at 128k tokens on 8 GPUs that is 528.5 MB against 469.8 MB a layer with GQA, but 939.5 against 3,758.1 MB with full multi-head attention.
# Ulysses is limited to as many GPUs as there are KV heads, 8 here, and its transfers sit on the critical path; the ring has no such limit and hides each 67.1 MB block behind 17.8 ms of compute.
# Systems combine them: Ulysses inside a node, ring across nodes.
#
# lab:intuition
# - Ulysses reshuffles a deck so each player holds whole suits (heads); the ring passes the same cards (K and V) around the table while each keeps its own hand (queries).
# - Count what moves: Ulysses moves everything once each way, the ring moves only K and V, but P - 1 times.

import numpy as np

H_MODEL, Q_HEADS, KV_HEADS, D_HEAD = 8192, 64, 8, 128  # Llama-3-70B
TOKENS, GPUS, WIDTH = 131072, 8, 2  # 128k tokens, 8 GPUs, bf16


def attention(q, k, v):
    """Non-causal attention for (tokens, heads, d) arrays; K and V heads are shared by groups of query heads."""
    group = q.shape[1] // k.shape[1]
    k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    s = np.einsum("qhd,khd->hqk", q, k) / np.sqrt(q.shape[2])
    p = np.exp(s - s.max(axis=2, keepdims=True))
    return np.einsum("hqk,khd->qhd", p / p.sum(axis=2, keepdims=True), v)


# lab:begin split
def ulysses(q_shards, k_shards, v_shards):
    p, kv_heads = len(q_shards), k_shards[0].shape[1]
    assert kv_heads % p == 0, "Ulysses needs whole KV heads on every GPU"  # (1)
    by_heads = lambda shards, g: np.concatenate([np.array_split(s, p, axis=1)[g] for s in shards])  # (2)
    outputs = [attention(by_heads(q_shards, g), by_heads(k_shards, g), by_heads(v_shards, g)) for g in range(p)]
    return [np.concatenate([np.array_split(o, p)[r] for o in outputs], axis=1) for r in range(p)]  # (3)


def ring(q_shards, k_shards, v_shards):
    p, out = len(q_shards), []
    for r in range(p):
        acc, m, total = 0.0, -np.inf, 0.0
        for step in range(p):
            k, v = k_shards[(r - step) % p], v_shards[(r - step) % p]  # (4)
            group = q_shards[r].shape[1] // k.shape[1]
            s = np.einsum("qhd,khd->hqk", q_shards[r], np.repeat(k, group, axis=1)) / np.sqrt(q_shards[r].shape[2])
            new_m = np.maximum(m, s.max(axis=2, keepdims=True))
            scale, e = np.exp(m - new_m), np.exp(s - new_m)
            acc = acc * scale + np.einsum("hqk,khd->hqd", e, np.repeat(v, group, axis=1))  # (5)
            total, m = total * scale + e.sum(axis=2, keepdims=True), new_m
        out.append(np.transpose(acc / total, (1, 0, 2)))
    return out
# lab:end split
# lab:notes split
# (1) After the all-to-all each GPU holds $1/P$ of the heads, so $P$ must divide the KV heads.
# (2) The all-to-all: GPU $g$ gathers head group $g$ of every GPU's tokens, the whole sequence for a few heads.
# (3) The second all-to-all returns each GPU's tokens, all heads.
# (4) Step by step, each GPU sees the K and V block of the GPU $s$ places before it on the ring.
# (5) The online-softmax merge of Lab 23: rescale what was accumulated when the running maximum grows.
#
# lab:explain 59-80 Two ways to split the sequence
# Ulysses turns a sequence split into a head split and back; the ring keeps the sequence split and
# moves K and V instead, merging the partial attention as blocks arrive.


def bytes_per_gpu(tokens, gpus, kv_heads, width=WIDTH):
    kv = kv_heads * D_HEAD
    ulysses_bytes = (2 * H_MODEL + 2 * kv) * tokens / gpus * width * (gpus - 1) / gpus
    ring_bytes = 2 * (gpus - 1) * tokens / gpus * kv * width
    return ulysses_bytes, ring_bytes


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rows = []
    for heads, kv in (("GQA, 8 KV heads", KV_HEADS), ("MHA, 64 KV heads", Q_HEADS)):
        for gpus in (2, 4, 8, 16, 32):
            u, r = bytes_per_gpu(16384 * gpus, gpus, kv)
            if gpus <= kv:
                rows.append((heads, gpus, "Ulysses", u / 1e6))
            rows.append((heads, gpus, "ring", r / 1e6))
    return {"weak-scaling": dict(zip(("heads", "gpus", "method", "mb"), map(list, zip(*rows))))}


# lab:figure weak-scaling
# kind: line
# title: With the tokens per GPU fixed, Ulysses' traffic stays flat while the ring's grows with the GPUs
# caption: Bytes one GPU sends for one attention layer of Llama-3-70B's shape with 16,384 tokens per GPU. Ulysses
#   stops at as many GPUs as KV heads; the ring goes on. GQA's few KV heads make the ring's passes cheap.
# x: gpus "GPUs P" d
# y: mb "MB sent per GPU, one layer" .4g
# color: method "method"
# control: heads "attention"
# default: GQA, 8 KV heads
# says: With {{heads}}, at 8 GPUs Ulysses sends {{mb|method=Ulysses, gpus=8}} MB per GPU and the ring {{mb|method=ring, gpus=8}} MB.

def main():
    rng = np.random.default_rng(0)
    n, p = 64, 4
    q, k, v = rng.standard_normal((n, 8, 16)), rng.standard_normal((n, 4, 16)), rng.standard_normal((n, 4, 16))
    full = attention(q, k, v)
    shards = [np.array_split(a, p) for a in (q, k, v)]
    for name, method in (("Ulysses", ulysses), ("ring", ring)):
        assert np.allclose(np.concatenate(method(*shards)), full, rtol=0, atol=1e-12), name
    print(f"{n} tokens, 8 query and 4 KV heads over {p} GPUs: Ulysses and ring equal unsplit attention to 1e-12: True")
    try:
        ulysses(*[np.array_split(a, 8) for a in (q, k, v)])
        raise RuntimeError("8 GPUs cannot split 4 KV heads")
    except AssertionError:
        print("Ulysses over 8 GPUs with 4 KV heads: refused, the degree is at most the KV heads")

    print(f"Llama-3-70B shapes, {TOKENS:,} tokens on {GPUS} GPUs, bf16, one layer: MB sent per GPU")
    for label, kv in (("GQA, 8 KV heads", KV_HEADS), ("MHA, 64 KV heads", Q_HEADS)):
        u, r = bytes_per_gpu(TOKENS, GPUS, kv)
        print(f"  {label}: Ulysses {u / 1e6:,.1f}, ring {r / 1e6:,.1f}")
    block = 2 * TOKENS // GPUS * KV_HEADS * D_HEAD * WIDTH
    flops = 4 * (TOKENS // GPUS) ** 2 * H_MODEL
    print(f"one ring step: {flops / 1e12:.2f} TFLOP, {flops / (0.5 * 989e12) * 1e3:.1f} ms at half of 989 TFLOPS; "
          f"its {block / 1e6:.1f} MB K and V block takes {block / 450e9 * 1e3:.2f} ms on NVLink, {block / 50e9 * 1e3:.2f} ms on a NIC")
    assert np.isclose(bytes_per_gpu(TOKENS, GPUS, KV_HEADS)[1], 2 * (GPUS - 1) * block / 2)


if __name__ == "__main__":
    main()
