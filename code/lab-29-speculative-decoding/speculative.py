"""Lab 29 - Speculative decoding: the rejection rule that makes draft tokens exact.

Samples one token 400,000 times through draft-then-verify at two temperatures and compares the
result with the target distribution; then counts tokens per target pass for a run of drafts.
"""
# lab:goal See why speculative sampling's accept/resample rule leaves the target model's distribution exactly unchanged.
#
# lab:mental-model
# - A cheap draft model proposes a token from its distribution `q`; the large target model, whose output we want, gives `p` for the same position. Both come from a softmax of logits divided by a temperature T: a lower T sharpens them.
# - The draft token is kept with probability `min(1, p(x) / q(x))`; otherwise a token is drawn from `max(p - q, 0)`, renormalized (the residual).
# - The acceptance rate $\alpha$ is $\sum_x \min(p(x), q(x)) = 1 - \mathrm{TV}(p, q)$, where the total variation distance TV is half the summed absolute difference: it measures how close the draft is, not how good.
# - The target scores all $\gamma$ drafted positions ($\gamma$ is the draft length) plus the one after them in a single pass, so up to $\gamma + 1$ tokens can come out of one target step.
#
# lab:checkpoints
# - At T = 1, how far is the output of draft-then-verify from the target `p`, and how far is the draft `q` itself?
#   answer: TV(output, p) = 0.0014, the sampling noise of 400k draws, while TV(q, p) = 0.312: the rule repairs every mistake of the draft.
#   see: output "T = 1.0: TV(output, p) = 0.0014"
#   predict: number 3, within 20%
# - Which line makes the output exact, and what would the output over-represent if rejected trials drew from `p` instead?
#   answer: Line 94: the residual `max(p - q, 0)` adds exactly the mass that accepted drafts under-supply. Drawing from `p` would add $(1 - \alpha)\,p$ on top of $\min(p, q)$ and favour the tokens where `q` exceeds `p`, the draft's favourites.
#   see: lines 94-96
# - Why is the acceptance lower at T = 0.5 (0.434) than at T = 1 (0.688)?
#   answer: A lower temperature sharpens both distributions; where they rank tokens differently their overlap shrinks. TV(q, p) grows from 0.312 to 0.567, and acceptance is 1 - TV.
#   see: output "T = 0.5: TV(output, p) = 0.0013, TV(q, p) = 0.567"
# - With alpha = 0.8 and gamma = 4, how many positions does one target pass score, and how many tokens does it emit on average?
#   answer: 5 positions: the 4 drafts and the one after them, which gives a bonus token when all 4 pass. On average $(1 - 0.8^5) / 0.2 = 3.36$ tokens, so the target spends 5 / 3.36 = 1.49x its FLOPs per emitted token.
#   see: output "target scores 5 positions per pass"
# - What does the `+ 1` on line 103 count?
#   answer: The token every target pass contributes: the residual draw at the first rejection, or the bonus token from the extra position when all drafts are accepted.
#   see: line 103
# lab:traps
# - Speculative decoding approximates the big model, or only works with greedy decoding.
#   why: With the rule on lines 92-97 the samples follow `p` exactly at any temperature: the measured TV to `p` is 0.0014 at T = 1 and 0.0013 at T = 0.5, sampling noise.
# - Speculative decoding saves compute.
#   why: It saves sequential target passes, not FLOPs: the target scores 5 positions per pass to emit 3.36 tokens (1.49x its FLOPs per token), and the draft model runs too.
# - After a rejection, the replacement is drawn from `p`.
#   why: Accepted drafts already supply $\min(p, q)$ of each token's probability; drawing from `p` adds $(1 - \alpha)\,p$ on top and biases the output toward the draft's tokens. Only the residual on line 94 supplies exactly the missing mass.
#
# lab:interview
# A small draft model proposes $\gamma$ tokens from $q$, and the target scores them, plus one
# position more, in a single pass that gives $p$. Each draft $x$ is kept with probability
# $\min(1, p(x)/q(x))$; at the first rejection a token is drawn from the residual $\max(p - q, 0)$.
#
# The kept mass $\min(p, q)$ plus the rejected mass times the residual is exactly $p$, at any
# temperature; 400k draws agree within a TV of 0.002.
#
# With acceptance $\alpha = 0.8$ and $\gamma = 4$, a pass yields
# $(1 - \alpha^{\gamma+1}) / (1 - \alpha) = 3.36$ tokens. Extra FLOPs buy fewer sequential passes,
# which pays while decode is bandwidth-bound.
#
# lab:intuition
# - The draft is a fast typist writing ahead; the target is an editor who reads the whole line in one glance. Reading 5 words costs the editor about as much as reading 1, so every accepted word is nearly free.
# - The acceptance rate is the overlap of two histograms, $\sum \min(p, q)$: a draft that is confident in the wrong places loses, even if it is usually right.
# - Each further draft position pays off only if all before it were accepted: at alpha = 0.8 the 4th draft adds $0.8^4 \approx 0.4$ tokens on average, so long drafts give diminishing returns.

# lab:figure tokens
# kind: line
# title: Each extra draft position adds less, because it counts only if every draft before it passed
# caption: Tokens per target pass against draft length gamma, from the formula (1 - alpha^(gamma+1)) / (1 - alpha)
#   and from 20,000 passes of the lab's simulation. At alpha = 0.8, gamma = 4 gives 3.36, and no draft
#   length can pass 1 / (1 - alpha) = 5.
# x: gamma "draft length gamma" d
# y: tokens "tokens per target pass" .2f
# color: source "source"
# control: alpha "acceptance rate alpha" .1f
# default: 0.8
# says: At alpha = {{alpha}} a draft of 4 tokens gives {{tokens|source=formula, gamma=4}} tokens per target pass by the formula and {{tokens|source=simulated, gamma=4}} in the simulation.
# lab:figure speedup
# kind: line
# title: The best draft length depends on how often drafts pass and how cheap the draft model is
# caption: Wall-clock speedup, tokens per pass / (1 + gamma x c), for a draft step costing c of a target pass,
#   if scoring gamma + 1 positions costs one pass. At alpha = 0.8 a draft with c = 0.2 peaks at gamma = 4
#   (1.87x) and one with c = 0.05 at gamma = 8 (3.09x); at alpha = 0.5 long drafts of c = 0.2 fall below 1x.
# x: gamma "draft length gamma" d
# y: speedup "speedup over plain decoding" .2f
# color: draft "draft step cost"
# control: alpha "acceptance rate alpha" .1f
# default: 0.8
# says: At alpha = {{alpha}} a draft costing c = 0.2 peaks at gamma = {{gamma|draft="c = 0.2", speedup=max, gamma=min}} ({{speedup|draft="c = 0.2", speedup=max}}x), one costing c = 0.05 at gamma = {{gamma|draft="c = 0.05", speedup=max, gamma=min}} ({{speedup|draft="c = 0.05", speedup=max}}x).
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
# lab:explain 86-97 Draft, test, and repair
# For a token x, the probability of emitting it is $q(x)\min(1, p(x)/q(x)) = \min(p(x), q(x))$ from
# acceptance, plus $(1 - \sum_y \min(p(y), q(y)))\,r(x)$ from repair. With $r \propto \max(p - q, 0)$
# the two add up to $p(x)$: that is the whole proof of exactness.
#
# lab:explain 100-103 Tokens per target pass
# `cumprod` zeroes everything after the first rejection, so the row sum counts the accepted
# prefix. The final `+ 1` is the token the target pass always contributes. The speedup printed
# below is $E / (1 + \gamma c)$: $E$ tokens per pass, against one target pass plus $\gamma$ draft
# tokens that each cost a fraction $c$ of a target pass. It assumes that scoring $\gamma + 1 = 5$
# positions costs what one costs, which holds while decode is bandwidth-bound.


def tv(a, b):
    return 0.5 * np.abs(a - b).sum()


def expected_tokens(alpha, gamma):
    return (1 - alpha ** (gamma + 1)) / (1 - alpha)  # each draft position passes with rate alpha


def speedup(alpha, gamma, c):
    return expected_tokens(alpha, gamma) / (1 + gamma * c)  # a target pass plus gamma draft steps of cost c


def figures():
    """The data of the figures declared above, computed with the lab's own functions."""
    rng = np.random.default_rng(1)
    tokens, gains = [], []
    for alpha in (0.5, 0.6, 0.7, 0.8, 0.9):
        for gamma in range(11):
            # tokens: the formula, and tokens_per_target_pass over 20,000 simulated passes
            tokens += [(alpha, gamma, "formula", expected_tokens(alpha, gamma)),
                       (alpha, gamma, "simulated", float(tokens_per_target_pass(alpha, gamma, 20_000, rng)))]
            # speedup: the same for two draft costs, as main() prints them
            gains += [(alpha, gamma, f"c = {c}", speedup(alpha, gamma, c)) for c in (0.05, 0.2)]
    return {"tokens": dict(zip(("alpha", "gamma", "source", "tokens"), map(list, zip(*tokens)))),
            "speedup": dict(zip(("alpha", "gamma", "draft", "speedup"), map(list, zip(*gains))))}


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
    formula = expected_tokens(alpha, gamma)
    simulated = tokens_per_target_pass(alpha, gamma, DRAWS, rng)
    print(f"alpha = {alpha}, gamma = {gamma}: {simulated:.3f} tokens per target pass "
          f"(formula {formula:.3f}); target scores {gamma + 1} positions per pass, "
          f"{(gamma + 1) / formula:.2f}x its FLOPs per emitted token")
    for c in (0.05, 0.2):
        print(f"  draft cost {c} of a target pass: wall-clock speedup {speedup(alpha, gamma, c):.2f}x")
    assert abs(simulated - formula) < 0.01 and round(formula, 2) == 3.36


if __name__ == "__main__":
    main()
