"""Lab 21 - MoE routing: top-1 choice, expert capacity, dropped tokens and the balance loss."""
# lab:goal See how expert capacity turns an unbalanced router into dropped tokens, and what the balance loss measures.
#
# lab:mental-model
# - The router gives each token a probability over experts; top-1 sends it to one expert.
# - Each expert has a fixed buffer of $C = \lfloor \text{CF} \cdot T / E \rfloor$ slots; overflow is dropped.
# - Dropped tokens skip the expert and pass through the residual connection unchanged.
# - The auxiliary loss $E \sum_i f_i P_i$ equals 1 when the load is uniform and grows with imbalance.
#
# lab:checkpoints
# - Capacity factor 1.0 drops 213 of 1024 tokens.
#   answer: Three experts receive 252, 190 and 155 tokens against 128 slots; their overflow 124 + 62 + 27 is dropped.
# - Raising the capacity factor trades drops for memory and padding.
#   answer: CF 1.25 gives 160 slots and 122 drops; CF 2.0 gives 256 slots and none, but every expert now pads to 256 rows.
# - Only a fraction of the parameters work on each token.
#   answer: With Mixtral's shapes (8 experts, top-2) about 46.7B parameters exist but about 12.9B are active per token.
#
# lab:traps
# - "Active params = total params": memory holds all experts, compute per token touches top-k of them.
# - A dropped token is not lost from the sequence; it just gets no expert update in this layer.
# - A balance loss near 1 does not mean no drops: at CF 1.0 one token over $T/E$ overflows an expert, while the loss barely moves.
# - The router is constructed, not trained: `D` and `SKEW` were tuned by hand so the drops come out as 213 / 122 / 0.
#   Real learned routers skew differently per layer and during training; read the counts as a demo of the mechanism.
#
# lab:interview
# The state is a batch of 1024 token vectors and the router's (tokens, experts) probability
# matrix; top-1 turns it into an expert index per token, and capacity turns the per-expert counts
# into a fixed-shape (experts, capacity, hidden) buffer that an all-to-all can ship to the ranks
# holding each expert. Overflow beyond capacity is dropped: with this hand-tuned router, 213
# tokens at capacity factor 1.0, 122 at 1.25 and 0 at 2.0. The trade-off is that a larger capacity factor drops fewer
# tokens but pads every expert's buffer, costing memory, all-to-all bytes and wasted FLOPs. The
# Switch balance loss $E \sum_i f_i P_i$ is 1 under uniform routing and pushes the router back
# toward it. Expert parallelism needs two all-to-alls per MoE layer forward (dispatch and combine)
# and two backward, and it grows total parameters much faster than the compute per token.

import numpy as np

# Constructed setup: a random router plus a shared offset, with D and SKEW tuned by hand so the
# drop counts reproduce the curriculum's 213 / 122 / 0. It illustrates imbalance; it measures nothing.
T, E, D, SKEW = 1024, 8, 218, 0.324


# lab:begin route
def softmax(z):
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def route_top1(logits, capacity_factor):
    probs = softmax(logits)  # (1)
    expert = probs.argmax(axis=1)
    capacity = int(capacity_factor * T / E)  # (2)
    onehot = np.eye(E, dtype=int)[expert]  # (T, E)
    position = (np.cumsum(onehot, axis=0) - 1)[np.arange(T), expert]  # (3)
    kept = position < capacity  # (4)
    buffer = np.zeros((E, capacity), dtype=int) - 1  # token ids, -1 = padding
    buffer[expert[kept], position[kept]] = np.flatnonzero(kept)  # (5)
    return probs, expert, kept, buffer


def balance_loss(probs, expert):
    f = np.bincount(expert, minlength=E) / len(expert)  # (6)
    P = probs.mean(axis=0)
    return E * np.sum(f * P)
# lab:end route
# lab:notes route
# (1) One probability per expert per token; the gate value scales the chosen expert's output.
# (2) Slots per expert, fixed before routing so every buffer has a static shape.
# (3) Running count: token t is the k-th token sent to its expert, earlier tokens first.
# (4) Tokens past the buffer are dropped and pass through on the residual path.
# (5) The dispatch layout an all-to-all sends: one (capacity,) row of token ids per expert.
# (6) $f_i$: fraction of tokens sent to expert i; `P`: mean router probability per expert.
#
# lab:explain 49-58 Capacity turns counts into drops
# Routing is an argmax, but the buffer is allocated before anyone knows the counts. A running
# sum over the one-hot assignment gives every token its slot in its expert's buffer, and any slot
# index at or beyond the capacity is a drop.
#
# lab:explain 61-64 The Switch balance loss
# `f` is not differentiable (it comes from an argmax) but `P` is, so the gradient of
# $E \sum_i f_i P_i$ lowers the probability of the experts that currently receive the most tokens.


def mixtral_params(h=4096, ffn=14336, layers=32, vocab=32000, kv=1024, experts=8, top_k=2):
    attn = 2 * h * h + 2 * h * kv
    expert = 3 * h * ffn  # gate, up and down projections (SwiGLU)
    total = layers * (attn + experts * expert + h * experts) + 2 * vocab * h
    active = layers * (attn + top_k * expert + h * experts) + 2 * vocab * h
    return total, active


def main():
    rng = np.random.default_rng(0)
    shared = rng.standard_normal(D)  # a direction every hidden state shares
    x = rng.standard_normal((T, D)) + SKEW * shared
    W_router = rng.standard_normal((D, E))
    logits = x @ W_router
    print(f"{T} tokens, {E} experts, top-1 (untrained router, skew tuned by hand)")
    for cf in (1.0, 1.25, 2.0):
        probs, expert, kept, buffer = route_top1(logits, cf)
        counts = np.bincount(expert, minlength=E)
        dropped = T - kept.sum()
        print(f"CF {cf:4}: capacity {buffer.shape[1]:3d}, dropped {dropped:3d} "
              f"({dropped / T:.1%}), padding slots {(buffer < 0).sum():4d}")
        assert dropped == np.maximum(counts - buffer.shape[1], 0).sum()
    print(f"tokens per expert: {counts.tolist()}")
    print(f"balance loss, this router: {balance_loss(probs, expert):.3f}")

    uniform_probs = np.full((T, E), 1.0 / E)
    uniform_expert = np.arange(T) % E
    aux_uniform = balance_loss(uniform_probs, uniform_expert)
    print(f"balance loss, uniform load: {aux_uniform:.3f}")
    assert abs(aux_uniform - 1.0) < 1e-12

    total, active = mixtral_params()
    print(f"Mixtral-like shapes: {total / 1e9:.1f}B total, {active / 1e9:.1f}B active per token")
    print("EP all-to-alls per MoE layer: 2 forward (dispatch, combine) + 2 backward")


if __name__ == "__main__":
    main()
