"""Lab 04 - Samplers and steps.

Generation with an exact denoiser: the data is x0 ~ N(1, 0.5^2), so E[x0 | x_t] has a closed
form and every error in the samples comes from the sampler, not from a network. DDPM uses all
1000 steps; DDIM reuses the same denoiser and skips steps.
"""
# lab:goal See that sampling cost is the number of denoiser calls (NFE) and that cutting steps has a measurable error.
#
# lab:mental-model
# - Every sampler step calls the denoiser once, so cost = NFE x cost of one forward pass.
# - DDIM reuses the network trained for DDPM; only the update rule and the step list change.
# - $\eta$ scales the fresh noise per step: $\eta = 1$ over all T steps is DDPM, $\eta = 0$ is deterministic.
# - With few steps the update cannot follow the curved path between noise levels, and the error shows up as lost variance.
#
# lab:checkpoints
# - DDPM with 1000 steps recovers the data distribution.
#   answer: Mean 1.00 and std 0.49 at NFE = 1000: within sampling noise (about 0.003) of 0.496, what this sampler gives exactly, and close to the true 0.5.
# - DDIM loses variance as steps are cut.
#   answer: The exact std is 0.362 at 10 steps, 0.472 at 50 and 0.494 at 250, against the true 0.50; the mean stays near 1.
# - DDIM with $\eta = 0$ is a deterministic map from x_T to x_0.
#   answer: Two runs with different random generators give identical samples. The map is affine, so its slope times std(x_T) = 1 is the exact output std printed last.
# - The cost ratio is just the NFE ratio.
#   answer: 10 DDIM steps cost 1% of the DDPM sampler's 1000 calls, and buy that saving with a 28% too small std.
# - Skipping steps hurts the stochastic sampler more than the deterministic one.
#   answer: On the same 50 steps, eta = 1 gives std 0.445 against 0.470 for eta = 0; DDIM (Song et al., 2020) reports the same ordering in sample quality.
#
# lab:traps
# - Misread: "fewer steps are free". Each skipped step is discretisation error; here it shrinks the std from 0.50 to 0.36 at 10 steps.
# - DDIM is not a new model and needs no retraining: the denoiser below is the same function for every sampler.
# - Deterministic does not mean exact: at 1000 steps DDIM is still slightly under the true std.
#
# lab:interview
# The state is the batch of samples x_t, here 20,000 scalars, carried from pure noise down the list
# of timesteps; the axis that matters is the time axis, because each entry in the step list is one
# call to the denoiser. The cost of a sample is therefore NFE times one forward pass, and DDPM pays
# 1000 of them. DDIM keeps the trained network and changes only the update rule and the list of
# timesteps; with $\eta = 0$ it adds no noise and is a deterministic map. Because this
# denoiser is exact, the only error left is discretisation: 10 steps give std 0.36 instead of 0.50,
# 50 steps 0.47, 250 steps 0.494. The trade-off is latency against fidelity, and with a perfect
# denoiser and a fixed update rule, more NFE is the only knob left.

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


def sample(x_T, steps, eta, rng):
    ts = np.linspace(T - 1, 0, steps).round().astype(int)  # (2)
    x, nfe = x_T.copy(), 0
    for i, t in enumerate(ts):
        a = alpha_bar[t]
        a_prev = alpha_bar[ts[i + 1]] if i + 1 < steps else 1.0  # (3)
        x0_hat = denoiser(x, a)
        nfe += 1  # (4)
        eps_hat = (x - np.sqrt(a) * x0_hat) / np.sqrt(1 - a)
        sigma = eta * np.sqrt((1 - a_prev) / (1 - a) * (1 - a / a_prev))  # (5)
        noise = rng.standard_normal(x.shape) if eta > 0 else 0.0
        x = np.sqrt(a_prev) * x0_hat + np.sqrt(1 - a_prev - sigma**2) * eps_hat + sigma * noise  # (6)
    return x, nfe
# lab:end sampler
# lab:notes sampler
# (1) For Gaussian data the posterior mean is linear in x_t; a real network only approximates this function.
# (2) The step list: `steps` evenly spaced timesteps from T down to 1 (0-based indices). Its length is the NFE.
# (3) The last step lands on clean data, where $\bar\alpha = 1$.
# (4) One denoiser call per step: the only expensive line in a real sampler.
# (5) The DDIM noise scale $\sigma_t(\eta)$ from Song et al. (2020); $\eta = 1$ gives the DDPM posterior variance.
# (6) Point back toward the predicted x0, keep the predicted noise direction, add fresh noise of std sigma.
#
# lab:explain 51-54 A perfect denoiser
# With Gaussian data the best possible network output is known in closed form, so any error in
# the samples below is the sampler's, not the model's.
#
# lab:explain 57-69 One loop for DDPM and DDIM
# The loop walks a list of timesteps and calls the denoiser once per entry. From the estimate of x0
# it derives the implied noise and rebuilds x at the next, lower noise level. With `eta = 1` and all
# 1000 steps this is DDPM ancestral sampling; with `eta = 0` the random term vanishes. Any
# subsequence of timesteps works for every eta, because the update needs only `alpha_bar` at the
# current and the next entry; the deterministic update simply loses least when steps are cut.


def main():
    rng = np.random.default_rng(0)
    x_T = rng.standard_normal(N)
    print(f"data N({MU}, {SIGMA}^2), {N} samples, exact denoiser, linear schedule T = {T}")
    print("sampler          steps    NFE   mean    std    exact std")
    x, nfe = sample(x_T, T, 1.0, rng)
    print(f"DDPM (eta=1)    {T:6d}  {nfe:5d}  {x.mean():5.3f}  {x.std():5.3f}        -")
    assert nfe == T and abs(x.std() - SIGMA) < 0.01 and abs(x.mean() - MU) < 0.01
    stds = []
    for steps in (10, 50, 250, 1000):
        x, nfe = sample(x_T, steps, 0.0, rng)
        ends, _ = sample(np.array([0.0, 1.0]), steps, 0.0, rng)  # the map is affine in x_T
        stds.append(x.std())
        print(f"DDIM (eta=0)    {steps:6d}  {nfe:5d}  {x.mean():5.3f}  {x.std():5.3f}"
              f"  {ends[1] - ends[0]:9.4f}")
        again, _ = sample(x_T, steps, 0.0, np.random.default_rng(123))
        assert np.array_equal(x, again), "DDIM with eta = 0 is deterministic"
    assert stds[0] < 0.4 and np.all(np.diff(stds) > 0) and stds[-1] < SIGMA
    print(f"cost of 10 DDIM steps vs DDPM: {10 / T:.0%} of the NFE, std {stds[0]:.2f} vs {SIGMA}")
    x, nfe = sample(x_T, 50, 1.0, rng)
    print(f"eta = 1 on the same 50 steps: std {x.std():.3f} (vs {stds[1]:.3f} with eta = 0)")
    assert x.std() < stds[1], "skipping steps hurts the stochastic sampler more"


if __name__ == "__main__":
    main()
