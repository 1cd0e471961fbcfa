"""Lab 08 - Number formats: exponent bits buy range, mantissa bits buy precision.

Derives max, machine epsilon and smallest normal of fp32, fp16, bf16 and the two FP8 formats from
their bit layouts, emulates bf16 by rounding fp32 bit patterns, and shows where fp16 overflows and
where bf16 loses precision.
"""
# lab:goal Read a float format as a trade between range (exponent bits) and precision (mantissa bits).
#
# lab:mental-model
# - A normal float is $(-1)^s \cdot 1.m \cdot 2^{e - bias}$: exponent bits set the range, mantissa bits the spacing.
# - Machine epsilon is $2^{-m}$ for $m$ stored mantissa bits; relative rounding error is at most half of it.
# - bf16 is the top 16 bits of fp32: same 8 exponent bits, so same range, but only 7 mantissa bits.
# - fp16 keeps 10 mantissa bits but only 5 exponent bits, so it overflows above 65504.
#
# lab:checkpoints
# - fp16(70000) is inf, while bf16(70000) is 70144.
#   answer: 70000 is above fp16's max of 65504. bf16 has fp32's range, but near $2^{16}$ its values are 512 apart, so it picks 137 x 512.
# - bf16 rounds 1 + 2^-8 to exactly 1.
#   answer: Spacing above 1 is $2^{-7}$; $1 + 2^{-8}$ is a tie and round-to-nearest-even picks 1. fp16 keeps it (spacing $2^{-10}$).
# - On random data bf16's relative rounding error is 8x fp16's.
#   answer: Three fewer mantissa bits: the worst case is $2^{-8}$ against $2^{-11}$.
# - E4M3 reaches 448, not the 240 an IEEE-style layout would give.
#   answer: E4M3 has no infinities and only one NaN pattern, so the top exponent holds normal values: 1.75 x $2^8$ = 448.
#
# lab:traps
# - "bf16 is more precise than fp16": it is less precise (7 vs 10 mantissa bits); it wins on range.
# - "Same 16 bits, so the same format": fp16 and bf16 cannot be swapped without checking range and precision.
# - Assuming every FP8 format follows IEEE rules: E5M2 does, E4M3 gives up infinities to reach 448.
#
# lab:interview
# The state is a tensor of real numbers stored in a fixed bit budget split into sign, exponent and
# mantissa. fp16 spends 5 bits on exponent and 10 on mantissa: fine spacing ($2^{-10}$ near 1) but
# a maximum of 65504, so 70000 becomes inf. bf16 spends 8 on exponent and 7 on mantissa, copying
# fp32's range, so 70000 survives as 70144, but 1 + 2^-8 rounds to 1 and its relative error is 8x
# fp16's. FP8 pushes the same trade further: E4M3 (max 448) for weights and activations, E5M2
# (max 57344) for gradients, both with per-tensor scaling. The trade-off is range against precision
# at a fixed byte count; bytes set bandwidth and memory, so fewer bits are faster only if the
# numerics survive.

import numpy as np

# lab:begin formats
FORMATS = {  # name: (exponent bits, stored mantissa bits, IEEE-style top exponent reserved?)
    "fp32": (8, 23, True), "fp16": (5, 10, True), "bf16": (8, 7, True),
    "fp8 E5M2": (5, 2, True), "fp8 E4M3": (4, 3, False),
}


def describe(e_bits, m_bits, ieee):
    bias = 2 ** (e_bits - 1) - 1
    eps = 2.0 ** -m_bits  # (1)
    min_normal = 2.0 ** (1 - bias)
    if ieee:
        max_val = (2 - eps) * 2.0 ** bias  # (2)
    else:
        max_val = (2 - 2 * eps) * 2.0 ** (bias + 1)  # (3)
    return max_val, eps, min_normal


def to_bf16(x):
    """Round fp32 to the nearest bf16 (ties to even) and return it as fp32."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16  # (4)
    return rounded.astype(np.uint32).view(np.float32)  # (5)


def to_fp16(x):
    with np.errstate(over="ignore"):
        return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)  # (6)
# lab:end formats
# lab:notes formats
# (1) The gap between 1 and the next representable number: $2^{-m}$.
# (2) IEEE: the all-ones exponent is kept for inf/NaN, so the largest value is $(2 - 2^{-m}) \cdot 2^{bias}$.
# (3) E4M3 uses the all-ones exponent for numbers too, except mantissa 111 (NaN): 1.75 x $2^8$ = 448.
# (4) Add just under half of the 16 dropped bits, plus 1 when the kept part is odd: round to nearest, ties to even.
# (5) Zeroing the low 16 bits leaves an fp32 whose value is exactly a bf16 value.
# (6) numpy's float16 is IEEE binary16; values from 65520 up round to inf, silently here.
#
# lab:explain 43-46 Five layouts, three numbers each
# Every format is a sign bit plus an exponent and a mantissa field; the table lists only the two
# widths and whether the top exponent is reserved for special values.
#
# lab:explain 49-57 Range and precision from the bit widths
# The bias centres the exponent range; epsilon follows from the mantissa alone; the maximum
# depends on both and on whether the largest exponent code still holds numbers.
#
# lab:explain 60-69 Emulating bf16 with integer arithmetic
# Because bf16 is fp32 with the low 16 mantissa bits cut, rounding is integer arithmetic on the
# bit pattern. fp16 has its own exponent width, so it needs a real conversion.


def main():
    print("format     max          eps        min normal")
    table = {name: describe(*spec) for name, spec in FORMATS.items()}
    for name, (mx, eps, mn) in table.items():
        print(f"{name:9s}  {mx:11.5g}  {eps:9.3g}  {mn:10.3g}")
    for dt, name in ((np.float16, "fp16"), (np.float32, "fp32")):
        info = np.finfo(dt)
        assert (float(info.max), float(info.eps), float(info.tiny)) == table[name]
    assert table["fp8 E4M3"][0] == 448 and table["fp8 E5M2"][0] == 57344

    print(f"70000 -> fp16 {to_fp16(70000.0)}, bf16 {to_bf16(70000.0)}")
    print(f"1 + 2^-8 -> fp16 {to_fp16(1 + 2**-8):.8f}, bf16 {to_bf16(1 + 2**-8):.8f}")
    print(f"1 + 2^-7 -> bf16 {to_bf16(1 + 2**-7):.8f}")
    assert np.isinf(to_fp16(70000.0)) and to_bf16(70000.0) == 70144.0
    assert to_bf16(1 + 2**-8) == 1.0 and to_fp16(1 + 2**-8) == 1 + 2**-8

    rng = np.random.default_rng(0)
    x = rng.standard_normal(1_000_000).astype(np.float32)  # typical activation magnitudes
    for name, fn, bound in (("fp16", to_fp16, 2.0**-11), ("bf16", to_bf16, 2.0**-8)):
        rel = np.abs(fn(x) - x)[np.abs(x) > 1e-4] / np.abs(x)[np.abs(x) > 1e-4]
        print(f"{name}: max relative rounding error {rel.max():.3e} (bound {bound:.3e}), "
              f"mean {rel.mean():.2e}")
        assert rel.max() <= bound


if __name__ == "__main__":
    main()
