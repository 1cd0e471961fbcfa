"""Lab 25 - Ring attention: causal attention over a sequence split across 4 simulated devices."""
# lab:goal Shard a sequence across devices, rotate K/V around a ring, and still get exact attention.
#
# lab:mental-model
# - Each device keeps its query chunk and an online-softmax state (m, l, acc) for it.
# - K/V chunks travel one hop per step; after P steps every query has met every key once.
# - With a causal mask the work per device depends on which tokens it owns: the layout decides.
#
# lab:checkpoints
# - Does the order in which K/V chunks arrive change the output?
#   answer: No. The online-softmax merge is order-free, so both layouts match full causal
#   attention to about 1e-15, float64 rounding.
# - Why is the contiguous split slow under a causal mask?
#   answer: Device 0 has 1 useful block and device 3 has 4, so every ring step waits for device 3;
#   its critical path is 14368 score entries against an even share of 8224.
# - What does the zig-zag split change?
#   answer: Device r owns chunks r and 2P-1-r of 2P chunks, pairing an early chunk with a late one,
#   so every device does 8224 entries; the math is unchanged, only ownership is permuted.
#
# lab:traps
# - "Context parallelism is Megatron sequence parallelism." Megatron SP shards only the norm and
#   dropout activations inside a TP group and gathers the full sequence before attention; CP
#   shards the sequence through attention itself and exchanges K/V between devices.
# - Ring attention does not approximate anything; the causal mask uses global token positions,
#   which travel with each K/V chunk.
#
# lab:interview
# The sequence axis of Q, K and V is split across P devices; each device holds its query rows and
# an online-softmax state (m, l, acc) of shape (N/P,), (N/P,) and (N/P, d). At every step a device
# computes attention of its queries against the K/V chunk it holds, merges the partial result, and
# passes the chunk to its neighbour, so after P steps the output is exact. Sending the next chunk
# hides behind the current block's compute when the chunk length c is at least peak FLOP/s
# divided by link bytes/s. Under a causal mask a contiguous split gives devices 1, 2,
# 3 and 4 blocks of work, and the zig-zag split balances them. The trade-off is memory for
# communication: activations per device shrink by P, at the price of moving K/V P-1 times.

import numpy as np

P, N, D = 4, 256, 32  # devices, tokens, head dimension
BF16 = 2


# lab:begin ring
def merge(state, s, v):
    m, l, acc = state
    m_new = np.maximum(m, s.max(axis=1))
    ref = np.where(np.isfinite(m_new), m_new, 0.0)  # (1)
    scale, p = np.exp(m - ref), np.exp(s - ref[:, None])
    return m_new, l * scale + p.sum(axis=1), acc * scale[:, None] + p @ v


def ring_attention(q, k, v, owned):
    kv = [(k[i], v[i], i) for i in owned]  # (2)
    state = [(np.full(len(i), -np.inf), np.zeros(len(i)), np.zeros((len(i), D))) for i in owned]
    work, sent = np.zeros((P, P), dtype=int), 0
    for step in range(P):
        for r in range(P):
            k_r, v_r, k_pos = kv[r]
            mask = k_pos[None, :] <= owned[r][:, None]  # (3)
            work[step, r] = mask.sum()
            s = np.where(mask, q[owned[r]] @ k_r.T / np.sqrt(D), -np.inf)
            state[r] = merge(state[r], s, v_r)
        if step < P - 1:
            kv = [kv[(r - 1) % P] for r in range(P)]  # (4)
            sent += 2 * (N // P) * D * BF16
    out = np.empty_like(q)
    for r in range(P):
        out[owned[r]] = state[r][2] / state[r][1][:, None]  # (5)
    return out, work, sent
# lab:end ring
# lab:notes ring
# (1) A row that has seen only masked keys keeps m = -inf; shifting by 0 keeps exp at 0, not NaN.
# (2) Each K/V chunk carries its global token positions, so the mask is right wherever it goes.
# (3) Causal mask by global position: key position at most query position.
# (4) Device r receives from r-1 and sends to r+1; on hardware this transfer overlaps the compute.
# (5) Only now is each row normalized: the same (m, l, acc) finish as in FlashAttention.
#
# lab:explain 44-49 The online-softmax merge, guarded for masked rows
# Identical to the merge of lab 23 except that a fully masked block must leave the state alone.
#
# lab:explain 52-65 P steps around the ring
# Every device works on the chunk it holds, then all chunks shift one place. `work` counts the
# unmasked score entries per (step, device), which is the compute a causal kernel cannot skip.
#
# lab:explain 66-69 Finishing locally
# No gather is needed: each device ends with the exact output rows of the tokens it owns.


# lab:begin layouts
def contiguous(r):
    c = N // P
    return np.arange(r * c, (r + 1) * c)  # (1)


def zigzag(r):
    h = N // (2 * P)
    early = np.arange(r * h, (r + 1) * h)  # (2)
    late = np.arange((2 * P - 1 - r) * h, (2 * P - r) * h)  # (3)
    return np.concatenate([early, late])
# lab:end layouts
# lab:notes layouts
# (1) Device r owns tokens [64r, 64r + 64): device 3 holds the last tokens, which see every key.
# (2) Chunk r of 2P = 8 chunks of 32 tokens: few keys in its causal past.
# (3) Chunk 2P-1-r: many keys. Early plus late gives every device the same causal work.
#
# lab:explain 90-99 Who owns which tokens
# Both layouts give each device N/P = 64 tokens. Only the assignment differs, which is why the
# output is identical and only the per-device work changes.


def main():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((N, D)) for _ in range(3))
    s = np.where(np.tril(np.ones((N, N), dtype=bool)), q @ k.T / np.sqrt(D), -np.inf)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    ref = (p / p.sum(axis=1, keepdims=True)) @ v
    print(f"{P} devices, N = {N} tokens, d = {D}, causal")
    for name, layout in (("contiguous", contiguous), ("zig-zag", zigzag)):
        owned = [layout(r) for r in range(P)]
        out, work, sent = ring_attention(q, k, v, owned)
        err = np.abs(out - ref).max()
        per_device, critical = work.sum(axis=0), work.max(axis=1).sum()
        print(f"{name:10s} max error {err:.1e}; blocks with work {(work > 0).sum(axis=0)}")
        print(f"{'':10s} score entries per device {per_device}; critical path {critical}, "
              f"balance {per_device.sum() / P / critical:.0%}")
        print(f"{'':10s} K/V bytes sent per device {sent:,}")
        assert err < 1e-12, "ring attention is exact"
        assert per_device.sum() == N * (N + 1) // 2
    assert len(set(per_device)) == 1, "zig-zag balances causal work"
    c = N // P
    print(f"per full block of c = {c} tokens: {4 * c * c * D:,} FLOPs vs {2 * c * D * BF16:,} bytes "
          f"sent = {4 * c * c * D / (2 * c * D * BF16):.0f} FLOP/B (= c)")
    print(f"overlap needs c >= peak FLOP/s / link B/s: H100 bf16 989e12 over NVLink 450e9 B/s "
          f"per direction -> c >= {989e12 / 450e9:.0f} tokens")


if __name__ == "__main__":
    main()
