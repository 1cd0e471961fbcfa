"""Lab 03 - Prediction targets.

Given x_t and t, predicting the noise eps, the clean sample x0 or the velocity v are three
parameterizations of one quantity. This lab converts between them, shows how an error in one
becomes an error in the others, and checks that a sampler step does not care which one it got.
"""
# lab:goal See that eps, x0 and v are reparameterizations of one prediction, differing only in how a plain MSE loss weights the timesteps.
#
# lab:mental-model
# - $x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon$: knowing $x_t$ and one of ($x_0$, $\epsilon$) fixes the other.
# - Write $\sqrt{\bar\alpha_t} = \cos\phi_t$ and $\sqrt{1-\bar\alpha_t} = \sin\phi_t$ (their squares sum to 1); the noise level is then an angle $\phi_t$ from 0 (clean) to 90 degrees (pure noise).
# - $(x_t, v)$ is the pair $(x_0, \epsilon)$ rotated by $\phi_t$: $x_t = \cos\phi\,x_0 + \sin\phi\,\epsilon$ and $v = \cos\phi\,\epsilon - \sin\phi\,x_0$, which is also $dx_t/d\phi$, hence "velocity".
# - One network error costs different amounts under each target's MSE, and the factor depends on t.
#
# lab:checkpoints
# - Which line divides by a number that goes to 0 at high noise, and by how much does it magnify an eps error at t = 1000?
#   answer: Line 76 divides by $\sqrt{\bar\alpha_t}$, which is 0.0064 at t = 1000. The x0 error is the eps error times $\sqrt{(1-\bar\alpha_t)/\bar\alpha_t} \approx 157$, so the MSE grows by $2.478\times10^4$, the square of that.
#   see: line 76
# - Before reading the output: what will `MSE_x0 / MSE_eps` be at t = 500, where $\bar\alpha_t = 0.0786$?
#   answer: $(1-\bar\alpha_t)/\bar\alpha_t = 1/0.0853 = 11.72$, which is $1/\mathrm{SNR}$; the measured ratio matches.
#   see: output "0.07859"
#   predict: number 5, within 10%
# - Why can line 88 read x0 back from $(x_t, v)$ without dividing by anything?
#   answer: It applies the inverse rotation, whose coefficients $\cos\phi$ and $\sin\phi$ are at most 1; an error in v reaches x0 multiplied by $\sin\phi \le 1$, never magnified.
#   see: lines 87-90
# - At which printed t is `MSE_v / MSE_eps` closest to 1, and why there?
#   answer: At t = 1, where it is $1/\bar\alpha_1$, just above 1: near clean data $\phi \approx 0$, so $v \approx \epsilon$ and the two losses coincide.
#   see: output "    1      0.9999"
# - How far apart are the DDIM steps computed from an eps, an x0 and a v prediction?
#   answer: Within round-off (below 1e-12): each prediction is converted to the same (x0, eps) pair before line 95 uses it.
#   see: output "DDIM step 500 -> 480"
# lab:traps
# - Switching the network from eps to v prediction changes what the sampler needs.
#   why: The update on line 95 consumes only x0 and eps, and every target converts to that pair exactly;
#   the output shows the same DDIM step from all three to within 1e-12.
# - Since eps, x0 and v carry the same information, training on any of them gives the same model.
#   why: Only a perfect network is indifferent. For a real one, plain MSE on eps, x0 or v weights the timesteps
#   as SNR, 1 and SNR + 1 (in x0 units), which decides which noise levels get the network's capacity.
# - A small eps error means a small x0 error.
#   why: Line 76 divides by $\sqrt{\bar\alpha_t}$: near t = T that is 0.0064, so an eps error reaches x0 about 157 times
#   larger (MSE ratio 2.478e4 in the last row).
#
# lab:interview
# Given $x_t$ and t, a network can predict the noise $\epsilon$, the clean $x_0$ or the velocity
# $v = \sqrt{\bar\alpha_t}\,\epsilon - \sqrt{1-\bar\alpha_t}\,x_0$. Each fixes the others exactly, so a sampler converts whichever it gets.
#
# The loss is what changes. An $\epsilon$ error $\delta$ becomes an $x_0$ error $\delta/\sqrt{\mathrm{SNR}}$, so plain MSE on
# $\epsilon$, $x_0$ or $v$ weights the timesteps as SNR, 1 and SNR + 1 in $x_0$ units.
#
# At t = 1000 an $\epsilon$ error grows 157-fold in $x_0$, while reading $x_0$ from $v$ never magnifies an error. That is
# why v prediction is used for few-step distillation and zero-terminal-SNR schedules.
#
# lab:intuition
# - Draw $x_0$ and $\epsilon$ as perpendicular axes: the noise level is an angle, $x_t$ is the component along it and v the component at right angles, so v is how fast $x_t$ moves as the angle turns.
# - Recovering x0 from an eps prediction is reading a faint signal by subtracting a loud noise estimate: near t = T a 1% error in the noise swamps the whole signal.
# - Choosing the target is choosing loss weights: eps-MSE favours low noise (weight SNR), x0-MSE weighs every t alike, v-MSE adds the two (SNR + 1).

# lab:figure weights
# kind: line
# title: Plain MSE on eps nearly ignores the noisiest steps, while v prediction weighs every step at least 1
# caption: In x0 units, an eps loss weighs step t by its SNR, from 1e+04 at t = 1 down to 4.04e-05 at
#   t = 1000; an x0 loss weighs every step 1, and a v loss SNR + 1, which joins the x0 line once the
#   SNR is small.
# x: t "step t" d
# y: weight "loss weight per unit of x0 error" .3g
# color: target "loss"
# y-scale: log

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
# (1) Solve the forward equation for x0; dividing by $\sqrt{\bar\alpha_t}$ magnifies errors at high noise.
# (2) The velocity of Salimans and Ho (2022, Section 4): with $\cos\phi = \sqrt{\bar\alpha_t}$ and $\sin\phi = \sqrt{1-\bar\alpha_t}$, $v = \cos\phi\,\epsilon - \sin\phi\,x_0$.
# (3) The inverse rotation: x0 and eps are read back from $(x_t, v)$ with coefficients of at most 1, no division.
# (4) The deterministic DDIM update ($\eta = 0$, lab 04) needs just the two estimates x0 and eps.
#
# lab:explain 75-80 Between eps and x0
# The forward equation has two unknowns; given x_t, each one determines the other. These two
# functions are exact inverses, so converting a prediction loses nothing but adds round-off.
#
# lab:explain 83-90 The velocity target
# Picture x0 and eps as perpendicular axes. The pair $(\cos\phi, \sin\phi)$ points along $x_t$, and v uses
# the perpendicular direction $(-\sin\phi, \cos\phi)$, so $(x_t, v)$ is $(x_0, \epsilon)$ rotated by the angle
# $\phi$. Undoing a rotation is another rotation, which is why lines 88-89 need no division.
#
# lab:explain 93-95 What the sampler consumes
# The update is written in terms of x0 and eps, so the network's output format is converted
# before the step and the step itself is identical for every target.


def figures():
    """The data of the figure declared above, computed with the lab's own conversions."""
    # weights: each target's loss weight in x0 units, measured as in main(): one eps error is turned
    # into x0 and v errors by the functions above, at every 20th step
    rng = np.random.default_rng(0)
    x0, eps, err = rng.standard_normal((3, 256))
    rows = []
    for t in (1, *range(20, T + 1, 20)):
        a = alpha_bar[t - 1]
        x_t = np.sqrt(a) * x0 + np.sqrt(1 - a) * eps
        eps_hat = eps + 0.1 * err
        x0_hat = eps_to_x0(x_t, eps_hat, a)
        mse_e, mse_x0 = np.mean((eps_hat - eps) ** 2), np.mean((x0_hat - x0) ** 2)
        mse_v = np.mean((v_from(x0_hat, eps_hat, a) - v_from(x0, eps, a)) ** 2)
        rows += [(t, float(mse_e / mse_x0), "eps-MSE, weight SNR"), (t, 1.0, "x0-MSE, weight 1"),
                 (t, float(mse_v / mse_x0), "v-MSE, weight SNR + 1")]
    return {"weights": dict(zip(("t", "weight", "target"), map(list, zip(*rows))))}


def main():
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((4096, 16))
    eps = rng.standard_normal(x0.shape)
    print(f"batch {x0.shape}; a network whose eps prediction is off by noise of std 0.1")
    print("    t   alpha_bar        SNR   MSE_eps   MSE_x0/MSE_eps   MSE_v/MSE_eps"
          "   weights in x0 units, eps : x0 : v")
    worst = 0.0
    for t in (1, 100, 500, 900, 1000):
        a = alpha_bar[t - 1]
        x_t = np.sqrt(a) * x0 + np.sqrt(1 - a) * eps
        v = v_from(x0, eps, a)
        back = x0_to_eps(x_t, eps_to_x0(x_t, eps, a), a)
        x0_v, eps_v = v_to_x0_eps(x_t, v, a)
        roundtrip = max(np.abs(back - eps).max(), np.abs(x0_v - x0).max(), np.abs(eps_v - eps).max())
        assert roundtrip < 1e-12, "conversions are exact up to round-off"
        worst = max(worst, roundtrip)

        eps_hat = eps + 0.1 * rng.standard_normal(x0.shape)  # an imperfect eps network
        x0_hat = eps_to_x0(x_t, eps_hat, a)
        v_hat = v_from(x0_hat, eps_hat, a)
        mse_e, mse_x0 = np.mean((eps_hat - eps) ** 2), np.mean((x0_hat - x0) ** 2)
        mse_v = np.mean((v_hat - v) ** 2)
        print(f"{t:5d}   {a:9.4g}   {a / (1 - a):8.3g}   {mse_e:7.4f}   {mse_x0 / mse_e:14.4g}"
              f"   {mse_v / mse_e:13.4g}   {mse_e / mse_x0:10.4g} : 1 : {mse_v / mse_x0:.4g}")
        assert abs(mse_x0 / mse_e / ((1 - a) / a) - 1) < 1e-9, "MSE_x0 = MSE_eps * (1 - ab) / ab"
        assert abs(mse_v / mse_e * a - 1) < 1e-9, "MSE_v = MSE_eps / ab"
        assert abs((mse_v - mse_e) / mse_x0 - 1) < 1e-9, "in x0 units, v weighs SNR + 1 and eps SNR"
    print(f"round trips eps -> x0 -> eps and (x0, eps) -> v -> (x0, eps): max error < 1e-12: {worst < 1e-12}")
    a = alpha_bar[-1]
    print(f"at t = 1000 eps_to_x0 divides by sqrt(alpha_bar) = {np.sqrt(a):.4f}: an eps error reaches x0 "
          f"{np.sqrt((1 - a) / a):.0f} times larger")

    t, t_prev = 500, 480
    a, a_prev = alpha_bar[t - 1], alpha_bar[t_prev - 1]
    x_t = np.sqrt(a) * x0 + np.sqrt(1 - a) * eps
    eps_hat = eps + 0.1 * rng.standard_normal(x0.shape)
    x0_hat = eps_to_x0(x_t, eps_hat, a)
    from_eps = ddim_step(x0_hat, eps_hat, a_prev)
    from_x0 = ddim_step(x0_hat, x0_to_eps(x_t, x0_hat, a), a_prev)
    from_v = ddim_step(*v_to_x0_eps(x_t, v_from(x0_hat, eps_hat, a), a), a_prev)
    diff = max(np.abs(from_eps - from_x0).max(), np.abs(from_eps - from_v).max())
    print(f"DDIM step {t} -> {t_prev} from an eps, x0 or v prediction: same to within 1e-12: {diff < 1e-12}")
    assert diff < 1e-12, "the sampler step does not depend on the prediction target"


if __name__ == "__main__":
    main()
