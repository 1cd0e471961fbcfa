"""Lab 07 - Fusion: one kernel instead of three removes memory traffic, not arithmetic.

Runs bias -> GELU -> scale as three separate "kernels" and as one fused kernel, counts the HBM
bytes each version moves for a [8192, 8192] bf16 activation (64M elements), and converts the bytes
into time at the H100's 3.35 TB/s.
"""
# lab:goal See that fusing elementwise kernels removes HBM round trips while the FLOPs stay the same.
#
# lab:mental-model
# - Each separate kernel (one GPU program launch) reads its input from HBM, the GPU's main memory,
#   and writes its output back there for the next kernel.
# - Elementwise ops (here a bias add, the GELU activation of transformer MLPs, and a scaling) do a
#   few FLOPs per element, far below the ridge of Lab 06, so their time is bytes / bandwidth.
# - A fused kernel loads each element once, applies every op in registers (the fastest storage, inside
#   the compute units) and stores once.
# - Elementwise math runs on the CUDA cores, not the Tensor Cores: 66.9 TFLOPS in fp32, a figure
#   that counts a fused multiply-add (FMA, $a \cdot b + c$ in one instruction) as 2 FLOPs.
#
# lab:checkpoints
# - How many full-tensor passes over HBM do the three kernels make together, and how many does the
#   fused kernel make?
#   answer: 6 against 2: each unfused kernel loads one tensor and stores one; the fused kernel loads
#   `x` once and stores `y` once. Both also read the 16 KiB bias once.
#   see: lines 111-134
# - How long does each version take at 3.35 TB/s?
#   answer: 805.3 MB / 3.35e12 B/s = 240.4 us unfused and 268.5 MB / 3.35e12 B/s = 80.1 us fused.
#   see: output "fused    :  268.5 MB moved"
#   predict: number 2, within 10%
# - How many FLOPs does line 118 cost per element if tanh counts as one?
#   answer: 9: two multiplies for $x^3$, one by 0.044715, the add of x, the multiply by
#   $\sqrt{2/\pi}$, tanh, the add of 1, $0.5 x$, and the final product.
#   see: line 118
# - Even fused, is the kernel memory-bound on the CUDA cores?
#   answer: Yes. Its AI is 11 FLOPs / 4 bytes = 2.75 FLOP/B, while the CUDA-core ridge is
#   66.9 / 3.35 = 20 FLOP/B (10 if no op pairs into an FMA).
#   see: output "AI 2.75 FLOP/B"
# - Why is the bytes ratio 2.9999 and not exactly 3?
#   answer: The bias vector (8192 x 2 bytes) is read once in both versions, so it adds the same
#   16 KiB to 805 MB and to 268 MB.
#   see: output "bytes ratio 2.9999"
# lab:traps
# - "Fusion speeds up the arithmetic."
#   why: Both FLOP counters read the same total; only the stores and reloads of the two
#   intermediates disappear (line 114 stores a tensor that the next kernel loads again).
# - "Elementwise math runs at the 989 TFLOPS Tensor Core peak."
#   why: Tensor Cores only multiply matrices. Elementwise ops run on the CUDA cores: 66.9 TFLOPS in
#   fp32 if every instruction is an FMA, half that if none is; 133.8 TFLOPS in bf16 is again the FMA
#   rate, with two bf16 values packed in each instruction (66.9 when no op pairs into an FMA).
# - "Fusing the elementwise ops after a large matmul gives the same 3x."
#   why: A large matmul is compute-bound (Lab 06); fusing its epilogue (the elementwise ops applied
#   to its output) saves only one round trip of the output, a small share of its time.
#
# lab:interview
# Bias add, GELU and scaling over a $[8192, 8192]$ bf16 activation cost 11 FLOPs per
# element against 4 bytes per element per kernel, so each kernel is bandwidth-bound.
#
# Run separately, the three kernels read and write the full tensor three times: 805 MB, 240 µs at
# 3.35 TB/s. Fused, each element is read once, transformed in registers and written once: 268 MB,
# 80 µs. The FLOPs are the same; the outputs agree up to rounding, because the unfused chain rounds
# each stored intermediate to bf16 while the fused kernel keeps it in fp32 registers (this numpy
# model computes both in fp32, so its outputs match exactly).
#
# The trade-off is generality: a fused kernel serves one chain of ops, so it needs a compiler such
# as `torch.compile` or a hand-written kernel, and in training it must still save or recompute what
# GELU's backward pass needs.
#
# lab:intuition
# - Count round trips, not FLOPs: each element crosses the memory bus 6 times unfused and 2 times
#   fused, and the 3x in time is that ratio.
# - The arithmetic is small change: even at the slowest CUDA-core rate (33.5 TFLOPS, no FMAs) it
#   takes 22 us, under a third of the fused kernel's 80 us of traffic.
# - Picture an assembly line whose stations each ship the part back to the warehouse; fusion puts
#   the stations side by side, so the part leaves the warehouse once and returns once.

# lab:figure traffic
# kind: bar
# title: Each unfused kernel spends as long on HBM traffic as the whole fused kernel
# caption: Every separate kernel reads and writes the full tensor once, 80.1 us apiece at
#   3.35 TB/s, so the chain takes 240.4 us (805.3 MB) against 80.1 us (268.5 MB) fused, for the same
#   11 FLOPs per element.
# x: version "version"
# y: us "HBM traffic time (us)" .1f
# color: kernel "kernel"

import numpy as np

HBM_BW = 3.35e12  # H100 SXM bytes/s
FP32_CUDA = 66.9e12  # H100 SXM non-Tensor fp32 FLOP/s, counting each FMA as 2 FLOPs
BF16_CUDA = 133.8e12  # H100 SXM non-Tensor bf16 FLOP/s (two bf16 values per instruction)
ROWS, COLS, BYTES = 8192, 8192, 2  # 64M bf16 elements
GELU_C = np.sqrt(2.0 / np.pi)
GELU_FLOPS = 9  # line 118 with tanh counted as one FLOP


# lab:begin kernels
class Device:
    """Counts HBM bytes and FLOPs; arrays stand in for tensors that live in HBM."""

    def __init__(self):
        self.bytes, self.flops = 0, 0

    def load(self, x):
        self.bytes += x.size * BYTES  # (1)
        return x

    def store(self, x):
        self.bytes += x.size * BYTES
        return x


def bias_k(dev, x, b):
    y = dev.load(x) + dev.load(b)
    dev.flops += x.size * 1
    return dev.store(y)  # (2)


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(GELU_C * (x + 0.044715 * x**3)))  # (3)


def gelu_k(dev, x):
    dev.flops += x.size * GELU_FLOPS
    return dev.store(gelu_tanh(dev.load(x)))


def scale_k(dev, x, s):
    dev.flops += x.size * 1
    return dev.store(dev.load(x) * s)


def fused_k(dev, x, b, s):
    y = gelu_tanh(dev.load(x) + dev.load(b)) * s  # (4)
    dev.flops += x.size * (1 + GELU_FLOPS + 1)  # (5)
    return dev.store(y)
# lab:end kernels
# lab:notes kernels
# (1) Every load and store of a full tensor crosses HBM. numpy computes in fp32 here; the counter charges bf16's 2 bytes.
# (2) The unfused kernel must write its result to HBM so the next kernel can read it back.
# (3) The tanh form of GELU: 9 FLOPs per element if tanh counts as one (on a GPU it costs several instructions).
# (4) The same three ops in one pass: the intermediates stay in registers.
# (5) Same FLOP count as the three kernels together: fusion changes traffic, not math.
#
# lab:explain 96-108 A device that counts traffic
# Each array stands for a tensor in HBM, and each `load` or `store` of it costs its full size in
# bytes. Counting bytes instead of timing numpy gives the GPU's cost model, not the CPU's.
#
# lab:explain 111-128 Three kernels
# Each unfused kernel is load, compute, store. Chaining three of them stores two intermediates that
# are immediately loaded again: four extra tensor passes.
#
# lab:explain 131-134 One fused kernel
# The fused kernel loads `x` and the bias once, applies all three ops and stores once.


def traffic(rows, cols, passes):
    """Bytes for `passes` full-tensor loads/stores plus one read of the bias vector."""
    return passes * rows * cols * BYTES + cols * BYTES


def full_size_bytes(kernel):
    """HBM bytes of `kernel(dev, x)` on a [ROWS, COLS] input, counted by the Device on 1 and 2 rows:
    the tensor passes grow with the rows, the bias read does not."""
    one, two = Device(), Device()
    kernel(one, np.zeros((1, COLS), np.float32))
    kernel(two, np.zeros((2, COLS), np.float32))
    return one.bytes + (ROWS - 1) * (two.bytes - one.bytes)


def figures():
    """The data of the figure declared above, counted by running the lab's kernels."""
    b, s = np.zeros(COLS, np.float32), np.float32(0.5)
    kernels = [("3 kernels", "bias add", lambda dev, x: bias_k(dev, x, b)),
               ("3 kernels", "GELU", gelu_k),
               ("3 kernels", "scale", lambda dev, x: scale_k(dev, x, s)),
               ("fused", "fused: bias add + GELU + scale", lambda dev, x: fused_k(dev, x, b, s))]
    # traffic: each kernel's HBM time at 3.35 TB/s, stacked per version
    return {"traffic": {"version": [v for v, _, _ in kernels], "kernel": [k for _, k, _ in kernels],
                        "us": [full_size_bytes(run) / HBM_BW * 1e6 for _, _, run in kernels]}}


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, COLS)).astype(np.float32)  # numerics on 64 rows
    b = rng.standard_normal(COLS).astype(np.float32)
    s = np.float32(0.5)
    unfused, fused = Device(), Device()
    y3 = scale_k(unfused, gelu_k(unfused, bias_k(unfused, x, b)), s)
    y1 = fused_k(fused, x, b, s)
    same = np.array_equal(y3, y1)
    print(f"64-row check: outputs equal: {'yes' if same else 'no'}; FLOPs {unfused.flops:,} vs "
          f"{fused.flops:,}; bytes {unfused.bytes:,} vs {fused.bytes:,}")
    assert same and unfused.flops == fused.flops
    assert unfused.bytes == traffic(64, COLS, 6) and fused.bytes == traffic(64, COLS, 2)

    per_elem = fused.flops // x.size
    n, flops = ROWS * COLS, per_elem * ROWS * COLS  # full size: the same counts, scaled by rows
    print(f"[{ROWS}, {COLS}] bf16 = {n:,} elements, {per_elem} FLOPs each = {flops / 1e6:.0f} MFLOP either way")
    sizes = {"3 kernels": traffic(ROWS, COLS, 6), "fused": traffic(ROWS, COLS, 2)}
    for name, moved in sizes.items():
        print(f"  {name:9s}: {moved / 1e6:6.1f} MB moved, {moved / HBM_BW * 1e6:6.1f} us at "
              f"3.35 TB/s, AI {flops / moved:.2f} FLOP/B")
    ratio = sizes["3 kernels"] / sizes["fused"]
    print(f"bytes ratio {ratio:.4f} (the bias is read once either way)")
    print(f"the FLOPs alone: {flops / FP32_CUDA * 1e6:.1f} us at 66.9 TFLOPS (fp32, all FMAs), "
          f"{flops / (FP32_CUDA / 2) * 1e6:.1f} us at 33.5 (fp32, no FMAs), {flops / BF16_CUDA * 1e6:.1f} us at 133.8 "
          "(bf16, all packed FMAs)")
    assert abs(ratio - 3) < 1e-3 and flops / (FP32_CUDA / 2) < sizes["fused"] / HBM_BW


if __name__ == "__main__":
    main()
