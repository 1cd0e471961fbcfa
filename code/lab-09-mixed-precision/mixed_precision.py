"""Lab 09 - Mixed precision & loss scaling: why fp32 master weights, a loss scale and fp32 sums exist.

Shows three ways fp16 loses information (gradients underflow, updates vanish, long sums drop small
terms), the fix for each, a dynamic loss scaler, and the bytes per parameter of mixed-precision Adam.
"""
# lab:goal See which failure of 16-bit training each fix addresses: loss scaling, fp32 master weights and fp32 accumulation.
#
# lab:mental-model
# - Mixed precision runs forward and backward in 16 bits (fp16 or bf16) and keeps an fp32 master
#   copy of the weights, which the optimizer updates and from which the 16-bit copy is cast.
# - Below its smallest normal (6.1e-5) fp16 has subnormals, with fewer significant bits, down to
#   $2^{-24} \approx 6 \times 10^{-8}$: gradients below half of that underflow, i.e. round to 0.
# - Multiplying the loss by a loss scale S multiplies every gradient by S; they are divided by S
#   in fp32 before the update, and a step whose gradients overflowed to inf or NaN is skipped.
# - A long sum (a dot product inside a matmul, a norm, a softmax denominator) adds thousands of terms
#   into one running total, which must be fp32 or the small terms are rounded away.
#
# lab:checkpoints
# - What does fp16 make of a gradient of 1e-8, without a scale and with a scale of 1024?
#   answer: Without: 0, since 1e-8 is below half of $2^{-24}$. With: 1.0252e-5, a subnormal, and
#   dividing by 1024 in fp32 gives back 1.0012e-8.
#   see: output "fp16(1e-8) = 0.0"
#   predict: number 5, within 5%
# - Where does the dynamic scaler settle, and why there?
#   answer: Between $2^{19}$ and $2^{20}$. It halves on inf and doubles after 20 clean steps; the
#   largest gradients (up to 0.1) overflow 65504 at $2^{20}$ but fit at $2^{19}$, half as large.
#   see: output "dynamic scaler from 2^24"
# - Summing the squares of 8192 fp16 activations, how far off is an fp16 running total, and why?
#   answer: 6608 against 8131.5, 18.7% low: above 4096 fp16 values are 4 apart, so each new term
#   (about 1 on average) is mostly rounded away. The fp32 total has a relative error below 1e-5.
#   see: output "sum of 8192 squares"
# - A weight of 1.0 kept in fp16 receives 1000 updates of 1e-4. Where does it end?
#   answer: At 1.0: the spacing above 1 is $2^{-10} \approx 9.8 \times 10^{-4}$, so 1 + 1e-4 rounds
#   back to 1 every time. The fp32 master weight reaches 1.1.
#   see: output "1000 updates of 1e-4"
# lab:traps
# - "Mixed precision halves training memory."
#   why: Weights, gradients and Adam's moments (two fp32 running averages) take 16-20 B/param, no
#   less than fp32's 16 (last four output lines); the savings are in activations and speed.
# - "fp32 accumulation is what rescues small weight updates."
#   why: An update is lost when the optimizer adds it to a stored 16-bit weight; only an fp32 master
#   copy fixes that. fp32 accumulation fixes a different loss, small terms inside one long sum
#   (lines 95-105).
# - "bf16 needs no fp32 master weights."
#   why: bf16's spacing above 1 is $2^{-7}$, 8x coarser than fp16's, so an update of 1e-4 vanishes
#   even sooner. Its 8 exponent bits remove only the need for loss scaling.
#
# lab:interview
# 16-bit training loses information in three ways, and mixed precision (Micikevicius et al., 2017)
# fixes each separately. Gradients below about $3 \times 10^{-8}$ underflow in fp16: multiplying the
# loss by $S$ multiplies every gradient by $S$, and dividing by $S$ in fp32 restores them.
#
# An update of $10^{-4}$ added to a weight of 1.0 is rounded away in fp16 or bf16, so the optimizer
# updates fp32 master weights. A sum of 8192 terms loses its small terms in a 16-bit running total,
# so matmuls and reductions accumulate in fp32.
#
# The trade-off: 16-bit copies buy Tensor Core speed and smaller activations, while the persistent
# state grows to 16-20 bytes per parameter.
#
# lab:intuition
# - Adding a small number to a large one is like weighing a grain of rice on a kitchen scale: below
#   the scale's resolution nothing registers. The fp16 weight (resolution 0.001 at 1.0) and the fp16
#   running sum (resolution 4 above 4096) fail alike; fp32 is the finer scale.
# - A loss scale of $2^{16}$ slides the whole gradient histogram 16 powers of two to the right, out of
#   the underflow zone; the fp32 division slides it back once nothing can be lost.

# lab:figure window
# kind: line
# title: Loss scales from 2^9 to 2^19 keep every gradient; smaller ones lose some to 0, larger ones to inf
# caption: Without a scale 27.4% of the gradients (1e-10 to 1e-1) round to 0 in fp16. Each doubling
#   rescues a few percent until none is lost at 2^9; from 2^20 on, the largest overflow 65504.
# x: k "loss scale 2^k" d
# y: share "share of the gradients" .2%
# color: fate "lost to"
# lab:figure sums
# kind: line
# title: An fp16 running total falls further behind the longer the sum, an fp32 one does not
# caption: Summing squares of fp16 activations, the fp16 total is 2.4% low after 2048 terms and 18.7%
#   low after 8192 (6608 against 8131.5), where fp16 values are 4 apart; the fp32 total stays within 1e-5.
# x: n "number of terms" d
# y: error "error of the total against the exact sum" .1%
# color: accumulator "accumulator"

import numpy as np

FP16_MAX = 65504.0


def fp16(x):
    with np.errstate(over="ignore"):
        return np.asarray(x, np.float32).astype(np.float16)


# lab:begin accumulate
def running_sum(terms, acc_dtype):
    """Add the terms one by one into a single accumulator of type `acc_dtype`."""
    acc = acc_dtype(0.0)
    for t in terms:
        acc = acc_dtype(float(acc) + float(t))  # (1)
    return float(acc)


def sum_of_squares(x16, acc_dtype):
    products = x16.astype(np.float32) ** 2  # (2)
    return running_sum(products, acc_dtype)
# lab:end accumulate
# lab:notes accumulate
# (1) The sum, rounded once to the accumulator's type: a 16-bit accumulator loses whatever falls below its spacing.
# (2) A product of two fp16 values is exact in fp32 (11 + 11 significant bits fit in 24), as in a Tensor Core.
#
# lab:explain 95-105 One accumulator, two widths
# A dot product or a norm is one chain of additions into one register; the two calls differ only in
# that register's type, not in their fp16 inputs.


# lab:begin scaler
def scaled_backward(true_grads, scale):
    g16 = fp16(true_grads * np.float32(scale))  # (1)
    finite = bool(np.all(np.isfinite(g16)))
    return g16.astype(np.float32) / np.float32(scale), finite  # (2)


class DynamicScaler:
    def __init__(self, scale=2.0**24, growth_interval=20):
        self.scale, self.interval, self.clean, self.skipped = scale, growth_interval, 0, 0

    def step(self, true_grads, master):
        grads, finite = scaled_backward(true_grads, self.scale)
        if not finite:
            self.scale /= 2  # (3)
            self.clean, self.skipped = 0, self.skipped + 1
            return master
        self.clean += 1
        if self.clean == self.interval:
            self.scale, self.clean = self.scale * 2, 0  # (4)
        return master - np.float32(1e-3) * grads  # (5)
# lab:end scaler
# lab:notes scaler
# (1) Backward in fp16 with the loss multiplied by `scale`: every gradient is `scale` times larger.
# (2) Unscale in fp32: the division is exact for powers of two, and the result can again be tiny.
# (3) An inf or NaN means the scale was too big: skip this update and halve.
# (4) After `interval` clean steps try a larger scale. PyTorch's GradScaler starts at $2^{16}$ and waits 2000 steps; 20 keeps the demo short.
# (5) A plain gradient step on the fp32 master weights; the next forward's 16-bit copy is cast from them.
#
# lab:explain 117-120 One scaled backward pass
# Scaling the loss scales every gradient by the same factor, so the fp16 tensor holds `scale`
# times the true gradient. The check for inf is what makes a too-large scale safe to try.
#
# lab:explain 123-136 The dynamic scaler
# The scale moves by factors of two: down at once on overflow, up slowly while steps stay clean.
# Skipped steps cost time, not correctness, because the master weights are untouched.


def synthetic_grads(rng):  # 100,000 gradients spread evenly over the decades 1e-10 to 1e-1, signs random
    return (10.0 ** rng.uniform(-10, -1, 100_000) * rng.choice([-1, 1], 100_000)).astype(np.float32)


def activations():  # 8192 fp16 activations: the terms of the long sum are their squares
    return np.random.default_rng(1).standard_normal(8192).astype(np.float16)


def figures():
    """The figures' data. window: the share of gradients fp16 loses to 0 or inf, per loss scale."""
    grads, window = synthetic_grads(np.random.default_rng(0)), []
    for k in range(25):
        back, _ = scaled_backward(grads, 2.0**k)
        window += [(k, float(np.mean(back == 0)), "underflow: rounded to 0"),
                   (k, float(np.mean(np.isinf(back))), "overflow: inf")]
    # sums: the relative error of the sum of the first n squares, for each accumulator
    x16, sums = activations(), []
    for n in range(1024, 8193, 1024):
        exact = float(np.sum(x16[:n].astype(np.float64) ** 2))
        sums += [(n, sum_of_squares(x16[:n], acc) / exact - 1, f"{name} accumulator")
                 for acc, name in ((np.float32, "fp32"), (np.float16, "fp16"))]
    return {"window": dict(zip(("k", "share", "fate"), map(list, zip(*window)))),
            "sums": dict(zip(("n", "error", "accumulator"), map(list, zip(*sums))))}


def main():
    tiny, lifted = fp16(1e-8), fp16(1e-8 * 1024)
    print(f"fp16(1e-8) = {float(tiny)}, fp16(1e-8 * 1024) = {float(lifted):.4e}, "
          f"unscaled in fp32 = {float(np.float32(lifted) / 1024):.4e}")
    assert tiny == 0 and lifted != 0

    rng = np.random.default_rng(0)
    grads = synthetic_grads(rng)
    for s in (1.0, 2.0**10, 2.0**16, 2.0**20):  # synthetic gradients, 1e-10 to 1e-1
        back, finite = scaled_backward(grads, s)
        kept = back != 0
        worst = np.max(np.abs(back[kept] - grads[kept]) / np.abs(grads[kept])) if finite else np.inf
        print(f"loss scale 2^{int(np.log2(s)):2d}: {np.mean(~kept):6.1%} of gradients lost to 0, "
              + (f"worst error of the rest {worst:6.2%}" if finite else "overflow (inf)"))
        assert s != 2.0**16 or (np.all(kept) and worst < 0.01)  # scaled enough: nothing lost
    assert np.mean(scaled_backward(grads, 1.0)[0] == 0) > 0.25 and not scaled_backward(grads, 2.0**20)[1]

    scaler, master, scales = DynamicScaler(), np.zeros(1000, np.float32), []
    for _ in range(200):
        step_grads = grads[rng.integers(0, grads.size, 1000)] * np.float32(rng.uniform(0.5, 1.0))
        before, skipped = master.copy(), scaler.skipped
        master = scaler.step(step_grads, master)
        scales.append(scaler.scale)
        if scaler.skipped > skipped:  # an overflow: the update is dropped, the master weights untouched
            assert np.array_equal(master, before)
        else:  # a clean step moves each weight by lr x its true gradient (to fp16 and fp32 rounding)
            assert np.allclose(before - master, np.float32(1e-3) * step_grads, rtol=2e-3, atol=4e-9)
    print(f"dynamic scaler from 2^24: {scaler.skipped} skipped steps, scale range over the last "
          f"100 steps 2^{np.log2(min(scales[100:])):.0f} to 2^{np.log2(max(scales[100:])):.0f}")
    assert scaler.skipped >= 4 and FP16_MAX / 4 < min(scales[100:]) * 0.1 < max(scales[100:]) * 0.1 < 2 * FP16_MAX

    x16 = activations()
    exact = float(np.sum(x16.astype(np.float64) ** 2))
    s16, s32 = sum_of_squares(x16, np.float16), sum_of_squares(x16, np.float32)
    print(f"sum of 8192 squares of fp16 values: exact {exact:.1f}, fp16 accumulator {s16:.0f} "
          f"({s16 / exact - 1:+.1%}), fp32 accumulator within 1e-5: {'yes' if abs(s32 / exact - 1) < 1e-5 else 'no'}")
    assert abs(s32 / exact - 1) < 1e-5 and s16 / exact - 1 < -0.1

    w16, w32 = np.float16(1.0), np.float32(1.0)
    for _ in range(1000):
        w16 = w16 + np.float16(1e-4)  # weight kept in fp16
        w32 = w32 + np.float32(1e-4)  # fp32 master weight
    print(f"1000 updates of 1e-4: fp16 weight {float(w16):.4f}, fp32 master {float(w32):.4f}")
    assert w16 == 1.0 and abs(w32 - 1.1) < 1e-4

    bytes_per_param = {  # Adam: weights + gradients + 2 moments (+ master copy)
        "fp32 training": 4 + 4 + 8,
        "mixed, ZeRO count: 16-bit w and g, fp32 master, m, v": 2 + 2 + 4 + 8,
        "mixed, Bekman/HF count: gradients in fp32": 2 + 4 + 4 + 8,
        "mixed, Playbook count: 16-bit and fp32 gradients": 2 + 2 + 4 + 4 + 8,
    }
    print("\n".join(f"{b:2d} B/param  {name}" for name, b in bytes_per_param.items()))
    assert min(bytes_per_param.values()) >= bytes_per_param["fp32 training"]


if __name__ == "__main__":
    main()
