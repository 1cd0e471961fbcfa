"""Lab 29 - Speculative decoding: the rejection rule that makes draft tokens exact.

Samples one token 400,000 times through draft-then-verify at two temperatures and compares the
result with the target distribution; then counts tokens per target pass for a run of drafts.
"""
# lab:goal See why speculative sampling's accept/resample rule leaves the target model's distribution exactly unchanged.
#
# lab:mental-model
# - A cheap draft model proposes a token from `q`; the target model scores it with `p`.
# - The draft token is kept with probability `min(1, p(x) / q(x))`; otherwise a token is drawn from `max(p - q, 0)`, renormalized.
# - The acceptance rate is $\sum_x \min(p(x), q(x)) = 1 - \mathrm{TV}(p, q)$: how close the draft is, not how good.
# - The target scores all drafted positions in one pass, so several tokens can come out of one target step.
#
# lab:checkpoints
# - The output matches the target, not the draft, at both temperatures.
#   answer: Its total variation distance to `p` is below 0.002 with 400k draws, while the draft itself is 0.31 (T = 1) and 0.57 (T = 0.5) away.
# - The measured acceptance equals $\sum \min(p, q)$.
#   answer: Both are printed side by side; they agree to about 0.001, the sampling noise of 400k draws.
# - With acceptance 0.8 and 4 drafted tokens, a target pass yields 3.36 tokens on average.
#   answer: $(1 - \alpha^{\gamma+1}) / (1 - \alpha) = (1 - 0.8^5) / 0.2 = 3.36$, counting the target's own token at the end.
#
# lab:traps
# - "Speculative decoding approximates the big model" or "only works greedily": with this rule the samples follow `p` exactly, at any temperature.
# - Confusing a latency win with a compute saving: the target scores 5 positions per pass to emit 3.36 tokens, and the draft runs too.
# - Resampling from `p` after a rejection: the residual must be `max(p - q, 0)`, or the output is biased toward the draft's tokens.
#
# lab:interview
# The state is a probability vector over the vocabulary at one position: the draft's `q` and the
# target's `p`. A drafted token is accepted with probability min(1, p/q); on rejection the
# token is drawn from the normalized residual max(p - q, 0). The accepted mass min(p, q) plus
# the rejected mass times the residual adds up to p exactly, so the output is distributed as the
# target at any temperature, which the 400k-draw check confirms to a TV below 0.002. The axis
# that matters is the draft length gamma: one target pass verifies gamma positions in parallel
# and emits (1 - alpha^(gamma+1)) / (1 - alpha) tokens, 3.36 at alpha 0.8 and gamma 4. The
# trade-off: fewer sequential target passes, lower latency, bought with extra FLOPs for
# rejected drafts and the draft model, which pays off when decode is bandwidth-bound.

import numpy as np

VOCAB, DRAWS = 6, 400_000


# lab:begin verify
def softmax(logits, temperature):
    z = np.exp((logits - logits.max()) / temperature)
    return z / z.sum()


def speculative_sample(p, q, n, rng):
    draft = rng.choice(VOCAB, size=n, p=q)  # (1)
    accept = rng.random(n) < np.minimum(1.0, p[draft] / q[draft])  # (2)
    residual = np.maximum(p - q, 0.0)
    residual /= residual.sum()  # (3)
    fixed = rng.choice(VOCAB, size=n, p=residual)
    return np.where(accept, draft, fixed), accept  # (4)


def tokens_per_target_pass(alpha, gamma, steps, rng):
    accepted = rng.random((steps, gamma)) < alpha  # (5)
    run = np.cumprod(accepted, axis=1).sum(axis=1)
    return (run + 1).mean()  # (6)
# lab:end verify
# lab:notes verify
# (1) Draft proposals, drawn from `q` for all 400k trials at once.
# (2) Keep a draft with probability min(1, p/q): always where the target likes it at least as much.
# (3) The residual is where `p` exceeds `q`: exactly the mass the accepted drafts under-supply.
# (4) A rejected trial uses its residual draw; trials are independent, so drawing `fixed` for all is equivalent.
# (5) Position-wise acceptance with a fixed rate alpha, the simplifying assumption behind the formula.
# (6) Accepted drafts up to the first rejection, plus one token from the target: the residual draw, or a bonus token if all pass.
#
# lab:explain 44-55 Draft, test, and repair
# For a token x, the probability of emitting it is $q(x)\min(1, p(x)/q(x)) = \min(p(x), q(x))$ from
# acceptance, plus $(1 - \sum_y \min(p(y), q(y)))\,r(x)$ from repair. With $r \propto \max(p - q, 0)$
# the two add up to $p(x)$: that is the whole proof of exactness.
#
# lab:explain 58-61 Tokens per target pass
# `cumprod` zeroes everything after the first rejection, so the row sum counts the accepted
# prefix. The final `+ 1` is the token the target pass always contributes. The speedup printed
# below, $E / (1 + \gamma c)$, assumes a pass over 5 positions costs what a 1-token pass costs,
# which holds while decode is bandwidth-bound.


def tv(a, b):
    return 0.5 * np.abs(a - b).sum()


def main():
    rng = np.random.default_rng(0)
    target_logits = rng.normal(0.0, 1.5, VOCAB)
    draft_logits = target_logits + rng.normal(0.0, 0.8, VOCAB)  # a related but worse model
    for temperature in (1.0, 0.5):
        p, q = softmax(target_logits, temperature), softmax(draft_logits, temperature)
        out, accept = speculative_sample(p, q, DRAWS, rng)
        empirical = np.bincount(out, minlength=VOCAB) / DRAWS
        print(f"T = {temperature}: TV(output, p) = {tv(empirical, p):.4f}, TV(q, p) = {tv(q, p):.3f}, "
              f"acceptance {accept.mean():.4f} vs sum min(p, q) = {np.minimum(p, q).sum():.4f}")
        assert tv(empirical, p) < 0.002 < tv(q, p)
        assert abs(accept.mean() - np.minimum(p, q).sum()) < 0.003

    alpha, gamma = 0.8, 4
    formula = (1 - alpha ** (gamma + 1)) / (1 - alpha)
    simulated = tokens_per_target_pass(alpha, gamma, DRAWS, rng)
    print(f"alpha = {alpha}, gamma = {gamma}: {simulated:.3f} tokens per target pass "
          f"(formula {formula:.3f}); target scores {gamma + 1} positions per pass, "
          f"{(gamma + 1) / formula:.2f}x its FLOPs per emitted token")
    for c in (0.05, 0.2):
        print(f"  draft cost {c} of a target pass: wall-clock speedup {formula / (1 + gamma * c):.2f}x")
    assert abs(simulated - formula) < 0.01 and round(formula, 2) == 3.36


if __name__ == "__main__":
    main()
