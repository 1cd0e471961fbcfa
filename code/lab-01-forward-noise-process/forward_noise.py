"""Lab 01 - Forward noise process.

Builds the noisy training inputs of a diffusion model: x_t from clean data x0 and sampled
Gaussian noise, under the linear schedule of the DDPM paper (T = 1000, beta 1e-4 to 0.02).
"""
# lab:goal Read the fixed forward process that turns clean data into a denoiser's training inputs, and check that its one-jump closed form matches the slow step-by-step chain.
#
# lab:mental-model
# - A schedule of $T = 1000$ small noise variances $\beta_t$ is fixed before training; nothing in this file is learned.
# - $\bar\alpha_t = \prod_{s \le t}(1-\beta_s)$ is the fraction of the signal's power left after t steps; $\sqrt{\bar\alpha_t}$ is the fraction of its amplitude.
# - The closed form $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$ reaches any step in one multiply-add, with the same distribution as t small steps.
# - `noise` is both an ingredient of `x_t` and the regression target: the network sees $(x_t, t)$ and learns to predict $\epsilon$.
#
# lab:checkpoints
# - What shape does `a` have on line 86, and why does it need the added axis?
#   answer: (512, 1): one $\bar\alpha$ per row, gathered with that row's own t, then broadcast over the row's 64 features. Without the axis, (512,) would try to broadcast against the 64 features and fail.
#   see: line 86
# - At t = 500, how much of x0's amplitude is left in x_t, and what correlation do you expect?
#   answer: $\sqrt{\bar\alpha_{500}} = 0.280$ of the amplitude (only 7.9% of the power). The measured correlation is 0.276: for unit-variance x0 and $x_t$, the correlation is the amplitude coefficient.
#   see: output " 500    7.86e-02"
#   predict: number 3, within 10%
# - std(x_t) prints as about 1.00 at every t. Why, and what does that tell you about the step?
#   answer: The squared coefficients sum to 1 ($\bar\alpha_t + 1 - \bar\alpha_t$), so unit-variance data stays unit variance at every t. The std therefore says nothing about t; the correlation with x0 does.
#   see: line 87
# - If the chain on line 134 ran 50 steps instead of 500, which printed number would change and which assert would stop the program?
#   answer: The correlation would be about $\sqrt{\bar\alpha_{50}} = 0.985$, as the last printed row shows, while the std stays near 1. The assert on line 138 compares the correlation with $\sqrt{\bar\alpha_{500}} = 0.280$ and fails.
#   see: lines 134-138
# - The output shows t in [1, 1000]. Could `training_pair` ever draw t = 0, and what would line 86 do with it?
#   answer: No: `rng.integers(1, T + 1)` includes 1 and excludes only T + 1, so t runs over 1..1000. A t of 0 would not crash: `alpha_bar[-1]` silently picks the last step, the noisiest one, which is why the 1-based t and the `t - 1` index must stay paired.
#   see: line 92
# lab:traps
# - The forward process is how a diffusion model generates images.
#   why: It only adds noise to data you already have (lines 84-87) and has no parameters. Generation runs
#   the learned reverse process, starting from pure noise, and never calls `q_sample`.
# - To train on step t you must first simulate the t - 1 steps before it.
#   why: Independent Gaussian noises add their variances, so t small steps equal one jump with variance
#   $1-\bar\alpha_t$. The output shows 500 Markov steps and one closed-form jump giving the same
#   correlation with x0 (0.279 vs 0.281), and training uses the jump.
# - A std of about 1 means x_t is pure noise.
#   why: std(x_t) is about 1 at every t, even at t = 1 where x_t is almost exactly x0. Only the correlation
#   with x0 measures the signal left; at t = 1000 it is still $\sqrt{\bar\alpha_T} = 0.006$, not 0.
# - The noise in $x_t$ has variance $\sum_s \beta_s$, the sum of the betas added so far.
#   why: Each step also scales the noise already there by $\sqrt{\alpha_s}$, so earlier noise shrinks: the variance
#   is $1-\bar\alpha_t$. On the linear schedule the betas sum to about 10 by t = 1000, while the variance is 1.
#
# lab:interview
# The forward process corrupts clean data with Gaussian noise on a fixed schedule. Because Gaussian
# steps compose, any step is one multiply-add: $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$.
# Nothing is learned; it only builds $(x_t, t, \epsilon)$ training triples.
#
# Here $x_0$ has shape (512, 64) and each row draws its own t, so $\bar\alpha_t$ is gathered to
# shape (512, 1) and broadcast over features. At t = 500, $\bar\alpha_t = 0.079$: 8% of the signal
# power, 28% of its amplitude.
#
# The trade-off sits in the schedule: the linear one leaves $\bar\alpha_T \approx 4\times10^{-5}$,
# not 0, so training never sees pure noise while sampling starts from it.
#
# lab:intuition
# - Read $\bar\alpha_t$ as power and $\sqrt{\bar\alpha_t}$ as amplitude: at t = 500 only 8% of the power is left, yet x_t still correlates 0.28 with x0.
# - The schedule is a cross-fade at constant volume: the signal fades as $\sqrt{\bar\alpha_t}$, the noise rises as $\sqrt{1-\bar\alpha_t}$, and their squares always sum to 1.
# - Many small noise steps are one big one: variances of independent noise add, so a training step can land on any t at the cost of one multiply-add instead of t of them.

# lab:figure amplitude
# kind: line
# title: The correlation of x_t with x0 follows the signal amplitude step for step
# caption: The correlation measured on x_t stays within 0.01 of the signal amplitude sqrt(alpha_bar_t):
#   0.721 against 0.724 at t = 250 and 0.276 against 0.280 at t = 500, as printed. The noise amplitude
#   overtakes the signal where $\bar\alpha_t$ falls below 0.5, a quarter of the way in, and the squares of the two always sum to 1.
# x: t "step t" d
# y: value "amplitude or correlation" .3f
# color: series "series"

import numpy as np

T = 1000
BATCH, FEATURES = 512, 64

# lab:begin forward
betas = np.linspace(1e-4, 0.02, T)  # (1)
alphas = 1.0 - betas
alpha_bar = np.cumprod(alphas)  # (2)


def q_sample(x0, t, noise):
    """Jump from x0 straight to step t (1-based) in closed form."""
    a = alpha_bar[t - 1][:, None]  # (3)
    return np.sqrt(a) * x0 + np.sqrt(1.0 - a) * noise  # (4)


def training_pair(x0, rng):
    """One training example per row: a random step, its noise, and the noisy input."""
    t = rng.integers(1, T + 1, size=x0.shape[0])  # (5)
    noise = rng.standard_normal(x0.shape)  # (6)
    x_t = q_sample(x0, t, noise)
    return x_t, t, noise  # (7)
# lab:end forward
# lab:notes forward
# (1) Per-step noise variances $\beta_1, \dots, \beta_T$, fixed before training (Ho et al., 2020, Section 4).
# (2) `alpha_bar[t - 1]` is $\bar\alpha_t$, the product of $(1-\beta_s)$ for $s \le t$: the fraction of signal power left at step t. Its square root, the amplitude, is the `signal amp` column of the output.
# (3) Gather one $\bar\alpha$ per row with that row's t, giving shape (512,); the added axis makes it (512, 1) so it broadcasts over the 64 features.
# (4) Variance preserving: $(\sqrt{\bar\alpha})^2 + (\sqrt{1-\bar\alpha})^2 = 1$, so unit-variance data keeps unit variance at every t.
# (5) Each row gets its own step in 1..T (the upper bound T + 1 is excluded); over training the same x0 is seen at many noise levels.
# (6) Fresh Gaussian noise on every call: sampled, never learned.
# (7) The network gets $(x_t, t)$ and is trained to predict `noise` (the $\epsilon$ objective).
#
# lab:explain 79-81 The schedule is fixed before training
# The betas rise linearly, and `alpha_bar` is the running product of $1-\beta$. It falls from almost 1
# to about $4\times10^{-5}$ and sets how much of x0 survives at each step.
#
# lab:explain 84-87 Closed form: any step in one multiply-add
# `q_sample` never loops over steps. Indexing `alpha_bar` with the batch of timesteps gives shape
# (512,); the added axis makes it (512, 1) so each row is scaled by its own coefficient.
#
# lab:explain 90-95 A training triple
# The sampled step and noise are inputs to the loss, not outputs of a model. Returning `noise` is
# what makes $\epsilon$ prediction a plain regression target.


# lab:begin chain
def step_by_step(x0, steps, rng):
    """The same marginal the slow way: `steps` Markov steps of q(x_s | x_{s-1})."""
    x = x0
    for s in range(steps):
        x = np.sqrt(alphas[s]) * x + np.sqrt(betas[s]) * rng.standard_normal(x.shape)  # (1)
    return x


def corr_with_x0(x, x0):
    return np.corrcoef(x.ravel(), x0.ravel())[0, 1]  # (2)


def check_closed_form(x0, rng):
    """Reach t = 500 both ways; only the correlation with x0 can tell a wrong step count."""
    chain = step_by_step(x0, 500, rng)  # (3)
    closed = q_sample(x0, np.full(BATCH, 500), rng.standard_normal(x0.shape))
    expected = np.sqrt(alpha_bar[500 - 1])  # (4)
    assert abs(chain.std() - closed.std()) < 0.02  # (5)
    assert abs(corr_with_x0(chain, x0) - expected) < 0.015, "the chain must reach t = 500"  # (6)
    assert abs(corr_with_x0(closed, x0) - expected) < 0.015
    return chain, closed, expected
# lab:end chain
# lab:notes chain
# (1) One forward step $q(x_s \mid x_{s-1})$: shrink by $\sqrt{1-\beta_s}$, add noise of variance $\beta_s$.
# (2) For unit-variance x0 and $x_t$, this correlation estimates $\sqrt{\bar\alpha_t}$, the amplitude of x0 left in $x_t$.
# (3) 500 Markov steps, each with fresh noise: the slow route to step 500.
# (4) The closed form's prediction, computed from the schedule alone: $\sqrt{\bar\alpha_{500}} = 0.280$.
# (5) A weak check: a variance-preserving chain keeps std about 1 after any number of steps.
# (6) The check that sees the step count: 50 steps would leave a correlation of 0.985, far from 0.280.
#
# lab:explain 120-125 The slow route
# Each loop iteration applies one step of the Markov chain to the whole batch. After 500 iterations
# the result should have the distribution that `q_sample` reaches in a single jump.
#
# lab:explain 132-140 Comparing the two routes
# Both routes start from the same x0. Their std cannot differ, whatever the step count, so the test
# that matters compares each correlation with x0 against $\sqrt{\bar\alpha_{500}}$, a number taken
# from the schedule rather than from either simulation.


def figures():
    """The data of the figure declared above, computed with the lab's own functions."""
    # amplitude: the schedule's two amplitudes and the correlation measured on x_t, every 50th step;
    # main()'s five steps come first, so they reuse its random draws and match the printed table
    rng = np.random.default_rng(0)
    x0 = rng.choice([-1.0, 1.0], size=(BATCH, FEATURES))
    corr = {}
    for step in (1, 250, 500, 750, 1000, *(s for s in range(50, T, 50) if s % 250)):
        corr[step] = float(corr_with_x0(q_sample(x0, np.full(BATCH, step), rng.standard_normal(x0.shape)), x0))
    rows = []
    for step in sorted(corr):
        a = alpha_bar[step - 1]
        rows += [(step, float(np.sqrt(a)), "signal amplitude sqrt(alpha_bar_t)"),
                 (step, float(np.sqrt(1 - a)), "noise amplitude sqrt(1 - alpha_bar_t)"),
                 (step, corr[step], "measured corr(x_t, x0)")]
    return {"amplitude": dict(zip(("t", "value", "series"), map(list, zip(*rows))))}


def main():
    rng = np.random.default_rng(0)
    x0 = rng.choice([-1.0, 1.0], size=(BATCH, FEATURES))  # pixels scaled to [-1, 1]: unit variance
    print(f"x0 shape {x0.shape}, schedule T = {T}")
    print("   t   alpha_bar   signal amp   noise amp   corr(x_t, x0)   std(x_t)")
    for step in (1, 250, 500, 750, 1000):
        x_t = q_sample(x0, np.full(BATCH, step), rng.standard_normal(x0.shape))
        corr, a = corr_with_x0(x_t, x0), alpha_bar[step - 1]
        print(f"{step:4d}   {a:9.2e}   {np.sqrt(a):10.3f}   {np.sqrt(1 - a):9.3f}"
              f"   {corr:13.3f}   {x_t.std():8.3f}")
        assert abs(corr - np.sqrt(a)) < 0.02, "x_t keeps sqrt(alpha_bar) of x0's amplitude"
        assert abs(x_t.std() - 1.0) < 0.02, "the process preserves unit variance"

    chain, closed, expected = check_closed_form(x0, rng)
    short = step_by_step(x0, 50, rng)
    print("t = 500 reached two ways        std(x)   corr(x, x0)")
    for name, x in (("500 Markov steps", chain), ("closed form, one jump", closed)):
        print(f"  {name:27s}  {x.std():6.3f}   {corr_with_x0(x, x0):11.3f}")
    print(f"  {'expected':27s}  {1.0:6.3f}   {expected:11.3f}   (sqrt(alpha_bar_500))")
    print(f"  {'50 steps (a wrong count)':27s}  {short.std():6.3f}   {corr_with_x0(short, x0):11.3f}")

    x_t, t, noise = training_pair(x0, rng)
    print(f"training pair: x_t {x_t.shape}, t {t.shape} in [{t.min()}, {t.max()}], "
          f"target = noise {noise.shape}")
    assert np.all(np.diff(alpha_bar) < 0) and 0 < alpha_bar[-1] < 1e-4


if __name__ == "__main__":
    main()
