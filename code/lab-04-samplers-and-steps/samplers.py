"""Lab 04 - Samplers and steps.

Generation with an exact denoiser: the data is x0 ~ N(1, 0.5^2), so E[x0 | x_t] has a closed
form and every error in the samples comes from the sampler, not from a network. DDPM uses all
1000 steps; DDIM reuses the same denoiser and skips steps.
"""
# lab:goal See that sampling cost is the number of denoiser calls (NFE) and that cutting steps has a measurable error, which the placement of the steps can shrink.
#
# lab:mental-model
# - A first-order sampler (DDPM, DDIM) calls the denoiser once per step, so cost = NFE x one forward pass; a second-order one such as Heun calls it twice per step.
# - DDIM reuses the network trained for DDPM; only the update rule and the step list change.
# - The DDIM update $x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}-\sigma^2}\,\hat\epsilon + \sigma z$ moves from step t to the next listed step t'; $\eta$ scales $\sigma$: $\eta = 1$ on all T steps is DDPM, $\eta = 0$ is deterministic.
# - With few steps the update cannot follow the curved path between noise levels, and the error shows up as lost variance.
#
# lab:checkpoints
# - How many denoiser calls does a DDIM run with `steps = 50` make, and which line counts them?
#   answer: 50, counted on line 113: one call per entry of the step list. A second-order solver such as Heun would call twice per step (Karras et al. report 35 NFE for 18 Heun steps).
#   see: line 113
# - At 10 steps, how far below the true 0.5 is the DDIM std, and what share of DDPM's cost does it pay?
#   answer: 0.36, 28% too small, for 1% of DDPM's 1000 denoiser calls.
#   see: output "cost of 10 DDIM steps vs DDPM"
#   predict: number 3, within 10%
# - With the same 10 NFE, what does crowding the steps toward the data (quadratic spacing) do to the std?
#   answer: It rises from 0.362 to 0.416: at fixed NFE, where the steps sit is a knob too.
#   see: output "DDIM quadratic"
# - Why do two runs with different random generators give identical DDIM samples?
#   answer: With $\eta = 0$ line 115 makes $\sigma = 0$ and line 116 replaces the random draw by 0.0, so nothing random is left: the sample is a fixed function of $x_T$ (here an affine one, whose slope is the `exact std` column).
#   see: lines 115-117
# - On the same 50 steps, which is closer to the true 0.5: $\eta = 1$ or $\eta = 0$?
#   answer: $\eta = 0$ (0.470 against 0.445). Song et al. (2020, Table 1) report the same ordering in sample quality when steps are few.
#   see: output "eta = 1 on the same 50 steps"
# lab:traps
# - Fewer steps are free.
#   why: Each skipped step adds discretisation error. Even with a perfect denoiser, 10 DDIM steps shrink the std
#   from 0.50 to 0.36 (output).
# - DDIM is a new model that has to be trained.
#   why: The denoiser on lines 94-97 is the same function for every sampler; only the update (line 117) and the
#   step list change, which is why DDIM runs on networks trained for DDPM.
# - Sampling cost is the number of steps.
#   why: Cost is the number of denoiser calls. First-order samplers make one per step (line 113), Heun makes two, and
#   classifier-free guidance doubles either (lab 05).
# - A deterministic sampler ($\eta = 0$) gives the same sample every time.
#   why: Only the path is fixed. $x_T$ is still drawn at random, so each seed gives its own sample; with
#   $\eta = 0$ a sample is a fixed function of its $x_T$ (the `exact std` column measures that function).
#
# lab:interview
# Sampling walks a list of timesteps from pure noise to data. Each entry costs a first-order
# sampler one denoiser call, so cost = NFE x one forward pass, and DDPM pays 1000.
#
# DDIM keeps the trained network and changes only the update rule and the step list; with $\eta = 0$
# it adds no noise. With an exact denoiser the only error left is discretisation: 10 steps give std
# 0.36 instead of 0.50, 50 steps 0.47.
#
# The trade-off is latency against fidelity. NFE is not the only knob: where the steps sit and the
# solver's order matter too, and at the same 10 NFE quadratic spacing lifts the std to 0.42.
#
# lab:intuition
# - Sampling integrates a curved path from noise to data on a fixed budget of evaluations: fewer, longer steps cut the corners, and here the cut corners show up as lost variance.
# - $\eta$ is a noise tap: at 1 every step re-injects DDPM's amount of fresh noise; at 0 it is shut and the same $x_T$ always lands on the same $x_0$.
# - Spend the budget where it buys the most: in this example, crowding the same 10 steps toward the data recovers 0.416 of the 0.5 std instead of 0.362.

# lab:figure steps
# kind: line
# title: More DDIM steps recover the data's spread, and quadratic spacing recovers more of it when steps are few
# caption: With 10 denoiser calls, linear spacing gives samples of std 0.3616 and quadratic spacing 0.4164,
#   against the data's 0.5; with 1000 steps linear spacing reaches 0.4985. The flat line is the level of
#   DDPM with all 1000 noisy steps, 0.4940 on 20 000 samples.
# x: steps "DDIM steps = denoiser calls (NFE)" d
# y: std "std of the samples" .4f
# color: sampler "sampler"
# x-scale: log
#
# lab:figure lost
# kind: line
# title: Doubling the DDIM steps halves the spread the samples lose, as a first-order sampler should
# caption: On log axes both spacings fall with slope -1: linear spacing loses 0.275 of the std at 5 steps
#   and 0.138 at 10. Quadratic spacing loses about 40% less (0.0836 at 10 steps), an advantage that
#   fades by 1000 steps, where both lose about 0.0015.
# x: steps "DDIM steps = denoiser calls (NFE)" d
# y: lost "std lost, 0.5 - std" .3g
# color: sampler "sampler"
# x-scale: log
# y-scale: log

import numpy as np

T = 1000
betas = np.linspace(1e-4, 0.02, T)
alpha_bar = np.cumprod(1.0 - betas)
MU, SIGMA = 1.0, 0.5  # the data distribution x0 ~ N(MU, SIGMA^2)
N = 20_000

# lab:begin sampler
def denoiser(x_t, a):
    """Exact E[x0 | x_t] for Gaussian data: what a perfectly trained network would return."""
    gain = np.sqrt(a) * SIGMA**2 / (a * SIGMA**2 + 1 - a)  # (1)
    return MU + gain * (x_t - np.sqrt(a) * MU)


def step_list(steps, spacing):
    if spacing == "quadratic":  # t_i = c * i^2, denser near the data (DDIM, Appendix D.2)
        return (T - 1) * np.arange(steps - 1, -1, -1) ** 2 // (steps - 1) ** 2  # (2)
    return np.linspace(T - 1, 0, steps).round().astype(int)  # (3)


def sample(x_T, steps, eta, rng, spacing="linear"):
    ts = step_list(steps, spacing)
    x, nfe = x_T.copy(), 0
    for i, t in enumerate(ts):
        a = alpha_bar[t]
        a_prev = alpha_bar[ts[i + 1]] if i + 1 < steps else 1.0  # (4)
        x0_hat = denoiser(x, a)
        nfe += 1  # (5)
        eps_hat = (x - np.sqrt(a) * x0_hat) / np.sqrt(1 - a)
        sigma = eta * np.sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))  # (6)
        noise = rng.standard_normal(x.shape) if eta > 0 else 0.0
        x = np.sqrt(a_prev) * x0_hat + np.sqrt(1 - a_prev - sigma**2) * eps_hat + sigma * noise  # (7)
    return x, nfe
# lab:end sampler
# lab:notes sampler
# (1) For Gaussian data the posterior mean is linear in x_t; a real network only approximates this function.
# (2) Integer arithmetic keeps the quadratic list exact: from T - 1 down to 0, with most entries at small t, near the data.
# (3) The default list: `steps` evenly spaced timesteps from T down to 1 (0-based indices). Its length is the NFE.
# (4) The last step lands on clean data, where $\bar\alpha = 1$.
# (5) One denoiser call per step, as in every first-order sampler: the only expensive line in a real one.
# (6) The DDIM noise scale $\sigma_t(\eta)$ (Song et al., 2020, Eq. 16); $\eta = 1$ gives the DDPM posterior variance.
# (7) DDIM Eq. 12: point back toward the predicted x0, keep the predicted noise direction, add fresh noise of std sigma.
#
# lab:explain 94-97 A perfect denoiser
# With Gaussian data the best possible network output is known in closed form, so any error in
# the samples below is the sampler's, not the model's.
#
# lab:explain 100-103 Where the steps sit
# Both lists start at the noisiest step and end at the cleanest; they differ only in spacing. The
# linear list spreads its steps evenly; the quadratic one crowds them toward t = 0, at the same NFE.
#
# lab:explain 106-118 One loop for DDPM and DDIM
# The loop walks a list of timesteps and calls the denoiser once per entry. From the estimate of x0
# it derives the implied noise and rebuilds x at the next, lower noise level. With `eta = 1` and all
# 1000 steps this is DDPM ancestral sampling; with `eta = 0` the random term vanishes. Any
# subsequence of timesteps works for every eta, because the update needs only `alpha_bar` at the
# current and the next entry; the deterministic update simply loses least when steps are cut.


def figures():
    """The data of the figures declared above, computed with the lab's own sampler."""
    rng = np.random.default_rng(0)
    ddpm, _ = sample(rng.standard_normal(N), T, 1.0, rng)  # the same run as main()'s DDPM row
    # steps: the std of DDIM's samples per number of steps and spacing, read as the slope of its
    # affine map (the `exact std` column), beside DDPM's std as a level to reach
    # lost: how much of the data's std SIGMA those DDIM samples miss
    steps_rows, lost_rows = [], []
    for spacing in ("linear", "quadratic"):
        for steps in (5, 10, 20, 50, 100, 250, 500, 1000):
            ends, _ = sample(np.array([0.0, 1.0]), steps, 0.0, rng, spacing)
            steps_rows.append((steps, float(ends[1] - ends[0]), f"DDIM, {spacing} spacing"))
            lost_rows.append((steps, float(SIGMA - (ends[1] - ends[0])), f"DDIM, {spacing} spacing"))
    steps_rows += [(steps, float(ddpm.std()), "DDPM, all 1000 noisy steps (eta = 1)") for steps in (5, 1000)]
    return {"steps": dict(zip(("steps", "std", "sampler"), map(list, zip(*steps_rows)))),
            "lost": dict(zip(("steps", "lost", "sampler"), map(list, zip(*lost_rows))))}


def main():
    rng = np.random.default_rng(0)
    x_T = rng.standard_normal(N)
    print(f"data N({MU}, {SIGMA}^2), {N} samples, exact denoiser, linear schedule T = {T}")
    print("sampler          steps    NFE   mean    std    exact std")
    x, nfe = sample(x_T, T, 1.0, rng)
    print(f"DDPM (eta=1)    {T:6d}  {nfe:5d}  {x.mean():5.3f}  {x.std():5.3f}        -")
    assert nfe == T and abs(x.std() - SIGMA) < 0.01 and abs(x.mean() - MU) < 0.01
    runs = {}
    for steps, spacing in ((10, "linear"), (50, "linear"), (250, "linear"), (1000, "linear"), (10, "quadratic")):
        x, nfe = sample(x_T, steps, 0.0, rng, spacing)
        ends, _ = sample(np.array([0.0, 1.0]), steps, 0.0, rng, spacing)  # the map is affine in x_T
        runs[steps, spacing] = x
        name = "DDIM quadratic" if spacing == "quadratic" else "DDIM (eta=0)  "
        print(f"{name}  {steps:6d}  {nfe:5d}  {x.mean():5.3f}  {x.std():5.3f}  {ends[1] - ends[0]:9.4f}")
        assert nfe == steps, "one denoiser call per step"
    again, _ = sample(x_T, 50, 0.0, np.random.default_rng(123))
    assert np.array_equal(runs[50, "linear"], again), "DDIM with eta = 0 is deterministic"
    linear = [runs[steps, "linear"].std() for steps in (10, 50, 250, 1000)]
    assert linear[0] < 0.4 and np.all(np.diff(linear) > 0) and linear[-1] < SIGMA
    assert runs[10, "quadratic"].std() > linear[0] + 0.03, "at equal NFE, spacing changes the error"
    print(f"cost of 10 DDIM steps vs DDPM: {10 / T:.0%} of the NFE, std {linear[0]:.2f} vs {SIGMA}")
    x, nfe = sample(x_T, 50, 1.0, rng)
    print(f"eta = 1 on the same 50 steps: std {x.std():.3f} (vs {linear[1]:.3f} with eta = 0)")
    assert x.std() < linear[1], "skipping steps hurts the stochastic sampler more"


if __name__ == "__main__":
    main()
