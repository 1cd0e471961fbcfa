"""Lab 21 - MoE routing: top-1 choice, expert capacity, dropped tokens and the balance loss."""
# lab:goal See how expert capacity turns an unbalanced router into dropped tokens, and what the balance loss measures.
#
# lab:mental-model
# - A mixture-of-experts (MoE) layer holds $E$ experts, each a full MLP; a router sends each token
#   to the $k$ experts it scores highest (top-$k$). Here $k = 1$, as in the Switch Transformer.
# - In a capacity-based layer (Switch, GShard, this lab) each expert has a fixed buffer of $C = \lfloor \text{CF} \cdot kT / E \rfloor$ slots for $T$ tokens, top-$k$ and capacity factor CF, and overflow is dropped; dropless layers keep every token.
# - Dropped tokens skip the expert and pass through the residual connection unchanged.
# - The auxiliary loss $E \sum_i f_i P_i$ ($f_i$: share of tokens sent to expert $i$, $P_i$: its mean
#   router probability) is 1 under uniform routing. The usual imbalance, where busy experts also
#   get high probabilities, raises it, but 1 is not a floor.
# - Expert parallelism (EP) puts the experts on different ranks: one all-to-all ships every buffer
#   to its expert's rank (dispatch), a second brings the results back (combine).
#
# lab:checkpoints
# - At capacity factor 1.0, how many slots does each expert get, and which experts overflow?
#   answer: $\lfloor 1024/8 \rfloor$ = 128 slots. Experts 0, 6 and 5 receive 252, 190 and 155 tokens, so
#   124 + 62 + 27 = 213 tokens are dropped.
#   see: output "tokens per expert: [252, 59, 109, 67, 102, 155, 190, 90]"
# - CF 2.0 drops nothing. What does it cost instead?
#   answer: 8 x 256 = 2048 slots for 1024 tokens: 1024 padding slots that the all-to-all still
#   ships and the experts still multiply.
#   see: output "CF  2.0: capacity 256, dropped   0 (0.0%), padding slots 1024"
#   predict: number 5, within 0%
# - Which line gives a token its slot, and which tokens lose when an expert is full?
#   answer: Line 100: a running count down the token axis, so earlier tokens take the slots and
#   the last ones sent to a full expert are dropped (line 101).
#   see: lines 100-101
# - Can the balance loss read below 1 while one expert gets most of the tokens?
#   answer: Yes: the lopsided router sends 768 of 1024 tokens to expert 0 and drops 640, yet reads
#   0.826, because those tokens give expert 0 a probability of only about 1/8, so $P_0$ stays small.
#   see: output "balance loss, lopsided router: 0.826"
# - How many parameters does a Mixtral-shaped model hold, and how many work on each token?
#   answer: 46.7B and 12.9B: all 8 experts sit in memory, but each token runs through $k = 2$.
#   see: output "Mixtral-like shapes: 46.7B total, 12.9B active per token"
# lab:traps
# - Active parameters equal total parameters.
#   why: Memory holds every expert (46.7B for Mixtral's shapes), but each token computes with
#   only $k$ of them (12.9B): the two numbers differ by 3.6x.
# - A dropped token is lost from the sequence.
#   why: It only misses this layer's expert update; the residual connection carries it to the
#   next layer unchanged. `kept` (line 101) gates the expert, not the token.
# - A balance loss of 1 means balanced routing, and imbalance can only raise it.
#   why: 1 is what uniform routing gives, not a minimum: the lopsided router reads 0.826 with 640
#   tokens dropped. At CF 1.0 even one token over $T/E$ overflows while the loss barely moves.
# - An MoE layer has to drop the tokens that overflow an expert.
#   why: Only capacity-based layers do. Dropless MoE (MegaBlocks) runs every assignment with block-sparse
#   kernels, and DeepSeek-V3 drops no token, keeping the load even with a bias on the router scores.
#
# lab:interview
# A top-1 router turns each of 1024 tokens into one expert index; capacity turns the per-expert
# counts into a fixed (experts, capacity, hidden) buffer that an all-to-all ships to the ranks
# holding each expert.
#
# In this capacity-based layer overflow is dropped: with this hand-tuned router, 213 tokens at capacity factor 1.0, 122 at 1.25
# and 0 at 2.0. A larger factor drops less but pads every buffer, costing memory, bytes and FLOPs.
#
# The Switch balance loss $E \sum_i f_i P_i$ is 1 under uniform routing and pushes the router
# toward it. Expert parallelism needs two all-to-alls per MoE layer forward and two backward.
#
# lab:intuition
# - Capacity is a row of mailboxes, one per expert, sized before the mail is sorted: the popular
#   expert's box overflows while others sit half empty, and the empty space still gets shipped.
# - The capacity factor is insurance bought up front: CF 1.25 reserves 25% spare slots per expert
#   and pays for them in memory, all-to-all bytes and FLOPs whether or not tokens arrive.
# - The balance loss is an overlap score between where tokens go ($f$) and where the router's
#   probability mass sits ($P$); only $P$ carries a gradient, so it nudges probabilities.

# lab:figure capacity
# kind: bar
# title: Capacity gives every expert the same buffer; busy experts overflow while quiet ones ship empty slots
# caption: Kept tokens plus empty slots always add up to the capacity. At CF 1.0 (128 slots) experts 0,
#   6 and 5 drop 213 tokens while 213 slots travel empty; CF 1.25 drops 122 with 378 empty slots; CF
#   2.0 drops none but ships 1024 empty slots, as many as there are tokens.
# x: expert "expert" d
# y: tokens "tokens or slots" d
# color: fate "fate"
# control: cf "capacity factor" .2f
# default: 1.0
# says: At capacity factor {{cf}}, {{sum:tokens|fate=dropped}} tokens are dropped while {{sum:tokens|fate=empty slot}} slots travel empty.
import numpy as np

# Constructed setup: a random router plus a shared offset, with D and SKEW tuned by hand so the
# drop counts reproduce the curriculum's 213 / 122 / 0. It illustrates imbalance; it measures nothing.
T, E, D, SKEW = 1024, 8, 218, 0.324
DROPS = {1.0: 213, 1.25: 122, 2.0: 0}  # the tuned counts, checked against every run


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
# lab:explain 95-104 Capacity turns counts into drops
# Routing is an argmax, but the buffer is allocated before anyone knows the counts. A running
# sum over the one-hot assignment gives every token its slot in its expert's buffer, and any slot
# index at or beyond the capacity is a drop.
#
# lab:explain 107-110 The Switch balance loss
# `f` is not differentiable (it comes from an argmax) but `P` is, so the gradient of
# $E \sum_i f_i P_i$ lowers the probability of the experts that currently receive the most tokens.
# The two averages are taken separately, so a busy expert that tokens pick with little confidence
# keeps the product small: the loss can fall below 1 under heavy imbalance.


def mixtral_params(h=4096, ffn=14336, layers=32, vocab=32000, kv=1024, experts=8, top_k=2):
    attn = 2 * h * h + 2 * h * kv
    expert = 3 * h * ffn  # gate, up and down projections (SwiGLU)
    total = layers * (attn + experts * expert + h * experts) + 2 * vocab * h
    active = layers * (attn + top_k * expert + h * experts) + 2 * vocab * h
    return total, active


def router_logits():
    """The constructed router's logits for T tokens (see the comment on D and SKEW)."""
    rng = np.random.default_rng(0)
    shared = rng.standard_normal(D)  # a direction every hidden state shares
    x = rng.standard_normal((T, D)) + SKEW * shared
    W_router = rng.standard_normal((D, E))
    return x @ W_router


def figures():
    """capacity: per expert, tokens kept and dropped by `route_top1` and empty buffer slots."""
    logits, rows = router_logits(), []
    for cf in (1.0, 1.25, 2.0):
        _, expert, kept, buffer = route_top1(logits, cf)
        fates = {"dropped": np.bincount(expert[~kept], minlength=E),  # the first fate stacks on top
                 "empty slot": (buffer < 0).sum(axis=1),  # padding the all-to-all still ships
                 "kept": np.bincount(expert[kept], minlength=E)}
        rows += [(cf, e, fate, int(n[e])) for e in range(E) for fate, n in fates.items()]
    return {"capacity": dict(zip(("cf", "expert", "fate", "tokens"), map(list, zip(*rows))))}


def main():
    logits = router_logits()
    print(f"{T} tokens, {E} experts, top-1 (untrained router, skew tuned by hand)")
    for cf in (1.0, 1.25, 2.0):
        probs, expert, kept, buffer = route_top1(logits, cf)
        counts = np.bincount(expert, minlength=E)
        dropped = T - kept.sum()
        print(f"CF {cf:4}: capacity {buffer.shape[1]:3d}, dropped {dropped:3d} "
              f"({dropped / T:.1%}), padding slots {(buffer < 0).sum():4d}")
        assert dropped == np.maximum(counts - buffer.shape[1], 0).sum() == DROPS[cf]
    print(f"tokens per expert: {counts.tolist()}")
    print(f"balance loss, this router: {balance_loss(probs, expert):.3f}")

    uniform_probs = np.full((T, E), 1.0 / E)
    uniform_expert = np.arange(T) % E
    aux_uniform = balance_loss(uniform_probs, uniform_expert)
    print(f"balance loss, uniform load: {aux_uniform:.3f}")
    assert abs(aux_uniform - 1.0) < 1e-12

    lopsided = np.zeros((T, E))
    lopsided[:768, 0] = 0.01  # 768 tokens lean barely toward expert 0
    lopsided[768 + np.arange(T - 768), 1 + np.arange(T - 768) % (E - 1)] = 30.0  # the rest are sure
    probs, expert, kept, _ = route_top1(lopsided, 1.0)
    aux_lopsided, dropped = balance_loss(probs, expert), T - kept.sum()
    print(f"balance loss, lopsided router: {aux_lopsided:.3f} with {dropped} tokens dropped at CF 1.0")
    assert aux_lopsided < 1.0 and dropped == 768 - T // E

    total, active = mixtral_params()
    print(f"Mixtral-like shapes: {total / 1e9:.1f}B total, {active / 1e9:.1f}B active per token")
    print("EP all-to-alls per MoE layer: 2 forward (dispatch, combine) + 2 backward")


if __name__ == "__main__":
    main()
