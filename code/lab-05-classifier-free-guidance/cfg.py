"""Lab 05 - Classifier-free guidance.

A 1-D world with two classes, x0 ~ N(-1, 1) for class 0 and N(+1, 1) for class 1, with equal
priors. The exact noise predictor is known for both the conditional and the unconditional model,
so guidance can be studied without training anything. Sampler: DDIM (eta = 0), 100 steps.
"""
# lab:goal See that classifier-free guidance extrapolates from the unconditional toward the conditional prediction, and that it costs two denoiser calls per step.
#
# lab:mental-model
# - One network serves both roles: trained with the label sometimes dropped, it predicts $\epsilon_c$ with a label and $\epsilon_u$ without.
# - Guidance combines them: $\tilde\epsilon = \epsilon_u + s\,(\epsilon_c - \epsilon_u)$; s = 0 is unconditional, s = 1 conditional.
# - s > 1 pushes past the conditional model, away from what the unconditional model expects.
# - Each guided step needs both predictions: 2 NFE per step, or one call on a doubled batch.
#
# lab:checkpoints
# - s = 1 is exactly the conditional model.
#   answer: The samples match a run that uses only $\epsilon_c$ to round-off (the script asserts below 1e-12), with mean 1.00 and std 0.98, close to the class's N(1, 1).
# - s = 0 gives the unconditional mixture.
#   answer: Mean 0.00 and std 1.40, close to the mixture's $\sqrt{2} = 1.41$ (the 100-step sampler loses a little variance, as in lab 04).
# - Larger s moves samples further from the other class and narrows them.
#   answer: s = 3 gives mean 2.02 and std 0.64; s = 7 gives mean 3.05 and std 0.50, a distribution the data never had.
# - Guidance doubles the cost.
#   answer: 100 guided steps cost 200 denoiser calls; s = 0 or s = 1 need only one of the two predictions.
#
# lab:traps
# - Misread: mixing scale conventions. Diffusers' `guidance_scale` s has s = 1 as no guidance; Ho and Salimans write $(1+w)\epsilon_c - w\,\epsilon_u$, so their w = 0 is no guidance and s = 1 + w.
# - Guidance does not sample the conditional distribution more faithfully: at s = 7 the mean is 3, three times the class mean.
# - The unconditional prediction does not need a second model: it is the same network with the condition replaced by a null token.
#
# lab:interview
# The state is the batch of samples x_t (40,000 scalars here) moving through a 100-step DDIM loop,
# and at every step the denoiser is evaluated twice on it: once with the class label and once with
# the label dropped, which the network learned because the label was dropped at random in training.
# Guidance forms $\epsilon_u + s(\epsilon_c - \epsilon_u)$: s = 1 reproduces the conditional model, and
# s > 1 extrapolates. In this two-class example s = 0, 1, 3, 7 move the mean from 0 to 1, 2 and 3 and
# shrink the std from 1.40 to 0.50, which is the fidelity-for-diversity trade. On the systems side the
# two passes double NFE, or double the batch if they are stacked into one call, so for any scale
# other than 0 or 1 guidance costs 2x compute per step, however large the scale.

import numpy as np

T, STEPS, N = 1000, 100, 40_000
alpha_bar = np.cumprod(1.0 - np.linspace(1e-4, 0.02, T))
CLASS_MEANS, CLASS_STD = np.array([-1.0, 1.0]), 1.0  # x0 | c ~ N(CLASS_MEANS[c], 1), P(c) = 1/2

# lab:begin guidance
def eps_model(x, a, label):
    """Exact noise prediction; label None plays the dropped (null) condition."""
    var = a * CLASS_STD**2 + (1 - a)  # (1)
    eps_c = np.sqrt(1 - a) * (x[None] - np.sqrt(a) * CLASS_MEANS[:, None]) / var
    if label is not None:
        return eps_c[label]
    log_w = -(x[None] - np.sqrt(a) * CLASS_MEANS[:, None]) ** 2 / (2 * var)
    w = np.exp(log_w - log_w.max(axis=0))
    return (w * eps_c).sum(axis=0) / w.sum(axis=0)  # (2)


def guided_sample(x_T, scale, label=1, guided=True):
    ts = np.linspace(T - 1, 0, STEPS).round().astype(int)
    x, nfe = x_T.copy(), 0
    for i, t in enumerate(ts):
        a, a_prev = alpha_bar[t], (alpha_bar[ts[i + 1]] if i + 1 < STEPS else 1.0)
        if guided:
            eps_u = eps_model(x, a, None)  # (3)
            eps_c = eps_model(x, a, label)
            eps, nfe = eps_u + scale * (eps_c - eps_u), nfe + 2  # (4)
        else:
            eps, nfe = eps_model(x, a, label), nfe + 1  # (5)
        x0_hat = (x - np.sqrt(1 - a) * eps) / np.sqrt(a)
        x = np.sqrt(a_prev) * x0_hat + np.sqrt(1 - a_prev) * eps  # (6)
    return x, nfe
# lab:end guidance
# lab:notes guidance
# (1) Variance of x_t given the class: $\bar\alpha_t \sigma_c^2 + (1 - \bar\alpha_t)$ (here exactly 1, since $\sigma_c = 1$).
# (2) The unconditional score of a mixture is the posterior-weighted average of the class scores.
# (3) The same model with the condition dropped: in training, labels were replaced by a null token at random.
# (4) Guidance as in Diffusers: s = 1 gives `eps_c`, s > 1 extrapolates. Two calls per step.
# (5) Plain conditional sampling: one call per step.
# (6) A deterministic DDIM step (lab 04) fed with the guided noise estimate.
#
# lab:explain 47-55 Two predictions from one model
# For Gaussian classes the conditional noise prediction is linear in x. The unconditional one
# weighs the two classes by how likely each is to have produced x at this noise level, which is
# what a network trained with dropped labels learns to output.
#
# lab:explain 58-71 The guided loop
# Each step evaluates the model with and without the label and extrapolates along their
# difference. The sampler step is unchanged; only the noise estimate it consumes is guided, and the
# NFE counter shows the price.


def main():
    rng = np.random.default_rng(0)
    x_T = rng.standard_normal(N)
    print(f"classes N(-1, 1) and N(+1, 1), sampling class 1; DDIM {STEPS} steps, {N} samples")
    print("  s (diffusers)   w (Ho & Salimans)    mean     std   NFE   P(x < 0)")
    for s in (0.0, 1.0, 3.0, 7.0):
        x, nfe = guided_sample(x_T, s)
        print(f"  {s:13.0f}   {s - 1:17.0f}   {x.mean():5.2f}   {x.std():5.2f}   {nfe:3d}"
              f"   {np.mean(x < 0):8.3f}")
        if s == 1.0:
            x_cond, nfe_cond = guided_sample(x_T, s, guided=False)
            assert np.abs(x - x_cond).max() < 1e-12, "s = 1 is the conditional model"
        if s == 0.0:
            assert abs(x.mean()) < 0.02 and abs(x.std() - 1.39) < 0.02
        if s == 7.0:
            assert abs(x.mean() - 3.0) < 0.1 and abs(x.std() - 0.5) < 0.02
    print(f"conditional only: {nfe_cond} NFE; guided: {nfe} NFE "
          f"(max |x(s=1) - x_cond| below 1e-12)")
    assert nfe == 2 * nfe_cond


if __name__ == "__main__":
    main()
