"""Lab 07 - Fusion: one kernel instead of three removes memory traffic, not arithmetic.

Runs bias -> GELU -> scale as three separate "kernels" and as one fused kernel, counts the HBM
bytes each version moves for a [8192, 8192] bf16 activation (64M elements), and converts the bytes
into time at the H100's 3.35 TB/s.
"""
# lab:goal See that fusing elementwise kernels removes HBM round trips while the FLOPs stay the same.
#
# lab:mental-model
# - Each separate kernel reads its input from HBM and writes its output back to HBM.
# - Elementwise ops do a few FLOPs per element, far below the ridge, so their time is bytes / bandwidth.
# - A fused kernel loads each element once, applies every op in registers, and stores once.
#
# lab:checkpoints
# - Three unfused kernels move 3x the bytes of the fused one.
#   answer: Each reads and writes the whole 128 MiB tensor: 6 tensor passes against 2 when fused (the 16 KiB bias is noise).
# - At 3.35 TB/s that is about 240 us against 80 us.
#   answer: 805.3 MB / 3.35e12 B/s = 240 us and 268.5 MB / 3.35e12 B/s = 80 us. The FLOPs alone would take 10 us at the 67 TFLOPS fp32 rate of the CUDA cores, where elementwise math runs (0.7 us even at the 989 TFLOPS Tensor Core peak, which elementwise ops cannot use).
# - Both versions compute the same numbers with the same FLOPs.
#   answer: The FLOP counter reads the same 10 per element for both, and the outputs match exactly here. On a GPU the unfused chain
#   also rounds each stored intermediate to bf16, which the fused kernel avoids.
# - Even fused, the kernel stays memory-bound.
#   answer: Its intensity is 10 FLOPs / 4 bytes = 2.5 FLOP/B, far below the Tensor Core ridge of 295 and still below the CUDA-core ridge of 67 / 3.35 = 20.
#
# lab:traps
# - "Fusion speeds up the arithmetic": the FLOPs are identical; only the intermediate reads and writes disappear.
# - Expecting fusion to help a large matmul much: it is compute-bound, so saved bytes matter little; fusing an epilogue saves only the output round trip.
# - Counting the intermediates as free because they are "temporary": unfused, each one is a full tensor in HBM.
#
# lab:interview
# The state is an activation tensor of shape [8192, 8192] in bf16, 128 MiB, passing through bias
# add, GELU and scaling. Together the ops cost about 10 FLOPs per element, while each kernel moves
# 4 bytes per element, so all three are bandwidth-bound and their time is bytes over 3.35 TB/s.
# Run separately, every kernel reads and writes the full tensor: 805 MB and about 240 us. Fused,
# the element is read once, transformed in registers and written once: 268 MB and 80 us, with the
# same FLOPs and the same outputs. The trade-off is engineering: a fused kernel is specific to one
# chain of ops, so it needs a compiler such as torch.compile or a hand-written kernel, and in
# training it must still save, or recompute, whatever the backward pass of GELU needs.

import numpy as np

HBM_BW = 3.35e12  # H100 SXM bytes/s
FP32_CUDA_CORE = 67e12  # H100 SXM non-Tensor-Core fp32 FLOP/s: elementwise math runs here
ROWS, COLS, BYTES = 8192, 8192, 2  # 64M bf16 elements
GELU_C = np.sqrt(2.0 / np.pi)


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
    dev.flops += x.size * 8
    return dev.store(gelu_tanh(dev.load(x)))


def scale_k(dev, x, s):
    dev.flops += x.size * 1
    return dev.store(dev.load(x) * s)


def fused_k(dev, x, b, s):
    y = gelu_tanh(dev.load(x) + dev.load(b)) * s  # (4)
    dev.flops += x.size * (1 + 8 + 1)  # (5)
    return dev.store(y)
# lab:end kernels
# lab:notes kernels
# (1) Every load and store of a full tensor crosses HBM. numpy computes in fp32 here; the counter charges bf16's 2 bytes.
# (2) The unfused kernel must write its result to HBM so the next kernel can read it back.
# (3) The tanh form of GELU: about 8 FLOPs per element if tanh counts as one (a rough count).
# (4) The same three ops in one pass: the intermediates stay in registers.
# (5) Same FLOP count as the three kernels together: fusion changes traffic, not math.
#
# lab:explain 49-61 A device that counts traffic
# Each array stands for a tensor in HBM, and each `load` or `store` of it costs its full size in
# bytes. Counting bytes instead of timing numpy gives the GPU's cost model, not the CPU's.
#
# lab:explain 64-81 Three kernels
# Each unfused kernel is load, compute, store. Chaining three of them stores two intermediates that
# are immediately loaded again: four extra tensor passes.
#
# lab:explain 84-87 One fused kernel
# The fused kernel loads `x` and the bias once, applies all three ops and stores once.


def traffic(rows, cols, passes):
    """Bytes for `passes` full-tensor loads/stores plus one read of the bias vector."""
    return passes * rows * cols * BYTES + cols * BYTES


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, COLS)).astype(np.float32)  # numerics on 64 rows
    b = rng.standard_normal(COLS).astype(np.float32)
    s = np.float32(0.5)
    unfused, fused = Device(), Device()
    y3 = scale_k(unfused, gelu_k(unfused, bias_k(unfused, x, b)), s)
    y1 = fused_k(fused, x, b, s)
    print(f"64-row check: max |unfused - fused| = {np.abs(y3 - y1).max():.1e}, "
          f"FLOPs {unfused.flops:,} vs {fused.flops:,}, bytes {unfused.bytes:,} vs {fused.bytes:,}")
    assert np.array_equal(y3, y1) and unfused.flops == fused.flops
    assert unfused.bytes == traffic(64, COLS, 6) and fused.bytes == traffic(64, COLS, 2)

    n, flops = ROWS * COLS, 10 * ROWS * COLS  # full size: the same counts, scaled by rows
    print(f"[{ROWS}, {COLS}] bf16 = {n:,} elements, {flops / 1e6:.0f} MFLOP either way")
    sizes = {"3 kernels": traffic(ROWS, COLS, 6), "fused": traffic(ROWS, COLS, 2)}
    for name, moved in sizes.items():
        print(f"  {name:9s}: {moved / 1e6:6.1f} MB moved, {moved / HBM_BW * 1e6:6.1f} us at "
              f"3.35 TB/s, AI {flops / moved:.2f} FLOP/B")
    ratio = sizes["3 kernels"] / sizes["fused"]
    print(f"bytes ratio {ratio:.4f}; the FLOPs alone: {flops / FP32_CUDA_CORE * 1e6:.1f} us at "
          f"{FP32_CUDA_CORE / 1e12:.0f} TFLOPS (fp32 CUDA cores), {flops / 989e12 * 1e6:.2f} us at 989 (Tensor Cores)")
    assert abs(ratio - 3) < 1e-3 and flops / sizes["fused"] < FP32_CUDA_CORE / HBM_BW


if __name__ == "__main__":
    main()
