"""Lab 25 - Ring attention: causal attention over a sequence split across 4 simulated devices."""
# lab:goal Shard a sequence across devices, rotate K/V around a ring, and still get exact attention.
#
# lab:mental-model
# - Context parallelism splits the sequence axis across P devices: device r keeps the queries of
#   the tokens it owns and an online-softmax state (m, l, acc) for them.
# - K/V chunks travel one hop per step with their global token positions; after P steps every query
#   has met every key once, and the order-free merge makes the result exact.
# - Each ring step ends with an exchange that all devices wait for, so a step lasts as long as its
#   busiest device. The critical path, the sum over steps of that busiest device's work, sets the time.
# - Under a causal mask, which tokens a device owns decides how much work it has at each step.
#
# lab:checkpoints
# - In the contiguous layout, which device does the most work at step 0?
#   answer: None: every device works on its own diagonal block, 64 x 65 / 2 = 2080 unmasked scores
#   each. The imbalance starts at step 1, when device 0 receives only later keys and masks them all.
#   see: output "step 0"
# - What is the contiguous critical path, and why does device 3 set it?
#   answer: 14368 = 2080 + 3 x 4096. Device 3 owns the last tokens, which see every key, so it has a
#   full block at every step while at step s only devices s to 3 have work. Balance: 8224 / 14368.
#   see: output "critical path"
#   predict: number 1, within 5%
# - Which tokens does device 1 own in the zig-zag layout, and why does that even out the work?
#   answer: Chunks 1 and 6 of 8, of 32 tokens each: an early chunk with little causal past
#   paired with a late one with a lot. Every device then does 2048 scores per step after step 0.
#   see: lines 128-132
# lab:traps
# - "Context parallelism is Megatron sequence parallelism."
#   why: Megatron SP shards only norm and dropout activations inside a tensor-parallel group and gathers
#   the full sequence before attention. Here attention itself runs sharded, so K/V must travel.
# - "Each device can build its causal mask from local row and column indices."
#   why: An arriving chunk holds other tokens. The mask must compare global positions, which travel
#   with the chunk (lines 88 and 94); local indices would give every block a diagonal mask.
#
# lab:interview
# Ring attention splits the sequence over $P$ devices, each with its $N/P$ query rows and an online-
# softmax state. K/V chunks move one hop per step; after $P$ steps every query has met every key.
#
# Per full block of $c$ tokens a device computes $4c^2 d$ FLOPs and sends $4cd$ bytes (bf16), so the
# transfer hides behind compute when $c \ge F/B$: about 2200 tokens for an H100 over NVLink.
#
# Under a causal mask, contiguous chunks give the devices 1, 2, 3 and 4 blocks to compute; zig-zag
# evens them out. The trade-off: memory per device shrinks by $P$, while K/V move $P-1$ times.
#
# lab:intuition
# - A round table: every guest keeps their own questions and passes their notes (K/V) to the left
#   each round. After P rounds everyone has read every note; nobody ever held the whole pile.
# - Contiguous causal work is a staircase: at step s only devices s to P-1 have work, so the last
#   device is busy at every step. Zig-zag folds the staircase so that every step is level.

# lab:figure ring-work
# kind: heatmap
# title: Contiguous chunks give causal work a staircase; zig-zag levels every ring step
# caption: Contiguous: at step s only devices s to 3 hold keys from their causal past, so device 3
#   computes 4096 scores at every step after step 0 while device 0 masks everything. Zig-zag: every
#   device computes 2080 scores at step 0 and 2048 at each later step, 8224 in total.
# x: step "ring step" d
# y: device "layout and device"
# color: work "unmasked scores" ,d
# lab:figure ring-timeline
# kind: timeline
# title: Each ring step lasts as long as its busiest device; with contiguous chunks the others wait
# caption: Contiguous: steps 1 to 3 each last 4096 scores and the devices without work wait, so the
#   ring finishes at 14368 while device 0 computes for only 2080. Zig-zag: nobody waits and every step
#   after the first lasts 2048, so it finishes at 8224, the two critical paths the program prints.
# x: start "time, counted in unmasked scores" ,d
# x2: end "end" ,d
# y: device "device" d
# color: state "device is"
# label: step "step"
# control: layout "token layout"
# default: contiguous
# says: With the {{layout}} layout the last ring step ends at {{end|end=max}} scores of time.
import numpy as np

P, N, D, BF16 = 4, 256, 32, 2  # devices, tokens, head dimension, bytes per bf16 element


# lab:begin ring
def merge(state, s, v):
    m, l, acc = state
    m_new = np.maximum(m, s.max(axis=1))  # (1)
    scale, p = np.exp(m - m_new), np.exp(s - m_new[:, None])
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
# (1) A fully masked block has row max -inf, so m stays put and its exp terms are 0.
# (2) Each K/V chunk carries its global token positions, so the mask is right wherever it goes.
# (3) Causal mask by global position: key position at most query position.
# (4) Device r receives from r-1 and sends to r+1; on hardware this transfer overlaps the compute.
# (5) Only now is each row normalized: the same (m, l, acc) finish as in FlashAttention.
#
# lab:explain 80-84 The online-softmax merge of lab 23, one row per query
# Step 0 gives every query its own key, so m is finite from then on and a masked block changes nothing.
#
# lab:explain 87-104 P steps around the ring, then a local finish
# Every device works on the chunk it holds, then all chunks shift one place. `work` counts the
# unmasked scores per (step, device), the compute a causal kernel cannot skip. No gather is needed:
# each device ends with the exact output rows of its own tokens.


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
# lab:explain 123-132 Who owns which tokens
# Both layouts give each device N/P = 64 tokens; only the assignment, and so the work per step, differs.


def figures():
    """The data of the figures declared above, computed with the lab's own functions."""
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((N, D)) for _ in range(3))  # the inputs main() uses
    cells, bars = [], []
    for name, layout in (("contiguous", contiguous), ("zig-zag", zigzag)):
        _, work, _ = ring_attention(q, k, v, [layout(r) for r in range(P)])
        t = 0  # ring-timeline: each step starts when the busiest device of the previous one is done
        for step in range(P):
            end = t + work[step].max()
            for r in range(P):
                cells.append((step, f"{name}, device {r}", int(work[step, r])))  # ring-work: one cell each
                busy = t + work[step, r]
                if busy > t:
                    bars.append((name, r, int(t), int(busy), "computing", f"step {step}"))
                if busy < end:
                    bars.append((name, r, int(busy), int(end), "waiting for the exchange", ""))
            t = end
    return {"ring-work": dict(zip(("step", "device", "work"), map(list, zip(*cells)))),
            "ring-timeline": dict(zip(("layout", "device", "start", "end", "state", "step"), map(list, zip(*bars))))}


def main():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((N, D)) for _ in range(3))
    s = np.where(np.tril(np.ones((N, N), dtype=bool)), q @ k.T / np.sqrt(D), -np.inf)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    ref = (p / p.sum(axis=1, keepdims=True)) @ v
    work = []
    for layout in (contiguous, zigzag):
        out, w, sent = ring_attention(q, k, v, [layout(r) for r in range(P)])
        assert np.abs(out - ref).max() < 1e-12 and w.sum() == N * (N + 1) // 2, "exact, each score once"
        work.append(w)
    print(f"{P} devices, N = {N} tokens, d = {D}, causal: both layouts equal full attention (error < 1e-12)")
    print(f"{'unmasked scores':16s}{'contiguous':>24s}   {'zig-zag':>24s}")
    for label, a, b in zip([f"step {i}" for i in range(P)] + ["device total"],
                           [*work[0], work[0].sum(0)], [*work[1], work[1].sum(0)]):
        print(f"  {label:14s}" + "".join(f"{n:6d}" for n in a) + "   " + "".join(f"{n:6d}" for n in b))
    crit = [w.max(axis=1).sum() for w in work]  # the busiest device of each step, summed over steps
    print(f"critical path: contiguous {crit[0]} (balance {N * (N + 1) / 2 / P / crit[0]:.0%}), "
          f"zig-zag {crit[1]} (balance {N * (N + 1) / 2 / P / crit[1]:.0%})")
    c = N // P
    assert crit[0] == c * (c + 1) // 2 + (P - 1) * c * c
    assert crit[1] == N * (N + 1) // 2 // P, "zig-zag balances causal work"
    flops, nbytes = 4 * c * c * D, 2 * c * D * BF16  # one full block: compute, and K/V to send
    print(f"K/V sent per device {sent:,} B; a full {c}-token block: {flops:,} FLOPs for {nbytes:,} B "
          f"= {flops / nbytes:.0f} FLOP/B (= c)")
    print(f"overlap needs c >= F/B: H100 bf16 989e12 FLOP/s over NVLink 450e9 B/s per direction "
          f"-> c >= {989e12 / 450e9:.0f} tokens")


if __name__ == "__main__":
    main()
