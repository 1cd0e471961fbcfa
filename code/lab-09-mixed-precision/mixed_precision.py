"""Lab 09 - Mixed precision & loss scaling: why fp32 master weights and a loss scale exist.

Shows the two ways fp16 training loses information (small gradients flush to zero, small updates
vanish when added to a weight), the fixes (loss scaling, fp32 master weights), a dynamic loss
scaler, and the bytes per parameter of mixed-precision Adam.
"""
# lab:goal See which failure each part of mixed-precision training fixes: master weights, loss scaling and fp32 accumulation.
#
# lab:mental-model
# - Forward and backward run in 16-bit; the optimizer updates an fp32 master copy of the weights.
# - fp16's smallest subnormal is $2^{-24} \approx 6 \times 10^{-8}$: gradients below half of it round to 0 unless the loss is scaled up first.
# - Gradients are unscaled in fp32 before the update; a step whose gradients overflowed is skipped.
# - bf16 has fp32's range, so it rarely needs loss scaling, but it still needs fp32 master weights.
#
# lab:checkpoints
# - fp16(1e-8) is 0, but fp16(1e-8 x 1024) is not.
#   answer: 1e-8 is below half of $2^{-24}$ and rounds to 0; 1.024e-5 is a subnormal, and dividing by 1024 in fp32 gives back 1.0012e-8.
# - A weight of 1.0 stored in fp16 never moves under updates of 1e-4.
#   answer: Spacing above 1 is $2^{-10} \approx 9.8 \times 10^{-4}$, so 1 + 1e-4 rounds back to 1; the fp32 master reaches 1.1 after 1000 steps.
# - The dynamic scaler settles just below the overflow limit.
#   answer: It halves on inf and skips that step, doubles after a run of clean steps, so here it moves between 2^19 and 2^20, where the largest gradients (about 0.05 to 0.1) land near 65504.
# - Mixed-precision Adam does not halve the training state.
#   answer: 16, 18 or 20 bytes per parameter depending on how gradients are kept, against 16 for fp32 training.
#
# lab:traps
# - "Mixed precision halves training memory": the weights, gradients and Adam state take 16 to 20 B/param, no less than fp32's 16; the savings are in activations and speed.
# - "bf16 needs no fp32 master weights": its spacing above 1 is $2^{-7}$, so small updates vanish even faster than in fp16.
# - Forgetting to unscale: gradient clipping and the optimizer must see gradients divided by the loss scale.
#
# lab:interview
# The states are the weights, the gradients and the optimizer moments, each with its own dtype.
# fp16 has 5 exponent bits, so gradients below about 3e-8 flush to zero; multiplying the loss by
# S shifts every gradient up by S through the chain rule, and dividing by S in fp32 before the
# update restores them. A dynamic scaler picks S by halving it on overflow, skipping that step,
# and doubling it after a run of clean steps. Separately, an update of 1e-4 is lost when added to
# a weight of 1.0 in fp16 or bf16, so the optimizer keeps fp32 master weights and the matmuls
# accumulate in fp32. The trade-off: the 16-bit copies buy Tensor Core speed and smaller
# activations, while the persistent state grows to 16-20 bytes per parameter.

import numpy as np

FP16_MAX = 65504.0


def fp16(x):
    with np.errstate(over="ignore"):
        return np.asarray(x, np.float32).astype(np.float16)


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
# (5) SGD on the fp32 master weights; the 16-bit copy for the next forward is cast from these.
#
# lab:explain 51-54 One scaled backward pass
# Scaling the loss scales every gradient by the same factor, so the fp16 tensor holds `scale`
# times the true gradient. The check for inf is what makes a too-large scale safe to try.
#
# lab:explain 57-70 The dynamic scaler
# The scale moves by factors of two: down at once on overflow, up slowly while steps stay clean.
# Skipped steps cost time, not correctness, because the master weights are untouched.


def main():
    tiny = fp16(1e-8)
    lifted = fp16(1e-8 * 1024)
    print(f"fp16(1e-8) = {float(tiny)}, fp16(1e-8 * 1024) = {float(lifted):.4e}, "
          f"unscaled in fp32 = {float(np.float32(lifted) / 1024):.4e}")
    assert tiny == 0 and lifted != 0

    rng = np.random.default_rng(0)
    grads = (10.0 ** rng.uniform(-10, -1, 100_000) * rng.choice([-1, 1], 100_000)).astype(np.float32)
    for s in (1.0, 2.0**10, 2.0**16, 2.0**20):  # synthetic gradients, 1e-10 to 1e-1
        back, finite = scaled_backward(grads, s)
        print(f"loss scale 2^{int(np.log2(s)):2d}: {np.mean(back == 0):6.1%} of gradients lost to 0, "
              f"{'finite' if finite else 'overflow (inf)'}")
    assert np.mean(scaled_backward(grads, 1.0)[0] == 0) > 0.25 and not scaled_backward(grads, 2.0**20)[1]

    scaler, master = DynamicScaler(), np.zeros(1000, np.float32)
    scales = []
    for _ in range(200):
        step_grads = grads[rng.integers(0, grads.size, 1000)] * np.float32(rng.uniform(0.5, 1.0))
        master = scaler.step(step_grads, master)
        scales.append(scaler.scale)
    print(f"dynamic scaler from 2^24: {scaler.skipped} skipped steps, scale range over the last "
          f"100 steps 2^{np.log2(min(scales[100:])):.0f} to 2^{np.log2(max(scales[100:])):.0f}")
    assert scaler.skipped >= 4 and FP16_MAX / 4 < min(scales[100:]) * 0.1 < max(scales[100:]) * 0.1 < 2 * FP16_MAX

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
    for name, b in bytes_per_param.items():
        print(f"{b:2d} B/param  {name}")
    assert min(bytes_per_param.values()) >= bytes_per_param["fp32 training"]


if __name__ == "__main__":
    main()
