"""Lab 03 - Prediction targets.

Given x_t and t, predicting the noise eps, the clean sample x0 or the velocity v are three
parameterizations of one quantity. This lab converts between them, shows how an error in one
becomes an error in the others, and checks that a sampler step does not care which one it got.
"""
# lab:goal See that eps, x0 and v are reparameterizations of one prediction, differing only in loss weighting.
#
# lab:mental-model
# - $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$: knowing $x_t$ and one of (x0, eps) fixes the other.
# - $v = \sqrt{\bar\alpha_t}\,\epsilon - \sqrt{1-\bar\alpha_t}\,x_0$ is a rotation of the pair (eps, x0).
# - The same mistake costs different amounts under each target's MSE, and the factor depends on t.
#
# lab:checkpoints
# - Converting eps to x0 and back loses nothing.
#   answer: The round-trip error is 1e-15 to 4e-14 (largest at t = 1, where it divides by $\sqrt{1-\bar\alpha_1} = 0.01$); the script asserts it stays below 1e-12.
# - An eps error becomes a huge x0 error at high noise.
#   answer: `MSE_x0 / MSE_eps` equals $(1-\bar\alpha_t)/\bar\alpha_t = 1/\mathrm{SNR}$: about 2.5e4 at t = 1000 and 1e-4 at t = 1.
# - The v error is never smaller than the eps error.
#   answer: `MSE_v / MSE_eps` is $1/\bar\alpha_t \ge 1$; it is near 1 at low noise and explodes only where eps prediction also explodes in x0.
# - The DDIM step gives the same x_{t-1} from any of the three.
#   answer: The printed largest difference is at round-off level (below 1e-12).
#
# lab:traps
# - Misread: "the target changes what the sampler needs". A sampler converts whatever the network outputs into eps and x0; the step is the same.
# - The targets are interchangeable for a perfect network, not for a trained one: the loss weighting decides which noise levels get the capacity.
# - Near t = T, recovering x0 from an eps prediction divides by $\sqrt{\bar\alpha_T} \approx 0.006$ and amplifies any error by about 160x.
#
# lab:interview
# The state is one noisy batch x_t of shape (4096, 16) at a known step t, plus the network's output of
# the same shape. Because $x_t$ is a fixed linear mix of x0 and eps with coefficients from $\bar\alpha_t$,
# predicting eps, x0 or $v = \sqrt{\bar\alpha_t}\epsilon - \sqrt{1-\bar\alpha_t}x_0$ carries the same
# information, and a sampler converts any of them exactly. What changes is the loss: an eps error
# becomes an x0 error scaled by $1/\mathrm{SNR}$, and a v error scaled by $1/\bar\alpha_t$, so
# plain MSE on eps, x0 or v weights the timesteps as SNR, 1 and SNR + 1 in x0 units. The trade-off
# is where the network's capacity goes: eps prediction is easy at low noise but useless for x0 at
# high noise, which is why v prediction is used for distillation and zero-terminal-SNR schedules.

import numpy as np

T = 1000
alpha_bar = np.cumprod(1.0 - np.linspace(1e-4, 0.02, T))  # the linear schedule of lab 01

# lab:begin convert
def eps_to_x0(x_t, eps, a):
    return (x_t - np.sqrt(1 - a) * eps) / np.sqrt(a)  # (1)


def x0_to_eps(x_t, x0, a):
    return (x_t - np.sqrt(a) * x0) / np.sqrt(1 - a)


def v_from(x0, eps, a):
    return np.sqrt(a) * eps - np.sqrt(1 - a) * x0  # (2)


def v_to_x0_eps(x_t, v, a):
    x0 = np.sqrt(a) * x_t - np.sqrt(1 - a) * v  # (3)
    eps = np.sqrt(1 - a) * x_t + np.sqrt(a) * v
    return x0, eps


def ddim_step(x0, eps, a_prev):
    """Deterministic DDIM update: only (x0, eps) enter, whatever the network predicted."""
    return np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps  # (4)
# lab:end convert
# lab:notes convert
# (1) Solve the forward equation for x0; dividing by $\sqrt{\bar\alpha_t}$ amplifies errors at high noise.
# (2) The velocity of Salimans and Ho (2022); since the squared coefficients sum to 1 it is a rotation of (eps, x0).
# (3) The inverse rotation: x0 and eps are read back from (x_t, v) without any division.
# (4) With $\eta = 0$ the step to a lower noise level needs just the two estimates x0 and eps.
#
# lab:explain 45-50 Between eps and x0
# The forward equation has two unknowns; given x_t, each one determines the other. These two
# functions are exact inverses, so converting a prediction loses nothing but adds round-off.
#
# lab:explain 53-60 The velocity target
# v mixes eps and x0 with the same coefficients as x_t, rotated by 90 degrees. Reading x0 and eps
# back multiplies by $\sqrt{\bar\alpha_t}$ and $\sqrt{1-\bar\alpha_t}$, which are at most 1, so
# no division by a small number is ever needed.
#
# lab:explain 63-65 What the sampler consumes
# The update is written in terms of x0 and eps, so the network's output format is converted
# before the step and the step itself is identical for every target.


def main():
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((4096, 16))
    eps = rng.standard_normal(x0.shape)
    print(f"batch {x0.shape}; a network whose eps prediction is off by noise of std 0.1")
    print("    t   alpha_bar      SNR   roundtrip   MSE_eps   MSE_x0/MSE_eps   (1-ab)/ab"
          "   MSE_v/MSE_eps   1/ab")
    for t in (1, 100, 500, 900, 1000):
        a = alpha_bar[t - 1]
        x_t = np.sqrt(a) * x0 + np.sqrt(1 - a) * eps
        v = v_from(x0, eps, a)
        back = x0_to_eps(x_t, eps_to_x0(x_t, eps, a), a)
        x0_v, eps_v = v_to_x0_eps(x_t, v, a)
        roundtrip = max(np.abs(back - eps).max(), np.abs(x0_v - x0).max(), np.abs(eps_v - eps).max())
        assert roundtrip < 1e-12, "conversions are exact up to round-off"

        eps_hat = eps + 0.1 * rng.standard_normal(x0.shape)  # an imperfect eps network
        x0_hat = eps_to_x0(x_t, eps_hat, a)
        v_hat = v_from(x0_hat, eps_hat, a)
        mse_e = np.mean((eps_hat - eps) ** 2)
        r_x0 = np.mean((x0_hat - x0) ** 2) / mse_e
        r_v = np.mean((v_hat - v) ** 2) / mse_e
        print(f"{t:5d}   {a:9.4g}   {a / (1 - a):8.3g}   {roundtrip:9.1e}   {mse_e:7.4f}"
              f"   {r_x0:14.4g}   {(1 - a) / a:9.4g}   {r_v:13.4g}   {1 / a:7.4g}")
        assert abs(r_x0 / ((1 - a) / a) - 1) < 1e-9, "MSE_x0 = MSE_eps * (1 - ab) / ab"
        assert abs(r_v * a - 1) < 1e-9, "MSE_v = MSE_eps / ab"

    t, t_prev = 500, 480
    a, a_prev = alpha_bar[t - 1], alpha_bar[t_prev - 1]
    x_t = np.sqrt(a) * x0 + np.sqrt(1 - a) * eps
    eps_hat = eps + 0.1 * rng.standard_normal(x0.shape)
    x0_hat = eps_to_x0(x_t, eps_hat, a)
    from_eps = ddim_step(x0_hat, eps_hat, a_prev)
    from_x0 = ddim_step(x0_hat, x0_to_eps(x_t, x0_hat, a), a_prev)
    from_v = ddim_step(*v_to_x0_eps(x_t, v_from(x0_hat, eps_hat, a), a), a_prev)
    diff = max(np.abs(from_eps - from_x0).max(), np.abs(from_eps - from_v).max())
    print(f"DDIM step {t} -> {t_prev} from an eps, x0 or v prediction: largest difference {diff:.1e}")
    assert diff < 1e-12, "the sampler step does not depend on the prediction target"


if __name__ == "__main__":
    main()
