"""Lab 01 - Forward noise process.

Builds the noisy training inputs of a diffusion model: x_t from clean data x0 and sampled
Gaussian noise, under the linear schedule of the DDPM paper (T = 1000, beta 1e-4 to 0.02).
"""
# lab:goal Read the fixed forward process that creates noisy training examples.
#
# lab:mental-model
# - `alpha_bar_t` controls how much signal remains.
# - `noise` is sampled, not learned.
# - `x_t` is the supervised input for the denoiser.
#
# lab:checkpoints
# - Forward noise is a training construction.
#   answer: Nothing in `q_sample` has parameters; it only manufactures (x_t, t, noise) triples.
# - The model learns reverse behavior from these corrupted samples.
#   answer: The denoiser is trained to recover `noise` from `x_t` and `t`; reversing is its job.
# - The same image can appear at many noise levels.
#   answer: `t` is drawn per example on every step, so one x0 is seen at many values of t.
#
# lab:traps
# - Forward process is not the generator.
# - The denoiser does not see a clean target at inference.
#
# lab:interview
# The forward process takes a clean sample x0 and returns x_t = sqrt(alpha_bar_t) * x0 +
# sqrt(1 - alpha_bar_t) * noise in one step, because a chain of Gaussian steps collapses to a
# single Gaussian. The state being transformed is the data tensor: here a batch of shape
# (512, 64), with one timestep per row, so alpha_bar is gathered per example and broadcast over
# the feature axis. Nothing here is learned; it only builds (x_t, t, noise) training triples and
# the network is trained to predict the noise. The trade-off sits in the schedule: the linear
# schedule leaves alpha_bar_T at about 4e-5, not zero, so training never sees pure noise while
# sampling starts from it.

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
# (1) Per-step noise variances beta_1..beta_T, fixed before training (Ho et al., 2020).
# (2) `alpha_bar[t - 1]` is the product of (1 - beta_s) for s <= t: the signal fraction at step t.
# (3) Gather one alpha_bar per row, then add an axis so it broadcasts over the 64 features.
# (4) Variance preserving: the squared coefficients sum to 1, so unit-variance data stays unit variance.
# (5) Each example gets its own step; the same x0 is seen at many noise levels over training.
# (6) Fresh Gaussian noise every call: sampled, never learned.
# (7) The network gets (x_t, t) and is trained to predict `noise` (the epsilon objective).
#
# lab:explain 41-43 The schedule is fixed before training
# Betas rise linearly, and `alpha_bar` is their running product of (1 - beta). It falls from
# almost 1 to about 4e-5, which sets how much of x0 survives at each step.
#
# lab:explain 46-49 Closed form: any step in one multiply-add
# `q_sample` never loops over steps. Indexing `alpha_bar` with the batch of timesteps gives shape
# (512,); the added axis makes it (512, 1) so each row is scaled by its own coefficient.
#
# lab:explain 52-57 A training triple
# The sampled step and noise are inputs to the loss, not outputs of a model. Returning `noise`
# is what makes epsilon prediction a plain regression target.


def step_by_step(x0, t, rng):
    """The same marginal the slow way: t Markov steps of q(x_s | x_{s-1})."""
    x = x0
    for s in range(t):
        x = np.sqrt(alphas[s]) * x + np.sqrt(betas[s]) * rng.standard_normal(x.shape)
    return x


def main():
    rng = np.random.default_rng(0)
    x0 = rng.choice([-1.0, 1.0], size=(BATCH, FEATURES))  # pixels scaled to [-1, 1]
    print(f"x0 shape {x0.shape}, schedule T = {T}")
    print("   t   alpha_bar   signal   noise   corr(x_t, x0)   std(x_t)")
    for step in (1, 250, 500, 750, 1000):
        t = np.full(BATCH, step)
        x_t = q_sample(x0, t, rng.standard_normal(x0.shape))
        corr = np.corrcoef(x_t.ravel(), x0.ravel())[0, 1]
        a = alpha_bar[step - 1]
        print(f"{step:4d}   {a:9.2e}   {np.sqrt(a):6.3f}   {np.sqrt(1 - a):5.3f}"
              f"   {corr:13.3f}   {x_t.std():8.3f}")
        assert abs(corr - np.sqrt(a)) < 0.02, "x_t keeps sqrt(alpha_bar) of the signal"
        assert abs(x_t.std() - 1.0) < 0.02, "the process preserves unit variance"

    chain = step_by_step(x0, 500, rng)
    closed = q_sample(x0, np.full(BATCH, 500), rng.standard_normal(x0.shape))
    print(f"t = 500, step by step vs closed form: std {chain.std():.3f} vs {closed.std():.3f}, "
          f"corr with x0 {np.corrcoef(chain.ravel(), x0.ravel())[0, 1]:.3f} vs "
          f"{np.corrcoef(closed.ravel(), x0.ravel())[0, 1]:.3f}")
    assert abs(chain.std() - closed.std()) < 0.02

    x_t, t, noise = training_pair(x0, rng)
    print(f"training pair: x_t {x_t.shape}, t {t.shape} in [{t.min()}, {t.max()}], "
          f"target = noise {noise.shape}")
    assert np.all(np.diff(alpha_bar) < 0) and 0 < alpha_bar[-1] < 1e-4


if __name__ == "__main__":
    main()
