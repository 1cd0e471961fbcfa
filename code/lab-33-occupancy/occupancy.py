"""Lab 33 - Occupancy and latency hiding: what caps the warps an SM holds, and how many it needs.

Computes the thread blocks and warps an H100 SXM multiprocessor can hold for a kernel's block size,
registers per thread and shared memory per block, names the resource that limits them, and uses
Little's law to ask how many bytes, and so how many warps or independent loads, must be in flight
to keep HBM busy.
"""
# lab:goal See which resource caps the warps resident on an SM, and why enough bytes in flight, not 100% occupancy, is what hides memory latency.
#
# lab:mental-model
# - An SM runs the warps of every block resident on it, switching to a ready warp whenever one waits on memory: resident warps are how it hides latency.
# - Four budgets cap the resident blocks: 65,536 registers, 64 warps, 32 blocks and 228 KB of shared memory per SM (1 KB of it reserved for each block). The smallest quotient wins.
# - Occupancy is resident warps over 64. Registers are handed out per warp in units of 256, so 64 registers a thread already halve it for 256-thread blocks.
# - Little's law: to stream at bandwidth $B$ with latency $L$, an SM must keep $B \cdot L$ / 132 bytes of loads in flight; warps and independent loads per thread both supply them.
#
# lab:checkpoints
# - Before you run it: a kernel uses 256-thread blocks and 64 registers a thread. What occupancy can an SM reach?
#   answer: 50%: a warp takes 64 x 32 = 2048 registers and a block of 8 warps eight times that, so 65,536 registers hold 4 blocks, 32 of the 64 warps.
#   see: output "   256       64        0"
#   predict: number 6, within 0%
# - Which budget stops 128-thread blocks with 64 registers and 48 KB of shared memory at 4 blocks?
#   answer: Shared memory: each block needs 49 KB with its reserved kilobyte, and 228 KB hold 4; registers would allow 8 and warps 16.
#   see: output "shared memory"
# - At 600 ns of latency, how many warps must each SM keep loading 16 bytes a thread, and why is 4 bytes a thread not enough?
#   answer: 30 warps: 3.35 TB/s x 600 ns is 2.01 MB in flight, 15.2 KB per SM, 512 bytes per warp-wide load. At 4 bytes a thread that is 119 warps, more than the 64 an SM holds, so each thread must issue at least two independent loads.
#   see: lines 81-86
# lab:traps
# - 100% occupancy means the kernel runs at peak speed.
#   why: Occupancy only caps how many warps can hide latency; tuned GEMM and attention kernels run one large block per SM at low occupancy and hide latency with asynchronous copies and independent loads instead.
# - A block of 32 threads is as good as any other size.
#   why: An SM holds at most 32 blocks, so 32-thread blocks reach only 32 of 64 warps, 50%, however few registers they use.
#
# lab:interview
# An SM hides memory latency by switching among resident warps, and the resident blocks are capped by whichever budget runs out first: registers, warps, blocks or shared memory.
# On an H100 SXM the blocks are the smallest of four quotients: 65,536 registers over a block's registers, 64 warps over its warps, the 32-block cap, and 228 KB over its shared memory plus 1 KB; so 256-thread blocks at 32 registers a thread reach 100% and at 128 registers 25%.
# What latency hiding needs is bytes in flight, Little's law $B \cdot L$: at 3.35 TB/s and 600 ns that is 2.01 MB, 15.2 KB per SM, or 30 warps each loading 16 bytes a thread.
# Wide loads and independent loads per thread supply the same bytes with fewer warps, which is why the fastest kernels often run at low occupancy.
#
# lab:intuition
# - Occupancy is how many cooks share a kitchen; latency hiding is whether enough pots are on the stove. Fewer cooks with more pots each can keep the stove as busy.
# - Registers are the tightest budget in practice: each doubling of registers per thread halves the warps once the register file is the limit.

import math

SM_REGISTERS = 65_536
SM_WARPS = 64
SM_BLOCKS = 32
SM_SMEM = 228 * 1024  # bytes of shared memory per SM (227 KB of it usable by one block)
BLOCK_RESERVED = 1024  # bytes the system keeps per resident block
REGISTER_UNIT = 256  # registers are allocated per warp in multiples of 256
SMS, HBM_BW = 132, 3.35e12  # H100 SXM


# lab:begin occupancy
def resident_blocks(threads, regs_per_thread, smem_per_block=0):
    warps = math.ceil(threads / 32)
    regs_per_warp = math.ceil(regs_per_thread * 32 / REGISTER_UNIT) * REGISTER_UNIT  # (1)
    limits = {"registers": SM_REGISTERS // (regs_per_warp * warps),
              "warps": SM_WARPS // warps,
              "blocks": SM_BLOCKS,  # (2)
              "shared memory": SM_SMEM // (smem_per_block + BLOCK_RESERVED)}
    limiter = min(limits, key=limits.get)  # (3)
    return limits[limiter], warps, limiter


def occupancy(threads, regs_per_thread, smem_per_block=0):
    blocks, warps, _ = resident_blocks(threads, regs_per_thread, smem_per_block)
    return blocks * warps / SM_WARPS  # (4)
# lab:end occupancy
# lab:notes occupancy
# (1) A warp's registers, rounded up to the allocation unit: 168 a thread is exactly 21 units a warp, 36 a thread (four and a half units) rounds up to 5.
# (2) However small the blocks, an SM holds at most 32 of them.
# (3) The tightest of the four budgets sets the resident blocks; its name says what to change.
# (4) Occupancy: resident warps over the 64 an SM can hold.
#
# lab:explain 55-68 Four budgets, one minimum
# Each budget, divided by what one block takes of it, gives a number of blocks; the smallest is
# what the SM holds, and occupancy follows from the warps in those blocks.

# lab:begin little
def bytes_in_flight(latency_s, bandwidth=HBM_BW, sms=SMS):
    return bandwidth * latency_s / sms  # (1)


def warps_needed(latency_s, bytes_per_thread):
    return math.ceil(bytes_in_flight(latency_s) / (32 * bytes_per_thread))  # (2)
# lab:end little
# lab:notes little
# (1) Little's law, per SM: bytes that must be requested and not yet returned at any moment.
# (2) One warp-wide load of $b$ bytes a thread has $32b$ bytes in flight; independent loads per thread multiply it.
#
# lab:explain 81-86 Little's law
# Memory delivers at its bandwidth only if enough requests are outstanding to cover its latency;
# each warp's load is one such request, so latency times bandwidth sets the warps, or loads, needed.

# lab:figure occupancy
# kind: line
# title: Registers per thread cap occupancy in steps; shared memory per block can cap it first
# caption: Resident warps over 64 on an H100 SXM SM for 128-, 256- and 512-thread blocks as registers per thread
#   grow. At 64 registers a 256-thread block reaches 50%; 48 KB of shared memory a block holds it to 25%.
# x: regs "registers per thread" d
# y: occupancy "occupancy" .1%
# color: threads "threads per block"
# control: smem "shared memory per block (KB)" d
# default: 0
# says: With {{smem}} KB of shared memory a block, 256-thread blocks at 64 registers a thread reach {{occupancy|threads=256 threads, regs=64}} occupancy.

def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rows = [(smem, f"{threads} threads", regs, occupancy(threads, regs, smem * 1024))
            for smem in (0, 16, 48, 96) for threads in (128, 256, 512) for regs in range(32, 257, 8)]
    return {"occupancy": dict(zip(("smem", "threads", "regs", "occupancy"), map(list, zip(*rows))))}


def main():
    print("threads  regs  smem KB  blocks  warps  occupancy  limited by")
    cases = ((256, 32, 0), (256, 64, 0), (256, 128, 0), (256, 168, 0), (128, 64, 48), (32, 32, 0))
    for threads, regs, smem in cases:
        blocks, warps, limiter = resident_blocks(threads, regs, smem * 1024)
        print(f"   {threads:3d}      {regs:3d}      {smem:3d}      {blocks:2d}     {blocks * warps:2d}     "
              f"{occupancy(threads, regs, smem * 1024):6.1%}  {limiter}")
        assert blocks * warps <= SM_WARPS and blocks * warps * 32 * regs <= SM_REGISTERS
    assert [occupancy(t, r, s * 1024) for t, r, s in cases] == [1.0, 0.5, 0.25, 0.125, 0.25, 0.5]
    assert resident_blocks(128, 64, 48 * 1024)[2] == "shared memory" and resident_blocks(32, 32)[2] == "blocks"
    assert resident_blocks(128, 32, 57 * 1024)[0] == 3, "57 KB + the reserved 1 KB a block: 3 blocks fit, not 4"
    assert resident_blocks(256, 36)[0] == 6, "36 registers a thread round up to 5 units a warp: 6 blocks, not 7"

    latency = 600e-9  # an assumed HBM load latency under load
    flight = bytes_in_flight(latency)
    print(f"Little's law at 3.35 TB/s and 600 ns: {HBM_BW * latency / 1e6:.2f} MB in flight, "
          f"{flight / 1e3:.1f} KB per SM")
    for width in (16, 8, 4):
        need = warps_needed(latency, width)
        print(f"  {width:2d} bytes a thread per load: {need:3d} warps per SM"
              + ("" if need <= SM_WARPS else f", more than {SM_WARPS}: {math.ceil(need / SM_WARPS)} loads in flight a thread"))
    assert warps_needed(latency, 16) == 30 and warps_needed(latency, 4) == 119


if __name__ == "__main__":
    main()
