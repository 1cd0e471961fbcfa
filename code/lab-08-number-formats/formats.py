"""Lab 08 - Number formats: exponent bits buy range, mantissa bits buy precision.

Derives max, machine epsilon and smallest normal of fp32, fp16, bf16 and the two FP8 formats from
their bit layouts, decodes all 256 FP8 E4M3 codes, emulates bf16 by rounding fp32 bit patterns, and
shows where fp16 overflows and where bf16 loses precision.
"""
# lab:goal Read a float format as a trade between range (exponent bits) and precision (mantissa bits).
#
# lab:mental-model
# - A float stores a sign bit s, an exponent field e and a mantissa field m. A normal value is
#   $(-1)^s \cdot 1.m \cdot 2^{e - bias}$ with $bias = 2^{E-1} - 1$ for E exponent bits.
# - Exponent bits set the range; mantissa bits set the spacing. Machine epsilon, the gap between 1 and
#   the next value, is $2^{-M}$ for M mantissa bits, and rounding to nearest errs by at most half of it.
# - An exponent field of all zeros holds subnormals, $0.m \cdot 2^{1 - bias}$, which fill the gap
#   down to 0; IEEE formats keep the all-ones exponent for infinity (inf) and not-a-number (NaN).
# - bf16 is the top 16 bits of fp32: same 8 exponent bits, so same range, but 7 mantissa bits.
#   fp16 keeps 10 mantissa bits but only 5 exponent bits, so it overflows above 65504.
#
# lab:checkpoints
# - What does 70000 become in fp16 and in bf16, and why?
#   answer: fp16 gives inf, because 70000 is above its max of 65504. bf16 has fp32's range, but near
#   $2^{16}$ its values are $2^{16-7} = 512$ apart, so 70000 rounds to 137 x 512 = 70144.
#   see: output "70000 -> fp16 inf, bf16 70144.0"
#   predict: number 2, within 1%
# - Line 122 rounds $1 + 2^{-8}$ to bf16. Which neighbour does it pick, and why?
#   answer: 1. The value lies exactly halfway between 1 and $1 + 2^{-7}$, and a tie goes to the
#   neighbour whose last kept bit is 0 (round to nearest, ties to even). fp16 keeps it exactly.
#   see: output "1 + 2^-8 -> fp16 1.00390625, bf16 1.00000000"
# - How much larger is bf16's worst relative rounding error than fp16's on random data?
#   answer: About 8x (3.891e-3 against 4.871e-4): three fewer mantissa bits, bounds $2^{-8}$ and $2^{-11}$.
#   see: output "bf16: max relative rounding error"
# - How many of E4M3's 256 codes are NaN, and what is its largest finite value?
#   answer: 2 codes, S.1111.111 (sign.exponent.mantissa, either sign): one NaN mantissa pattern. Every
#   other code with the all-ones exponent is a number, up to S.1111.110 = 1.75 x $2^8$ = 448.
#   see: output "E4M3 from all 256 codes"
# - What maximum would E4M3 have if it kept the IEEE rule of line 105?
#   answer: 240 = 1.875 x $2^7$: the top exponent would be reserved and S.1110.111 would be the largest.
#   see: line 105
# lab:traps
# - "bf16 is more precise than fp16."
#   why: It is less precise: 7 mantissa bits against 10, so its epsilon is 8x larger (0.00781 against
#   0.000977 in the table). It wins on range: max 3.4e38 against 65504.
# - "fp16 and bf16 are both 16 bits, so either can hold the same tensor."
#   why: 70000 is inf in fp16 and 70144 in bf16, and $1 + 2^{-8}$ survives only in fp16: check both
#   range and precision before swapping them.
# - "Every FP8 format follows IEEE rules, so E4M3 tops out at 240."
#   why: E5M2 does follow them. E4M3 has no infinities and a single NaN mantissa pattern, so its
#   top exponent holds numbers and the decoder (lines 111-116) finds 448.
#
# lab:interview
# A float splits a fixed bit budget into sign, exponent and mantissa. Exponent bits buy range,
# mantissa bits buy precision: the gap above 1 is $2^{-M}$ for $M$ mantissa bits.
#
# fp16 (5 exponent, 10 mantissa bits) has spacing $2^{-10}$ near 1 but a maximum of 65504, so 70000
# becomes inf. bf16 (8 and 7) has fp32's range, so 70000 survives as 70144, but its rounding error
# is 8x fp16's. FP8 E4M3 reaches 448 and E5M2 57344, both used with scaling factors.
#
# The trade-off is range against precision at a fixed byte count; fewer bytes are faster only if
# the numerics survive.
#
# lab:intuition
# - Think of a format as a ruler: exponent bits set its length, mantissa bits its tick marks. Between
#   two powers of two fp16 has $2^{10}$ ticks and bf16 only $2^7$, but bf16's ruler reaches $3.4 \times 10^{38}$.
# - Relative precision is about the same at every scale: roughly 3 decimal digits for fp16
#   ($2^{-11} \approx 5 \times 10^{-4}$) and 2 for bf16 ($2^{-8} \approx 4 \times 10^{-3}$), whether
#   the value is 0.001 or 1000.
# - bf16 is fp32 with the low half cut off, so converting is a 16-bit shift plus rounding (line 122),
#   and bf16 keeps fp32's range, from about $10^{-38}$ to $3.4 \times 10^{38}$.

# lab:figure spacing
# kind: line
# title: The gap to the next number doubles at every power of two, and mantissa bits set its size
# caption: Above 1 the gap is eps: 1.19e-7 in fp32, 0.000977 in fp16 and 0.00781 in bf16, so bf16's line
#   runs 8x above fp16's. fp16 ends at 65504 (gap 32 near the top) and below 6.1e-5 keeps a fixed gap
#   of 6e-8, while bf16 runs past this plot to 3.4e38 like fp32.
# x: x "magnitude x (powers of two)" .3g
# y: gap "gap to the next larger value" .3g
# color: format "format"
# x-scale: log
# y-scale: log
# lab:figure e4m3
# kind: point
# title: E4M3's positive codes climb one power of two per 8 codes, and the top exponent still holds numbers
# caption: Codes 1-7 are subnormals, multiples of 2^-9. Codes 120-126 have the all-ones exponent, which
#   IEEE rules would reserve; in E4M3 they are 256 to 448, and only 0x7F is NaN.
# x: code "code (0x01 to 0x7E)" d
# y: value "value" .4g
# color: kind "exponent field"
# y-scale: log

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


def decode_e4m3(code):
    sign, exp, man = code >> 7, (code >> 3) & 0b1111, code & 0b111
    if exp == 0b1111 and man == 0b111:
        return float("nan")  # (4)
    value = man / 8 * 2.0 ** -6 if exp == 0 else (1 + man / 8) * 2.0 ** (exp - 7)  # (5)
    return -value if sign else value


def to_bf16(x):
    """Round fp32 to the nearest bf16 (ties to even) and return it as fp32."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16 << 16  # (6)
    return rounded.astype(np.uint32).view(np.float32)  # (7)


def to_fp16(x):
    with np.errstate(over="ignore"):
        return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)  # (8)
# lab:end formats
# lab:notes formats
# (1) The gap between 1 and the next representable number: $2^{-M}$ for M mantissa bits.
# (2) IEEE: the all-ones exponent is kept for inf/NaN, so the largest value is $(2 - 2^{-M}) \cdot 2^{bias}$.
# (3) E4M3 uses the all-ones exponent for numbers too, except mantissa 111: 1.75 x $2^8$ = 448.
# (4) The one NaN mantissa pattern, S.1111.111: two codes, 0x7F and 0xFF. There is no inf.
# (5) Exponent field 0 holds subnormals, $0.m \cdot 2^{-6}$; every other field is a normal $1.m \cdot 2^{e-7}$.
# (6) Add just under half of the 16 dropped bits, plus 1 when the kept part is odd: round to nearest, ties to even.
# (7) Zeroing the low 16 bits leaves an fp32 whose value is exactly a bf16 value.
# (8) numpy's float16 is IEEE binary16; values from 65504 plus half a step up round to inf, silently here.
#
# lab:explain 94-97 Five layouts, three numbers each
# Every format is a sign bit plus an exponent and a mantissa field; the table lists only the two
# widths and whether the top exponent is reserved for special values.
#
# lab:explain 100-108 Range and precision from the bit widths
# The bias centres the exponent range; epsilon follows from the mantissa alone; the maximum
# depends on both and on whether the largest exponent code still holds numbers.
#
# lab:explain 111-116 Decoding E4M3 by hand
# Reading every code of a format from its bits is an independent check of the formula above: the
# largest finite code and the NaN codes come out of the bit fields directly.
#
# lab:explain 119-128 Emulating bf16 with integer arithmetic
# Because bf16 is fp32 with the low 16 mantissa bits cut, rounding is integer arithmetic on the
# bit pattern. fp16 has its own exponent width, so it needs a real conversion.


def figures():
    """The data of the figures declared above, from the lab's own functions."""
    # spacing: the gap above each power of two 2^-26 ... 2^17 that a format holds: eps times x for
    # normal x, eps times the smallest normal for subnormal x (their spacing is fixed)
    spacing = []
    for name in ("fp32", "fp16", "bf16", "fp8 E5M2", "fp8 E4M3"):
        max_val, eps, min_normal = describe(*FORMATS[name])
        spacing += [(name, 2.0**k, eps * max(2.0**k, min_normal))
                    for k in range(-26, 18) if eps * min_normal <= 2.0**k <= max_val]
    # e4m3: every positive code but 0 and the NaN 0x7F, decoded bit by bit
    kinds = {0: "subnormal (exponent 0000)", 0b1111: "exponent 1111 (inf/NaN under IEEE rules)"}
    codes = [(c, decode_e4m3(c), kinds.get((c >> 3) & 0b1111, "normal")) for c in range(1, 0x7F)]
    return {"spacing": dict(zip(("format", "x", "gap"), map(list, zip(*spacing)))),
            "e4m3": dict(zip(("code", "value", "kind"), map(list, zip(*codes))))}


def main():
    print("format     max          eps        min normal")
    table = {name: describe(*spec) for name, spec in FORMATS.items()}
    for name, (mx, eps, mn) in table.items():
        print(f"{name:9s}  {mx:11.5g}  {eps:9.3g}  {mn:10.3g}")
    for dt, name in ((np.float16, "fp16"), (np.float32, "fp32")):
        info = np.finfo(dt)
        assert (float(info.max), float(info.eps), float(info.tiny)) == table[name]
    assert table["fp8 E4M3"][0] == 448 and table["fp8 E5M2"][0] == 57344

    codes = [decode_e4m3(c) for c in range(256)]
    nans = [c for c, v in enumerate(codes) if np.isnan(v)]
    finite_max = max(v for v in codes if not np.isnan(v))
    print(f"E4M3 from all 256 codes: {len(nans)} NaN codes ({', '.join(f'0x{c:02X}' for c in nans)}), "
          f"{'no' if not np.isinf(codes).any() else 'has'} inf, largest finite {finite_max:g}")
    assert nans == [0x7F, 0xFF] and finite_max == table["fp8 E4M3"][0]

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
