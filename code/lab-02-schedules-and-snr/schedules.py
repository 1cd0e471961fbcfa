"""Lab 02 - Schedules and SNR.

Three beta schedules with T = 1000: the linear one of DDPM, the cosine one of Nichol and
Dhariwal, and the scaled-linear one of Stable Diffusion. Each gives a different alpha_bar_t,
and so a different signal-to-noise ratio at every step.
"""
# lab:goal See how the beta schedule sets the signal-to-noise ratio at every step.
#
# lab:mental-model
# - A schedule is T numbers `betas`; `alpha_bar` is the running product of `1 - betas`.
# - $\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$ is signal power over noise power.
# - Schedules differ in where they spend steps: the linear one is noise-dominated by the midpoint.
# - No schedule here reaches $\bar\alpha_T = 0$, so the last training step is not pure noise.
#
# lab:checkpoints
# - At t = 500 the schedules disagree a lot.
#   answer: `alpha_bar` is 0.079 for linear and 0.494 for cosine: half the steps in, linear keeps 8% of the signal power, cosine about half.
# - The terminal SNR is small but never zero.
#   answer: `alpha_bar_T` is 4.0e-5 (linear), 2.4e-9 (cosine, because its betas are clipped at 0.999) and 4.7e-3 (scaled-linear).
# - `alpha_bar` is strictly decreasing for every schedule.
#   answer: Every beta is in (0, 1), so each factor `1 - beta` is below 1 and the product only falls; the script asserts it.
# - The log-SNR axis is where schedules are compared.
#   answer: The printed log-SNR runs from about +9 to -10 (linear); a schedule is a choice of how many steps land in each stretch of that range.
#
# lab:traps
# - Misread: "x_T is exactly N(0, I)". It is not: x_T still holds $\sqrt{\bar\alpha_T}\,x_0$, about 7% of x0's amplitude for Stable Diffusion's schedule, while sampling starts from pure noise.
# - The betas of two schedules cannot be compared step by step; compare `alpha_bar` or SNR at the same t.
# - The cosine formula itself reaches $\bar\alpha = 0$ at t = T; the implemented schedule does not, because the betas are clipped.
#
# lab:interview
# The state here is the schedule itself: a length-T vector of betas that is fixed before training
# and turned into `alpha_bar` by a cumulative product along the time axis. What matters is
# $\mathrm{SNR}(t) = \bar\alpha_t/(1-\bar\alpha_t)$ per step, because it decides which noise levels the
# denoiser is trained on and which ones the sampler walks through. The linear DDPM schedule
# leaves $\bar\alpha_{500} \approx 0.079$, so half of its steps are spent at very low SNR; the cosine
# schedule keeps 0.494 there. None of them reaches zero at T: Stable Diffusion's scaled-linear
# schedule ends at $\bar\alpha_T \approx 4.7\times10^{-3}$, so training never shows the model pure
# noise while inference starts from it. The trade-off is where the fixed budget of T steps (and
# later of sampler steps) is spent along the log-SNR axis.

import numpy as np

T = 1000

# lab:begin schedules
def linear_betas():
    return np.linspace(1e-4, 0.02, T)  # (1)


def cosine_betas(s=0.008):
    t = np.arange(T + 1)
    f = np.cos((t / T + s) / (1 + s) * np.pi / 2) ** 2  # (2)
    alpha_bar = f / f[0]
    return np.clip(1 - alpha_bar[1:] / alpha_bar[:-1], 0, 0.999)  # (3)


def scaled_linear_betas():
    return np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, T) ** 2  # (4)


def alpha_bar_of(betas):
    return np.cumprod(1.0 - betas)  # (5)


def snr(alpha_bar):
    return alpha_bar / (1.0 - alpha_bar)  # (6)
# lab:end schedules
# lab:notes schedules
# (1) The DDPM schedule: variances rise linearly from 1e-4 to 0.02 (Ho et al., 2020).
# (2) Nichol and Dhariwal define `alpha_bar` directly; the offset s keeps the first steps from being too small.
# (3) Betas recovered from ratios of `alpha_bar`, clipped at 0.999 to avoid a singularity at t = T.
# (4) Linear in sqrt(beta), then squared: the "scaled_linear" schedule used by Stable Diffusion.
# (5) Index t - 1 holds $\bar\alpha_t$: the fraction of signal power left after t steps.
# (6) Signal power over noise power of x_t, for data with unit variance.
#
# lab:explain 46-58 Three ways to choose betas
# The linear and scaled-linear schedules specify the betas; the cosine schedule specifies
# `alpha_bar` as a smooth curve and derives the betas that produce it. The clip at 0.999 is why
# the cosine schedule's last value is tiny but not zero.
#
# lab:explain 61-66 From betas to SNR
# One cumulative product turns per-step variances into the signal fraction at every step, and the
# SNR is a ratio of that fraction to its complement. Every later lab indexes these arrays.


def main():
    schedules = {"linear": linear_betas(), "cosine": cosine_betas(),
                 "scaled-linear": scaled_linear_betas()}
    print(f"T = {T}")
    print("schedule        abar_250   abar_500   abar_750   abar_T     logSNR_1  logSNR_T")
    table = {}
    for name, betas in schedules.items():
        ab = alpha_bar_of(betas)
        table[name] = ab
        lsnr = np.log(snr(ab))
        print(f"{name:14s}" + "".join(f"  {ab[t - 1]:9.3g}" for t in (250, 500, 750, T))
              + f"  {lsnr[0]:8.2f}  {lsnr[-1]:8.2f}")
        assert np.all(np.diff(ab) < 0), "alpha_bar must fall at every step"
        assert 0 < ab[-1] < 1, "no schedule here reaches pure noise"

    lin, cos, sd = table["linear"], table["cosine"], table["scaled-linear"]
    print(f"alpha_bar_500: linear {lin[499]:.3f}, cosine {cos[499]:.3f}")
    print(f"alpha_bar_T:   linear {lin[-1]:.1e}, cosine {cos[-1]:.1e}, scaled-linear {sd[-1]:.1e}")
    for name, ab in table.items():
        half = np.argmax(ab < 0.5) + 1
        print(f"{name:14s} first t with SNR < 1: {half:4d}   x0 amplitude left in x_T: "
              f"{np.sqrt(ab[-1]):.2g}")
    assert abs(lin[499] - 0.079) < 5e-4 and abs(cos[499] - 0.494) < 5e-4
    assert abs(lin[-1] - 4.0e-5) < 1e-6 and abs(sd[-1] - 4.7e-3) < 1e-4


if __name__ == "__main__":
    main()
