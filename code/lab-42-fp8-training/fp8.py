"""Lab 42 - FP8 training: format range, and how finely the scale follows the data.

A numpy rounder for the two FP8 formats (E4M3 and E5M2: round to nearest even, subnormals,
saturation at the largest finite value), used to quantize a 512 x 2048 activation with four
outlier columns under per-tensor, 1 x 128 tile and 128 x 128 block scaling, to show what delayed
scaling does when activations grow, and to quantize gradients spread over eight decades.
"""
# lab:goal See why FP8 training needs a scale per small block of a tensor, and which format gradients need.
#
# lab:mental-model
# - FP8 keeps 8 bits: E4M3 spends 4 on the exponent and 3 on the mantissa (largest 448, smallest normal $2^{-6}$, smallest subnormal $2^{-9}$); E5M2 spends 5 and 2 (largest 57344, down to $2^{-16}$).
# - A tensor is multiplied by a scale so that its largest value lands near the format's largest; everything much smaller loses precision or becomes zero.
# - One outlier sets a per-tensor scale for all values; a scale per 1 x 128 tile or per 128 x 128 block confines its damage to the values that share it.
# - Delayed scaling takes the scale from past steps' maxima; when values grow past them, the overflow saturates at 448.
#
# lab:checkpoints
# - Before you run it: what does E4M3 make of 250?
#   answer: 256: between 128 and 256 E4M3 values are 16 apart, so 250 lies between 240 and 256 and rounds to the nearer, 256.
#   see: output "fp8(250)"
#   predict: number 2, within 0%
# - Why does a per-tensor scale zero about 6% of this activation's ordinary values?
#   answer: Four outlier columns reach about 40,000, so the scale that fits them into 448 shrinks ordinary values of about 1 to about 0.01, below E4M3's smallest normal value; the smallest become zero.
#   see: output "per-tensor"
# - Gradients spread from $10^{-8}$ to 1 are scaled so the largest is the format's largest. What share becomes zero in E4M3 and in E5M2?
#   answer: 29.3% in E4M3, whose smallest subnormal is $2^{-9}$ of a range topping at 448, and none in E5M2, whose range reaches down to $2^{-16}$ under 57344: gradients need range more than precision.
#   see: output "gradients"
# lab:traps
# - FP8 is INT8 with a float label.
#   why: An INT8 grid is uniform; FP8's spacing grows with the value, 2 apart near 20 and 32 apart near 400 in E4M3 (line 54 takes the step from the exponent), so relative error stays roughly constant over a wide range.
# - One scale per tensor is enough, as for bf16.
#   why: bf16 has fp32's range, FP8 a tiny one: with four outlier columns a per-tensor scale zeroes 6.38% of the ordinary values, where 1 x 128 tiles zero 0.35%.
#
# lab:interview
# FP8 comes in two formats: E4M3 (largest 448, relative step $2^{-3}$) for weights and activations, and E5M2 (largest 57344, step $2^{-2}$) where range matters more, classically for gradients.
# Every FP8 tensor carries a scale that maps its largest magnitude near the format's maximum, and the granularity of that scale decides what outliers cost.
# For a 512 x 2048 activation with four outlier columns 10,000 times larger, a per-tensor scale gives a relative error of 0.0469 on the ordinary values and zeroes 6.38% of them, while 1 x 128 tiles give 0.0262, close to the 0.0265 without outliers; DeepSeek-V3 scales activations per 1 x 128 tile and weights per 128 x 128 block, online, and promotes partial sums to FP32 every 128 elements.
# Delayed scaling, as in Transformer Engine, reuses past maxima and saturates when activations grow; current or fine-grained scaling avoids that.
#
# lab:intuition
# - A scale is a zoom: one zoom for the whole picture must fit the brightest star, and the faint ones vanish; a zoom per tile keeps them.
# - Count bits as range plus precision: E4M3 trades one exponent bit of E5M2 for twice the precision.

import numpy as np

OUTLIERS = [17, 500, 1200, 2000]  # columns of the activation 10,000 times larger than the rest
FORMATS = {"E4M3": dict(mantissa=3, min_exp=-6, largest=448.0), "E5M2": dict(mantissa=2, min_exp=-14, largest=57344.0)}


# lab:begin rounder
def to_fp8(x, fmt="E4M3"):
    f = FORMATS[fmt]
    a = np.minimum(np.abs(x), f["largest"])  # (1)
    exponent = np.floor(np.log2(np.maximum(a, 2.0 ** f["min_exp"])))  # (2)
    step = 2.0 ** (exponent - f["mantissa"])  # (3)
    return np.sign(x) * np.minimum(np.round(a / step) * step, f["largest"])  # (4)


def quantize(x, block, fmt="E4M3"):
    """Scale each (block rows x block cols) block so its largest magnitude is the format's largest."""
    rows, cols = block
    r, c = x.shape
    tiles = x.reshape(r // rows, rows, c // cols, cols)
    amax = np.abs(tiles).max(axis=(1, 3), keepdims=True)
    scale = FORMATS[fmt]["largest"] / np.where(amax > 0, amax, 1.0)  # (5)
    return (to_fp8(tiles * scale, fmt) / scale).reshape(r, c)
# lab:end rounder
# lab:notes rounder
# (1) Saturate: anything beyond the largest finite value becomes it (E4M3 has no infinity).
# (2) The value's binade, but never below the smallest normal: under it the spacing stays fixed, the subnormals.
# (3) The spacing of representable values in that binade: $2^{e-m}$ for $m$ mantissa bits.
# (4) Round to the nearest multiple of the step; numpy's round breaks ties to even, as the hardware does.
# (5) One scale per block; a block's largest magnitude lands on the format's largest.
#
# lab:explain 50-65 An FP8 rounder and block scaling
# The rounder follows the format's definition, exponent range and mantissa bits, so every value the format
# can hold comes back unchanged; `quantize` applies it with one scale per block of the tensor.


def all_values(fmt):
    """Every non-negative finite value of the format, from its bit fields."""
    f = FORMATS[fmt]
    m = 2 ** f["mantissa"]
    values = {k * 2.0 ** (f["min_exp"] - f["mantissa"]) for k in range(m)}  # subnormals and zero
    exponent = f["min_exp"]
    while True:
        for k in range(m):
            v = (1 + k / m) * 2.0**exponent
            if v <= f["largest"]:
                values.add(v)
        if 2.0**exponent > f["largest"]:
            return np.array(sorted(values))
        exponent += 1


def activation(rng, outliers=True):
    x = rng.standard_normal((512, 2048))
    if outliers:
        x[:, OUTLIERS] *= 1e4
    return x


def errors(x, q, ordinary):
    """Relative error and share of ordinary (non-outlier) values that became zero."""
    return (np.linalg.norm((q - x)[:, ordinary]) / np.linalg.norm(x[:, ordinary]),
            np.mean((q[:, ordinary] == 0) & (x[:, ordinary] != 0)))


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rng = np.random.default_rng(0)
    x = activation(rng)
    ordinary = np.ones(2048, bool)
    ordinary[OUTLIERS] = False
    rows = []
    for name, block in (("per tensor", (512, 2048)), ("128 x 128 blocks", (128, 128)), ("1 x 128 tiles", (1, 128))):
        err, zeroed = errors(x, quantize(x, block), ordinary)
        rows += [(name, "relative error", err), (name, "share zeroed", zeroed)]
    return {"granularity": dict(zip(("scaling", "measure", "value"), map(list, zip(*rows))))}


# lab:figure granularity
# kind: bar
# title: A finer scale confines an outlier's damage to the values that share it
# caption: E4M3 quantization of a 512 x 2048 activation whose 4 outlier columns are 10,000 times larger:
#   relative error and share zeroed on the ordinary values, for one scale per tensor, per 128 x 128 block and per 1 x 128 tile.
# x: scaling "scale shared by"
# y: value "on ordinary values" .4f
# color: measure "measure"


def main():
    for fmt in FORMATS:
        values = all_values(fmt)
        assert np.array_equal(to_fp8(values, fmt), values) and np.array_equal(to_fp8(-values, fmt), -values)
        assert np.abs(to_fp8(np.linspace(-1e6, 1e6, 10001), fmt)).max() == FORMATS[fmt]["largest"]
        print(f"{fmt}: {len(values)} non-negative values, largest {values[-1]:g}, smallest normal "
              f"{2.0 ** FORMATS[fmt]['min_exp']:g}, smallest subnormal {values[1]:g}; every value rounds to itself")
    print(f"fp8(250) = {to_fp8(np.array([250.0]))[0]:g} in E4M3")
    assert to_fp8(np.array([250.0]))[0] == 256

    rng = np.random.default_rng(0)
    x = activation(rng)
    ordinary = np.ones(2048, bool)
    ordinary[OUTLIERS] = False
    clean = activation(np.random.default_rng(0), outliers=False)
    print("E4M3, 512 x 2048 activation with 4 outlier columns x 1e4: error and zeros on ordinary values")
    results = {}
    for name, block, data in (("per-tensor", (512, 2048), x), ("1 x 128 tiles", (1, 128), x),
                              ("128 x 128 blocks", (128, 128), x), ("no outliers, per-tensor", (512, 2048), clean)):
        results[name] = errors(data, quantize(data, block), ordinary)
        print(f"  {name:24s} relative error {results[name][0]:.4f}, zeroed {results[name][1]:.2%}")
    assert results["per-tensor"][0] > results["128 x 128 blocks"][0] > results["1 x 128 tiles"][0]

    grown = 2 * x[:, ordinary]  # activations doubled since the maximum was recorded
    stale = FORMATS["E4M3"]["largest"] / np.abs(x[:, ordinary]).max()
    delayed = to_fp8(grown * stale) / stale
    current = quantize(grown, grown.shape)
    print(f"delayed scaling after activations doubled: {np.mean(np.abs(grown * stale) > 448):.2%} saturate, error "
          f"{np.linalg.norm(delayed - grown) / np.linalg.norm(grown):.4f} (current scaling "
          f"{np.linalg.norm(current - grown) / np.linalg.norm(grown):.4f})")
    grads = 10.0 ** np.random.default_rng(1).uniform(-8, 0, 250_000)
    zeroed = {fmt: np.mean(quantize(grads.reshape(500, 500), (500, 500), fmt) == 0) for fmt in FORMATS}
    print(f"gradients log-uniform over 1e-8 to 1, per-tensor scale: zeroed {zeroed['E4M3']:.1%} in E4M3, "
          f"{zeroed['E5M2']:.1%} in E5M2")
    assert zeroed["E4M3"] > 0.2 and zeroed["E5M2"] == 0


if __name__ == "__main__":
    main()
