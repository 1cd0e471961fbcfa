"""Lab 32 - Coalescing and bank conflicts: count memory transactions, not instructions.

Counts the 32-byte sectors a warp's load touches in global memory for strided and offset access
patterns, and the passes ("ways") a warp's read of shared memory needs for rows, columns and
strides of a 32 x 32 fp32 tile, with and without one column of padding.
"""
# lab:goal Predict how many memory transactions one warp instruction costs, in global memory and in shared memory.
#
# lab:mental-model
# - A warp is 32 threads that issue each load together. Global memory serves the warp in 32-byte sectors: the cost is the number of distinct sectors its 32 addresses touch, not the number of threads.
# - Consecutive threads reading consecutive 4-byte words touch 4 sectors (128 bytes, all used): a coalesced load. Spreading the same 32 words apart fetches sectors whose bytes go mostly unused.
# - Shared memory has 32 banks, each 4 bytes wide: word $w$ lives in bank $w \bmod 32$. A warp's read takes as many passes as the largest number of distinct words it asks of one bank.
# - Threads asking for the same word of a bank share one pass (a broadcast): only different words in one bank conflict.
#
# lab:checkpoints
# - Before you run it: thread $t$ of a warp reads the 4-byte word at index $2t$. How many sectors does the load touch, and what share of their bytes is used?
#   answer: 8 sectors: the words are spread over twice the bytes they fill, so half of each sector's bytes are fetched for nothing; 50% useful.
#   see: output "     2         8"
#   predict: number 2, within 0%
# - A coalesced load that starts 4 bytes past a sector boundary: why 5 sectors instead of 4?
#   answer: The 128 bytes now start 4 bytes into a sector, so their last 4 bytes spill into a fifth; 128 of the 160 bytes fetched are used, 80%.
#   see: output "offset 4 bytes"
# - A warp reads one column of a 32 x 32 fp32 tile. How many passes does it take, and what does a 33rd column of padding change?
#   answer: 32 passes: the column's words are 32 apart, so all land in one bank. With rows 33 words long they are 33 apart and land in 32 different banks: one pass.
#   see: lines 61-67
# lab:traps
# - Two threads that use the same bank always conflict.
#   why: Only different words in one bank are served one after another; threads asking for the same word are served together (the broadcast row of the output reads 1 way).
# - A strided load costs the same as a coalesced one because it is one instruction.
#   why: The instruction is one, but the transactions are not: at a stride of 8 words or more each thread touches its own 32-byte sector, 32 sectors for 128 useful bytes, 12.5%.
#
# lab:interview
# Global memory serves a warp's load in 32-byte sectors, so its cost is the number of distinct sectors the 32 addresses touch.
# Consecutive 4-byte words fill 4 sectors, all bytes used; a stride of $s$ words touches $\min(4s, 32)$ sectors, so a stride of 8 or more wastes seven eighths of the bytes fetched.
# Shared memory has 32 banks of 4 bytes, word $w$ in bank $w \bmod 32$, and a read takes as many passes as the most distinct words asked of one bank.
# Reading a column of a 32 x 32 fp32 tile therefore takes 32 passes, and padding each row to 33 words spreads the column over all 32 banks in one pass; transposes and the tile loads of a GEMM use this padding or a swizzled layout.
# Odd strides are conflict-free, and reads of one word by every thread are a broadcast, not a conflict.
#
# lab:intuition
# - Global memory delivers by the crate (a 32-byte sector), not by the bottle: ask for scattered bottles and you pay for whole crates.
# - Shared memory is 32 checkout lanes: a column of a 32-wide tile sends every customer to the same lane; one padding word per row sends each to a different lane.

import numpy as np

WARP = 32
WORD = 4  # bytes: fp32 or int32
SECTOR = 32  # bytes served per global-memory transaction
BANKS = 32


# lab:begin access
def sectors(addresses):
    return len(np.unique(np.asarray(addresses) // SECTOR))  # (1)


def strided_addresses(stride_words, offset_bytes=0):
    return offset_bytes + np.arange(WARP) * stride_words * WORD  # (2)


def ways(word_indexes):
    words = np.asarray(word_indexes)
    banks = words % BANKS  # (3)
    return max(len(np.unique(words[banks == bank])) for bank in range(BANKS))  # (4)


def tile_column(column, row_words):
    return np.arange(WARP) * row_words + column  # (5)
# lab:end access
# lab:notes access
# (1) One transaction per distinct 32-byte sector that any of the 32 threads touches.
# (2) Thread $t$ reads the word $t \cdot s$ (in bytes, $4ts$) after an offset.
# (3) Bank of each 4-byte word: its word index mod 32 (byte address / 4, mod 32).
# (4) Passes: the most distinct words asked of any one bank; equal words in a bank are one broadcast.
# (5) Thread $t$ reads row $t$ of one column: row $t$ starts at word $t$ times the row length.
#
# lab:explain 52-67 Two counters
# The first two functions count what global memory charges for a warp's load; the last two
# count what shared memory charges, passes over its banks, for the same kind of pattern.


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    strides = (1, 2, 3, 4, 6, 8, 12, 16, 32)
    rows = [(offset, s, sectors(strided_addresses(s, offset))) for offset in (0, 4, 16, 64) for s in strides]
    patterns = {"row": np.arange(WARP), "column": tile_column(0, 32), "column, padded to 33": tile_column(0, 33),
                "stride 2": np.arange(WARP) * 2, "stride 3": np.arange(WARP) * 3, "broadcast": np.zeros(WARP, int)}
    return {"sectors": dict(zip(("offset", "stride", "sectors"), map(list, zip(*rows)))),
            "ways": {"pattern": list(patterns), "ways": [ways(words) for words in patterns.values()]}}


# lab:figure sectors
# kind: bar
# title: A warp's load costs one transaction per 32-byte sector it touches
# caption: Sectors touched by 32 threads reading 4-byte words at a stride; 4 are the minimum for 128 useful bytes.
#   From a stride of 8 words each thread has a sector of its own: 32 sectors, 12.5% of the bytes used.
# x: stride "stride (words)" d
# y: sectors "32-byte sectors per warp load" d
# control: offset "offset of the first word (bytes)" d
# default: 0
# says: With the first word at byte {{offset}}, a stride of 1 word touches {{sectors|stride=1}} sectors and a stride of 8 words {{sectors|stride=8}}.
# lab:figure ways
# kind: bar
# title: Only different words in one bank serialize a shared-memory read
# caption: Passes a warp's read of a 32 x 32 fp32 tile takes: a column is 32-way, one word of padding per row
#   makes it 1-way, stride 2 is 2-way, and a word every thread reads is a broadcast.
# x: pattern "access pattern"
# y: ways "passes (ways)" d


def main():
    print("global memory: 32 threads read 4-byte words, 128 useful bytes")
    print("stride   sectors   useful")
    for stride in (1, 2, 3, 4, 8, 16, 32):
        count = sectors(strided_addresses(stride))
        print(f"  {stride:4d}   {count:7d}   {WARP * WORD / (count * SECTOR):6.1%}")
    shifted = sectors(strided_addresses(1, offset_bytes=4))
    print(f"stride 1, offset 4 bytes: {shifted} sectors, {WARP * WORD / (shifted * SECTOR):.0%} useful")
    assert sectors(strided_addresses(1)) == 4 and shifted == 5 and sectors(strided_addresses(8)) == 32

    print("shared memory: passes for one warp's read of a 32 x 32 fp32 tile")
    cases = {"row": np.arange(WARP), "column": tile_column(0, 32), "column, rows padded to 33": tile_column(0, 33),
             "stride 2": np.arange(WARP) * 2, "stride 3": np.arange(WARP) * 3, "broadcast": np.zeros(WARP, int)}
    for name, words in cases.items():
        print(f"  {name:26s} {ways(words):2d} way")
    assert ways(tile_column(0, 32)) == 32 and ways(tile_column(0, 33)) == 1
    assert ways(np.arange(WARP) * 2) == 2 and ways(np.arange(WARP) * 3) == 1 and ways(np.zeros(WARP, int)) == 1


if __name__ == "__main__":
    main()
