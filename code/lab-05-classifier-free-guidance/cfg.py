"""Lab 05 - Classifier-free guidance.

A 1-D world with two classes, x0 ~ N(-1, 1) for class 0 and N(+1, 1) for class 1, with equal
priors. The exact noise predictor is known for both the conditional and the unconditional model,
so guidance can be studied without training anything. Sampler: DDIM (eta = 0), 100 steps.
"""
# lab:goal See that classifier-free guidance extrapolates from the unconditional toward the conditional prediction, and that it costs two denoiser calls per step.
#
# lab:mental-model
# - The score $\nabla_x \log p_t(x)$ points where noisy samples become more likely; the best noise prediction is the score flipped and scaled, $\hat\epsilon(x_t) = -\sqrt{1-\bar\alpha_t}\,\nabla_x \log p_t(x_t)$.
# - One network serves both roles: trained with the label sometimes dropped, it predicts $\epsilon_c$ with a label and $\epsilon_u$ without.
# - Guidance combines them: $\tilde\epsilon = \epsilon_u + s\,(\epsilon_c - \epsilon_u)$; s = 0 is unconditional, s = 1 conditional, s > 1 pushes past the conditional model.
# - Each guided step needs both predictions: 2 NFE per step, or one call on a doubled batch.
#
# lab:checkpoints
# - How far is the s = 1 sample from a run that uses only the conditional prediction?
#   answer: Within round-off (the script asserts below 1e-12), because $\epsilon_u + 1 \cdot (\epsilon_c - \epsilon_u) = \epsilon_c$. Its mean 1.00 and std 0.98 are close to the class's N(1, 1).
#   see: output "conditional only"
# - At s = 0, which distribution does the sampler target, and what std do you expect?
#   answer: The unconditional mixture of both classes: mean 0 and std $\sqrt{1 + 1} \approx 1.4$ (class variance 1 plus the variance 1 of the class means). The printed 1.40 is a little lower because 100 steps lose some variance, as in lab 04.
#   see: output "-1    0.00    1.40"
#   predict: number 4, within 10%
# - What do s = 3 and s = 7 do to the mean and the std, compared with the class N(1, 1)?
#   answer: s = 3 gives mean 2.02 and std 0.64; s = 7 gives mean 3.05 and std 0.50. The samples move past the class mean, away from class 0, and narrow: a distribution the data never had.
#   see: output "7                   6    3.05"
# - How many denoiser calls do 100 guided steps make, and does a larger scale cost more?
#   answer: 200 at every scale: line 108 counts two calls per step whatever s is. Only s = 0 or s = 1 could skip one of the two predictions.
#   see: line 108
# - Which lines turn the two class predictions into the unconditional one, and with what weights?
#   answer: Lines 95-97 weight each class by how likely it is to have produced x at this noise level, $P(c \mid x_t)$, computed stably by subtracting the largest log weight before `np.exp`.
#   see: lines 95-97
# lab:traps
# - Diffusers' `guidance_scale` and the paper's w are the same number.
#   why: Ho and Salimans write $(1+w)\,\epsilon_c - w\,\epsilon_u$, so w = s - 1: the printed table shows s = 1 next to
#   w = 0, both meaning no guidance.
# - A higher guidance scale samples the conditional distribution more faithfully.
#   why: At s = 7 the mean is 3.05, three times the class mean, and the std 0.50 instead of 1: guidance trades
#   diversity for samples that look strongly like class 1, not for a truer class-1 distribution.
# - The unconditional prediction needs a second model.
#   why: It is the same network with the label replaced by a null token (here `None` on line 106), which it
#   learned because labels were dropped at random during training.
# - A negative prompt is a separate mechanism from classifier-free guidance.
#   why: It is the same formula with the prediction for the negative text in place of $\epsilon_u$: the guided step
#   (line 108) moves $s$ times the difference away from it, at the same two calls per step.
#
# lab:interview
# Classifier-free guidance runs one network twice per step, with the label and with it dropped, and forms
# $\tilde\epsilon = \epsilon_u + s(\epsilon_c - \epsilon_u)$; the network can do both because labels were dropped at random in training.
#
# $s = 1$ is the conditional model and $s > 1$ extrapolates. In this two-class example s = 0, 1, 3, 7 move the mean
# from 0 to 1, 2 and 3 and shrink the std from 1.40 to 0.50: fidelity bought with diversity.
#
# The two passes double NFE at any scale other than 0 or 1; stacking them into one batch halves the calls,
# not the FLOPs.
#
# lab:intuition
# - Guidance is extrapolation along a line: $\epsilon_u$ sits at s = 0, $\epsilon_c$ at s = 1, and s = 7 goes six more lengths past $\epsilon_c$ in the same direction.
# - The score is an arrow at every point toward likelier data; guidance lengthens the part of the arrow that the label adds, so samples are pushed away from where the other class could have produced them.
# - Cost rule of thumb: a guided sampler costs 2 x steps denoiser calls; the scale itself is free.

# lab:figure moments
# kind: line
# title: A larger guidance scale moves the samples past the class mean and narrows them
# caption: At s = 1 the samples have mean 1.00 and std 0.98, close to class 1's N(+1, 1); at s = 7 the mean
#   is 3.05 and the std 0.50. Each unit of s moves the mean less: +0.61 from s = 1 to 2, +0.19 from 7 to 8.
# x: s "guidance scale s" .1f
# y: value "mean or std of the samples" .2f
# color: stat "statistic"
#
# lab:figure density
# kind: line
# title: Guidance pushes the sampled density away from class 0 and squeezes it narrower than class 1
# caption: At s = 1 the guided density follows class 1's N(+1, 1) (peak 0.406 against 0.399); at s = 3 it
#   peaks near x = 1.8 at 0.644 and at s = 7 near x = 2.8 at 0.826, a shape neither class has. At s = 0
#   it is the broad mixture of both classes, centred on 0.
# x: x "sample value x" .1f
# y: density "probability density" .3f
# color: series "density of"
# control: s "guidance scale s" d
# default: 3
# says: At s = {{s}} the guided samples peak at x = {{x|series=guided samples, density=max, x=min}}, with density {{density|series=guided samples, density=max}}.
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
# (1) Given its class, $x_t \sim N(\sqrt{\bar\alpha_t}\mu_c, v)$ with $v = \bar\alpha_t \sigma_c^2 + 1 - \bar\alpha_t$ (here exactly 1). Its score is $-(x - \sqrt{\bar\alpha_t}\mu_c)/v$, and the next line is that score times $-\sqrt{1-\bar\alpha_t}$.
# (2) The score of a mixture is the average of the class scores weighted by $P(c \mid x_t)$, since $\nabla \log \sum_c \pi_c p_c = \sum_c P(c \mid x)\,\nabla \log p_c$; the same weights carry over to $\epsilon$.
# (3) The same model with the condition dropped: in training, labels were replaced by a null token at random.
# (4) Guidance as in Diffusers: s = 1 gives `eps_c`, s > 1 extrapolates. Two calls per step.
# (5) Plain conditional sampling: one call per step.
# (6) A deterministic DDIM step (lab 04) fed with the guided noise estimate.
#
# lab:explain 89-97 Two predictions from one model
# For Gaussian classes the conditional noise prediction is linear in x. The unconditional one
# weighs the two classes by how likely each is to have produced x at this noise level, which is
# what a network trained with dropped labels learns to output.
#
# lab:explain 100-113 The guided loop
# Each step evaluates the model with and without the label and extrapolates along their
# difference. The sampler step is unchanged; only the noise estimate it consumes is guided, and the
# NFE counter shows the price.


def _table(names, rows):
    """Rows of tuples as the columns a figure's data is made of."""
    return dict(zip(names, map(list, zip(*rows))))


def normal_pdf(x, mean=0.0, std=1.0):
    return np.exp(-(((x - mean) / std) ** 2) / 2) / (std * np.sqrt(2 * np.pi))


def guided_density(scale, grid):
    """Guided samples of a fine grid of starting noises, and their density. The sampler is
    deterministic and keeps the grid's order, so the density is N(0, 1) at x_T over the stretch dx/dx_T."""
    x, _ = guided_sample(grid, scale)
    return x, normal_pdf(grid) / np.gradient(x, grid)


def figures():
    """The data of the figures declared above, computed with the lab's own sampler."""
    x_T = np.random.default_rng(0).standard_normal(N)  # the draws main() starts from
    grid = np.linspace(-6, 6, 1201)  # a fine grid of starting noises, wider than every draw
    xs = np.round(np.arange(-4, 6.01, 0.2), 1)  # where the density figure reads the densities
    moments, density = [], []
    for scale in np.arange(0, 8.01, 0.5):
        x_end, p = guided_density(scale, grid)
        x = np.interp(x_T, grid, x_end)  # every draw's guided sample, read off the grid (error < 1e-5)
        # moments: mean and std of the guided samples, every half unit of s
        moments += [(float(scale), float(x.mean()), "mean"), (float(scale), float(x.std()), "std")]
        if scale == int(scale):  # density: the guided density at each whole s, beside the two classes'
            density += [(int(scale), float(v), float(d), "guided samples")
                        for v, d in zip(xs, np.interp(xs, x_end, p, left=0.0, right=0.0))]
            density += [(int(scale), float(v), float(normal_pdf(v, CLASS_MEANS[c], CLASS_STD)),
                         f"class {c} data N({CLASS_MEANS[c]:+.0f}, 1)") for c in (1, 0) for v in xs]
    return {"moments": _table(("s", "value", "stat"), moments),
            "density": _table(("s", "x", "density", "series"), density)}


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
            same = np.abs(x - x_cond).max() < 1e-12
            assert same, "s = 1 is the conditional model"
        if s == 0.0:
            assert abs(x.mean()) < 0.02 and abs(x.std() - 1.39) < 0.02
        if s == 7.0:
            assert abs(x.mean() - 3.0) < 0.1 and abs(x.std() - 0.5) < 0.02
    print(f"conditional only: {nfe_cond} NFE; guided: {nfe} NFE; "
          f"s = 1 equals conditional-only sampling to within 1e-12: {same}")
    assert nfe == 2 * nfe_cond


if __name__ == "__main__":
    main()
