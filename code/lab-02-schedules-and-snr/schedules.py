"""Lab 02 - Schedules and SNR.

Three beta schedules with T = 1000: the linear one of DDPM, the cosine one of Nichol and
Dhariwal, and the scaled-linear one of Stable Diffusion. Each gives a different alpha_bar_t,
and so a different signal-to-noise ratio at every step.
"""
# lab:goal See how the beta schedule sets the signal-to-noise ratio at every step, and where each schedule spends its steps on the log-SNR axis.
#
# lab:mental-model
# - A schedule is T numbers `betas`; `alpha_bar` is the running product of `1 - betas`.
# - $\mathrm{SNR}(t) = \bar\alpha_t / (1 - \bar\alpha_t)$ is signal power over noise power in $x_t$.
# - The log-SNR $\lambda_t = \ln \mathrm{SNR}(t)$ (natural log) is the common axis: $\lambda = 0$ is an even split of power, and each unit is a factor $e \approx 2.7$ in SNR.
# - A schedule decides how many of its T steps land in each stretch of that axis; none here reaches $\bar\alpha_T = 0$.
#
# lab:checkpoints
# - Half-way through, at t = 500, what fraction of the signal's power does the linear schedule keep, and the cosine one?
#   answer: 0.079 for linear and 0.494 for cosine: linear keeps 8% of the power, cosine about half.
#   see: output "alpha_bar_500: linear 0.079"
#   predict: number 1, within 20%
# - The cosine formula on line 88 reaches $\bar\alpha = 0$ at t = T. Why does the printed cosine $\bar\alpha_T$ come out as 2.4e-9 instead?
#   answer: Line 90 clips every beta at 0.999, so the last factor $1 - \beta_T$ is 0.001 instead of 0, and $\bar\alpha_T = \bar\alpha_{T-1} \times 0.001 \approx 2.4\times10^{-6} \times 0.001$.
#   see: line 90
# - What does a log-SNR of 0 mean, and how many of the linear schedule's 1000 steps have a log-SNR below -5?
#   answer: 0 means SNR = 1, signal and noise of equal power ($\bar\alpha_t = 0.5$). Linear spends 298 steps below -5, where SNR is under $e^{-5} = 0.0067$; cosine spends 53.
#   see: output "298       443"
# - What is the cosine schedule's first beta, and what would it be without the offset s?
#   answer: 4.1e-5 with s = 0.008, but 2.5e-6 with s = 0: the offset keeps $\beta_t$ near t = 0 from being too small. Nichol and Dhariwal found that such tiny amounts of noise made $\epsilon$ hard to predict accurately.
#   see: output "cosine beta_1 with"
# lab:traps
# - x_T is exactly pure noise, N(0, I).
#   why: $\bar\alpha_T > 0$ for every schedule here, so x_T still holds $\sqrt{\bar\alpha_T}\,x_0$: 0.068 of x0's
#   amplitude for Stable Diffusion's schedule (last lines of the output), while sampling starts from pure noise.
# - Two schedules can be compared step by step through their betas.
#   why: Scaled-linear starts with betas 8.5 times larger than linear's (`beta_1` column) yet keeps 3.5 times more
#   signal power at t = 500 (0.278 vs 0.0786): what the model sees at step t is $\bar\alpha_t$, a product over all earlier betas.
# - A log-SNR of -10 means an SNR of $10^{-10}$.
#   why: The log is natural (line 154 uses `np.log`): -10.12 means $e^{-10.12} = 4.0\times10^{-5}$, which is the
#   linear schedule's SNR at t = T.
#
# lab:interview
# A schedule is a length-T vector of betas fixed before training; a cumulative product turns it into
# $\bar\alpha_t$, and $\mathrm{SNR}(t) = \bar\alpha_t/(1-\bar\alpha_t)$ is the signal-to-noise power ratio the denoiser faces at step t.
#
# Half-way through, the linear DDPM schedule keeps $\bar\alpha_{500} = 0.079$ and the cosine one 0.494.
# On the natural-log axis $\lambda = \ln \mathrm{SNR}$, linear spends 298 of its 1000 steps below $\lambda = -5$, cosine only 53.
#
# No schedule here reaches zero: Stable Diffusion's ends at $\bar\alpha_T \approx 4.7\times10^{-3}$, so training
# never shows pure noise while sampling starts from it. The trade-off is where a fixed budget of steps lands on the log-SNR axis.
#
# lab:intuition
# - Read log-SNR like a level meter: 0 is an even split of power, +5 means about 150 times more signal power than noise power, -5 about 150 times less.
# - A schedule is a budget of T steps spread along the log-SNR axis; the linear one spends 30% of its budget below -5, where $x_t$ is more than 99% noise power.
# - Compare schedules by $\bar\alpha_t$ (the balance left), never by $\beta_t$ (one step's withdrawal).

# lab:figure amplitudes
# kind: point
# title: At the same step, each schedule leaves a different share of x0 in x_t
# caption: At t = 500 the linear schedule keeps 0.280 of x0's amplitude under noise of amplitude 0.960,
#   scaled-linear 0.527 and cosine 0.703 (beside 0.711 of noise). Move t: linear fades first, and at
#   t = 1000 scaled-linear still keeps 0.068.
# x: schedule "schedule"
# y: amplitude "amplitude in x_t" .3f
# color: part "part of x_t"
# control: t "step t" d
# default: 500
# says: At t = {{t}}, x_t keeps {{amplitude|schedule=linear, part=signal sqrt(alpha_bar_t)}} of x0's amplitude under the linear schedule, {{amplitude|schedule=cosine, part=signal sqrt(alpha_bar_t)}} under cosine and {{amplitude|schedule=scaled-linear, part=signal sqrt(alpha_bar_t)}} under scaled-linear.
# lab:figure log-snr
# kind: line
# title: The cosine schedule keeps more signal than noise for half its steps, the linear one for a quarter
# caption: Log-SNR 0 (equal signal and noise power) comes at t = 260 for linear, 355 for scaled-linear and
#   497 for cosine. Linear ends at -10.12 and scaled-linear at only -5.36; cosine falls from -8.32 at
#   t = 990 to -19.84 at t = 1000, where the 0.999 clip sets its last beta.
# x: t "step t" d
# y: log_snr "log-SNR, ln(SNR)" .2f
# color: schedule "schedule"

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
# (2) Nichol and Dhariwal define `alpha_bar` directly; the offset s keeps $\beta_t$ near t = 0 from being too small ($\sqrt{\beta_1}$ just under the pixel bin 1/127.5).
# (3) Betas recovered from ratios of `alpha_bar`, clipped at 0.999 to avoid a singularity at t = T.
# (4) Linear in $\sqrt\beta$, then squared: the `scaled_linear` schedule used by Stable Diffusion.
# (5) Index t - 1 holds $\bar\alpha_t$: the fraction of signal power left after t steps.
# (6) Signal power over noise power of $x_t$, for data with unit variance.
#
# lab:explain 82-94 Three ways to choose betas
# The linear and scaled-linear schedules specify the betas; the cosine schedule specifies
# `alpha_bar` as a smooth curve and derives the betas that produce it. The clip at 0.999 is why
# the cosine schedule's last value is tiny but not zero.
#
# lab:explain 97-102 From betas to SNR
# One cumulative product turns per-step variances into the signal fraction at every step, and the
# SNR is a ratio of that fraction to its complement. Every later lab indexes these arrays.


def _table(names, rows):
    """Rows of tuples as the columns a figure's data is made of."""
    return dict(zip(names, map(list, zip(*rows))))


def figures():
    """The data of the figures declared above, computed with the lab's own functions."""
    schedules = {"linear": linear_betas(), "cosine": cosine_betas(),
                 "scaled-linear": scaled_linear_betas()}
    amplitudes, log_snr = [], []
    for name, betas in schedules.items():
        ab = alpha_bar_of(betas)
        # amplitudes: how much of x0 and of the noise each schedule leaves in x_t, at 11 steps
        for t in (1, *range(100, T + 1, 100)):
            amplitudes += [(t, name, float(np.sqrt(ab[t - 1])), "signal sqrt(alpha_bar_t)"),
                           (t, name, float(np.sqrt(1 - ab[t - 1])), "noise sqrt(1 - alpha_bar_t)")]
        # log-snr: the natural log of the SNR, every 10th step
        lsnr = np.log(snr(ab))
        log_snr += [(t, float(lsnr[t - 1]), name) for t in (1, *range(10, T + 1, 10))]
    return {"amplitudes": _table(("t", "schedule", "amplitude", "part"), amplitudes),
            "log-snr": _table(("t", "log_snr", "schedule"), log_snr)}


def main():
    schedules = {"linear": linear_betas(), "cosine": cosine_betas(),
                 "scaled-linear": scaled_linear_betas()}
    print(f"T = {T}")
    print("schedule        beta_1    abar_250   abar_500   abar_750   abar_T     logSNR_1  logSNR_T")
    table = {}
    for name, betas in schedules.items():
        ab = alpha_bar_of(betas)
        table[name] = ab
        lsnr = np.log(snr(ab))
        print(f"{name:14s}  {betas[0]:7.1e}" + "".join(f"  {ab[t - 1]:9.3g}" for t in (250, 500, 750, T))
              + f"  {lsnr[0]:8.2f}  {lsnr[-1]:8.2f}")
        assert np.all(np.diff(ab) < 0), "alpha_bar must fall at every step"
        assert 0 < ab[-1] < 1, "no schedule here reaches pure noise"
        assert abs(lsnr[0] - np.log((1 - betas[0]) / betas[0])) < 1e-9, "SNR_1 = (1 - beta_1) / beta_1"

    lin, cos, sd = table["linear"], table["cosine"], table["scaled-linear"]
    print(f"alpha_bar_500: linear {lin[499]:.3f}, cosine {cos[499]:.3f}")
    print(f"alpha_bar_T:   linear {lin[-1]:.1e}, cosine {cos[-1]:.1e}, scaled-linear {sd[-1]:.1e}")
    print("steps per log-SNR band:   below -5   -5 to 0   0 to 5   above 5")
    for name, ab in table.items():
        counts = np.histogram(np.log(snr(ab)), bins=[-np.inf, -5, 0, 5, np.inf])[0]
        print(f"{name:14s}" + "".join(f"{c:10d}" for c in counts))
    for name, ab in table.items():
        half = np.argmax(snr(ab) < 1) + 1
        print(f"{name:14s} first t with SNR < 1: {half:4d}   x0 amplitude left in x_T: "
              f"{np.sqrt(ab[-1]):.2g}")
    print(f"cosine beta_1 with the offset s = 0.008: {cosine_betas()[0]:.1e}; "
          f"without it (s = 0): {cosine_betas(0.0)[0]:.1e}")
    assert abs(lin[499] - 0.079) < 5e-4 and abs(cos[499] - 0.494) < 5e-4
    assert abs(lin[-1] - 4.0e-5) < 1e-6 and abs(cos[-1] - 2.4e-9) < 1e-10 and abs(sd[-1] - 4.7e-3) < 1e-4


if __name__ == "__main__":
    main()
