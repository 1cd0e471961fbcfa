"""Lab 41 - Compute-optimal scaling and the critical batch: split a budget between N and D, then pick B.

Uses C = 6ND and the parametric loss fitted by Hoffmann et al. (Approach 3), L = E + A/N^alpha +
B/D^beta, to price a 70B model on 1.4T tokens and Gopher's 280B on 300B, finds the fit's own
optimum at that compute on a grid and in closed form, and estimates a critical batch size from
the gradient noise of simulated mini-batches.
"""
# lab:goal Split a training budget between parameters and tokens, and see what a batch larger or smaller than the critical batch costs.
#
# lab:mental-model
# - Training costs $C \approx 6ND$ FLOPs for $N$ parameters and $D$ tokens, so at a fixed budget, more parameters mean fewer tokens.
# - A fitted loss $L(N, D) = E + A/N^\alpha + B/D^\beta$ says how much each shortfall costs; minimizing it on the line $6ND = C$ gives the compute-optimal split.
# - With this fit the optimum grows as $N \propto C^{a}$, $a = \beta/(\alpha + \beta)$: both grow, roughly as the square root of compute.
# - The critical batch size is where doubling the batch stops halving the steps: $S = S_{min}(1 + B_{crit}/B)$ steps and $E = E_{min}(1 + B/B_{crit})$ examples.
#
# lab:checkpoints
# - Before you run it: at $C = 5.88 \times 10^{23}$ FLOPs and 20 tokens per parameter, how many parameters and tokens do you get?
#   answer: $N = \sqrt{C / 120}$ = 70 billion parameters and 1.4 trillion tokens, Chinchilla's size; the fit gives it a loss of 1.9366.
#   see: output "20 tokens a parameter"
#   predict: number 4, within 10%
# - Does the fitted law itself put the optimum at 20 tokens a parameter?
#   answer: No: its closed form gives 32.5B parameters on 3.02T tokens, 93 tokens a parameter, with a loss only 0.0067 lower than 70B/1.4T. The 20-token rule comes from the paper's other two approaches, and the loss surface is flat near the optimum.
#   see: output "the fit's optimum"
# - Training at a quarter of the critical batch, how many more steps and examples does a run need than the minimum of each?
#   answer: 5 times the minimum steps but only 1.25 times the minimum examples; at 4 times the critical batch it is the other way round.
#   see: output "B = B_crit / 4"
# lab:traps
# - The fitted Chinchilla law says to train with 20 tokens per parameter.
#   why: Its closed-form optimum at this compute is 93 tokens a parameter (line 61); the 20-token rule comes from the paper's iso-FLOP and envelope approaches, and the fit is nearly flat between them.
# - A larger batch always trains faster.
#   why: Past the critical batch, doubling the batch barely cuts the steps: at 4 times $B_{crit}$ a run takes 1.25 times the minimum steps but 5 times the minimum examples, so it spends compute for little time.
#
# lab:interview
# Training costs about $C = 6ND$, and Hoffmann et al. fit the loss as $L = E + A/N^\alpha + B/D^\beta$ with $E = 1.69$, $A = 406.4$, $B = 410.7$, $\alpha = 0.34$, $\beta = 0.28$.
# Minimizing on $6ND = C$ gives $N_{opt} = G\,(C/6)^{\beta/(\alpha+\beta)}$, and both $N$ and $D$ grow roughly as the square root of compute.
# At Chinchilla's $5.88 \times 10^{23}$ FLOPs, 70B parameters on 1.4T tokens (20 a parameter) reach a fitted loss of 1.9366, while Gopher's 280B on 300B tokens ($5.04 \times 10^{23}$ FLOPs), with far less data per parameter, reaches 1.9933; the fit's own optimum, 32.5B on 3.02T, is only 0.0067 lower, because the surface is flat there.
# The batch is a separate choice: the gradient noise scale $B_{simple} = \mathrm{tr}(\Sigma)/|G|^2$ estimates the critical batch, beyond which more parallelism buys little.
#
# lab:intuition
# - Compute is a rectangle of area $C/6$ with sides $N$ and $D$: the fit says which rectangle of that area is lowest, and near the best one the choice barely matters.
# - Below the critical batch you pay in steps, above it in examples; at the critical batch you pay twice the minimum of each.

import numpy as np

E_FIT, A_FIT, B_FIT, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28  # Hoffmann et al., Approach 3
CHINCHILLA_C = 5.88e23  # FLOPs of 70B parameters on 1.4T tokens, 6ND


# lab:begin optimum
def loss(n, d):
    return E_FIT + A_FIT / n**ALPHA + B_FIT / d**BETA  # (1)


def tokens_for(n, compute):
    return compute / (6 * n)  # (2)


def optimum(compute):
    a = BETA / (ALPHA + BETA)
    g = (ALPHA * A_FIT / (BETA * B_FIT)) ** (1 / (ALPHA + BETA))
    n = g * (compute / 6) ** a  # (3)
    return n, tokens_for(n, compute)
# lab:end optimum
# lab:notes optimum
# (1) The fitted loss: an irreducible $E$, plus what too few parameters and too few tokens each cost.
# (2) The budget line: at fixed compute, tokens are what the parameters leave over.
# (3) Setting the derivative of $L$ along $6ND = C$ to zero gives this closed form, with $a = \beta/(\alpha+\beta) = 0.452$.
#
# lab:explain 50-62 The loss on the compute line, and its minimum
# Every $(N, D)$ with $6ND = C$ costs the same; `loss` ranks them and `optimum` finds the lowest
# in closed form, which the program checks against a search over a fine grid of $N$.

# lab:begin batch
def steps_and_examples(batch, critical):
    return 1 + critical / batch, 1 + batch / critical  # (1)


def noise_scale(grad, trace_sigma, batches, rng, draws=200):
    """B_simple from the mean squared norm of mini-batch gradients at two batch sizes."""
    sq = [np.mean(np.sum((grad + rng.standard_normal((draws, grad.size)) * np.sqrt(trace_sigma / grad.size / b)) ** 2,
                         axis=1)) for b in batches]  # (2)
    (b_small, s_small), (b_big, s_big) = zip(batches, sq)
    g2 = (b_big * s_big - b_small * s_small) / (b_big - b_small)
    trace = (s_small - s_big) / (1 / b_small - 1 / b_big)
    return trace / g2  # (3)
# lab:end batch
# lab:notes batch
# (1) McCandlish et al.'s trade-off: steps over the minimum and examples over the minimum, for a batch relative to the critical one.
# (2) A mini-batch gradient is the true one plus noise whose variance shrinks as $1/B$: $\mathbb{E}|G_B|^2 = |G|^2 + \mathrm{tr}(\Sigma)/B$.
# (3) Two batch sizes give two equations for $|G|^2$ and $\mathrm{tr}(\Sigma)$; their ratio is $B_{simple}$.
#
# lab:explain 74-85 Critical batch and gradient noise
# The step and example counts trade against each other through the critical batch; the noise
# scale, measured from how the gradient's norm falls with the batch, estimates it.


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rows = []
    for compute in (1e21, 1e22, 1e23, CHINCHILLA_C, 1e24):
        for n in np.logspace(8, 12, 33):
            rows.append((f"{compute:.2e}", n / 1e9, loss(n, tokens_for(n, compute))))
    trade = [(ratio, name, value) for ratio in (0.125, 0.25, 0.5, 1, 2, 4, 8)
             for name, value in zip(("steps / minimum", "examples / minimum"), steps_and_examples(ratio, 1.0))]
    return {"iso-flop": dict(zip(("compute", "billions", "loss"), map(list, zip(*rows)))),
            "batch": dict(zip(("ratio", "cost", "times"), map(list, zip(*trade))))}


# lab:figure iso-flop
# kind: line
# title: At fixed compute the loss has a flat minimum between too few parameters and too few tokens
# caption: Fitted loss along $6ND = C$ for the chosen budget. At $5.88 \times 10^{23}$ FLOPs the minimum is at 32.5B
#   parameters; 70B on 1.4T tokens is only 0.0067 higher.
# x: billions "parameters N (billions)" .4g
# y: loss "fitted loss" .4f
# control: compute "compute C (FLOPs)"
# default: 5.88e+23
# says: At C = {{compute}} FLOPs the lowest point drawn is {{loss|loss=min}}, at {{billions|loss=min}}B parameters: the optimum is within a grid step of it.
# x-scale: log
# lab:figure batch
# kind: line
# title: Below the critical batch a run pays in steps, above it in examples
# caption: Steps and examples over their minima for a batch relative to the critical batch: 5 and 1.25 at a
#   quarter of it, 2 and 2 at it, 1.25 and 5 at four times it.
# x: ratio "batch / critical batch" .4g
# y: times "times the minimum" .3g
# color: cost "cost"
# x-scale: log
# y-scale: log


def main():
    n20 = np.sqrt(CHINCHILLA_C / 120)
    print(f"C = 6ND: 20 tokens a parameter at {CHINCHILLA_C:.2e} FLOPs is {n20 / 1e9:.1f}B parameters on "
          f"{20 * n20 / 1e12:.2f}T tokens, loss {loss(n20, 20 * n20):.4f}")
    print(f"Gopher, 280B parameters on 300B tokens ({6 * 280e9 * 300e9:.2e} FLOPs): loss {loss(280e9, 300e9):.4f}")
    n_opt, d_opt = optimum(CHINCHILLA_C)
    grid = np.logspace(9, 13, 20001)
    best = grid[np.argmin(loss(grid, tokens_for(grid, CHINCHILLA_C)))]
    print(f"the fit's optimum at that compute: {n_opt / 1e9:.1f}B parameters on {d_opt / 1e12:.2f}T tokens "
          f"({d_opt / n_opt:.0f} tokens a parameter), loss {loss(n_opt, d_opt):.4f}, "
          f"{loss(n20, 20 * n20) - loss(n_opt, d_opt):.4f} below 70B/1.4T; exponent a = {BETA / (ALPHA + BETA):.3f}")
    assert abs(best / n_opt - 1) < 1e-3, "the grid search finds the closed form"
    assert all(np.isclose(6 * n * tokens_for(n, CHINCHILLA_C), CHINCHILLA_C) for n in (1e9, 7e10, 1e12))

    for label, ratio in (("B = B_crit / 4", 0.25), ("B = B_crit", 1.0), ("B = 4 B_crit", 4.0)):
        steps, examples = steps_and_examples(ratio, 1.0)
        print(f"{label}: {steps:.2f}x the minimum steps, {examples:.2f}x the minimum examples")
        assert np.isclose((steps - 1) * (examples - 1), 1.0)
    grad = np.full(1000, 1 / np.sqrt(1000))  # |G|^2 = 1, so B_simple = tr(Sigma) = 1000
    estimate = noise_scale(grad, 1000.0, (64, 4096), np.random.default_rng(0))
    print(f"B_simple from mini-batches of 64 and 4096: about {round(estimate, -2):.0f} (true 1000)")
    assert abs(estimate / 1000 - 1) < 0.1


if __name__ == "__main__":
    main()
