"""Lab 43 - The caching allocator: why memory reserved exceeds memory allocated.

A model of the rules of PyTorch's CUDA caching allocator: request sizes rounded to 512 bytes, small
requests served from 2 MiB segments, medium ones from 20 MiB segments, large ones rounded to 2 MiB,
best-fit reuse of cached free blocks, splitting and merging. It replays a training loop whose
activations change size with the batch, and compares the memory reserved with the peak allocated
and with one expandable segment.
"""
# lab:goal See how a caching allocator's rounding, segment sizes and fragmentation make reserved memory exceed what tensors use, and what expandable segments change.
#
# lab:mental-model
# - The allocator asks the driver for memory in segments and keeps them after tensors are freed: reserved memory (segments held) only grows, allocated memory (tensors alive) goes up and down.
# - A request is rounded up to 512 bytes; up to 1 MiB it comes from 2 MiB segments, up to 10 MiB from 20 MiB segments, larger requests get a segment of their own rounded up to 2 MiB.
# - A new request reuses the smallest cached free block that fits, split if enough is left over; freed neighbours in a segment merge back.
# - A cached block that is too small for every new request is reserved but useless: fragmentation.
#
# lab:checkpoints
# - Before you run it: a 1.5 MiB tensor is the first thing allocated. How much memory does the allocator reserve for it?
#   answer: A 20 MiB segment: requests between 1 and 10 MiB come from the large pool's 20 MiB segments, so later medium tensors can share it.
#   see: output "1.5 MiB"
#   predict: number 3, within 0%
# - The batch goes 8, 9, 7, 10 and each of 50 layers keeps batch x 3 MiB. Why does the allocator end up reserving 4,100 MiB for a peak of 1,500 MiB?
#   answer: Each larger batch needs blocks (27 then 30 MiB, rounded to 28 and 30) bigger than every cached one, so it opens 50 new segments; the smaller batch reuses the 24 MiB blocks. 50 x (24 + 28 + 30) MiB stay reserved.
#   see: output "default allocator"
# - Why would skipping the merge of adjacent free blocks be a bug, even though nothing is lost?
#   answer: A 22 MiB request splits a cached 24 MiB block into 22 and 2 MiB; without the merge the segment stays two pieces after the free, and a later 24 MiB request cannot use it, so the allocator reserves more.
#   see: lines 79-86
# lab:traps
# - Reserved minus allocated memory is leaked.
#   why: It is cached: free blocks the allocator keeps for reuse and returns with `torch.cuda.empty_cache()`. The problem is only that a block too small for what comes next is never reused (fragmentation).
# - Allocating 1 byte takes 1 byte.
#   why: Every request rounds up to 512 bytes, and the first small tensor reserves a 2 MiB segment.
#
# lab:interview
# PyTorch's caching allocator keeps freed blocks for reuse, so `memory_reserved` (segments held) exceeds `memory_allocated` (tensors alive), and the gap is fragmentation when cached blocks no longer fit the requests that come.
# It rounds requests to 512 bytes, serves those up to 1 MiB from 2 MiB segments and up to 10 MiB from 20 MiB segments, rounds larger ones to 2 MiB, and reuses the smallest cached block that fits, splitting large blocks only if more than 1 MiB would remain.
# A loop whose activations grow with a batch of 8, 9, 7 and 10 samples (50 layers of batch x 3 MiB) reserves 4,100 MiB in 150 segments for a 1,500 MiB peak, 2.73 times, because each larger batch opens new segments.
# `expandable_segments:True` maps more memory into one growing segment instead, so the same loop reserves the 1,500 MiB it peaks at.
#
# lab:intuition
# - A cloakroom that never throws hangers away: when coats keep getting bigger, the old hangers pile up unused.
# - Watch the request sizes across steps, not one step: varying shapes are what fragment the cache.

MIB = 1024 * 1024
ROUND = 512  # every request is a multiple of 512 bytes
SMALL = 1 * MIB  # requests up to this come from small segments
SMALL_SEGMENT, LARGE_SEGMENT = 2 * MIB, 20 * MIB
MEDIUM = 10 * MIB  # requests up to this come from 20 MiB segments; larger ones are rounded to 2 MiB


# lab:begin allocator
class Allocator:
    def __init__(self):
        self.segments = []  # each a list of [offset, size, free] blocks that tile it exactly

    def reserved(self):
        return sum(sum(block[1] for block in segment) for segment in self.segments)

    def allocated(self):
        return sum(block[1] for segment in self.segments for block in segment if not block[2])

    def malloc(self, size):
        size = -(-size // ROUND) * ROUND  # (1)
        small = size <= SMALL
        fits = [(block[1], s, i) for s, segment in enumerate(self.segments) for i, block in enumerate(segment)
                if block[2] and block[1] >= size and (segment_size(segment) <= SMALL_SEGMENT) == small]
        if not fits:  # (2)
            total = SMALL_SEGMENT if small else LARGE_SEGMENT if size <= MEDIUM else -(-size // (2 * MIB)) * 2 * MIB
            self.segments.append([[0, total, True]])
            fits = [(total, len(self.segments) - 1, 0)]
        _, s, i = min(fits)  # (3)
        offset, have, _ = self.segments[s][i]
        if have - size >= (ROUND if small else SMALL + 1):  # (4)
            self.segments[s][i:i + 1] = [[offset, size, False], [offset + size, have - size, True]]
        else:
            self.segments[s][i][2] = False
        return s, offset

    def free(self, handle):
        s, offset = handle
        segment = self.segments[s]
        i = next(k for k, block in enumerate(segment) if block[0] == offset)
        segment[i][2] = True
        for k in (i + 1, i):  # (5)
            if 0 < k < len(segment) and segment[k - 1][2] and segment[k][2]:
                segment[k - 1:k + 1] = [[segment[k - 1][0], segment[k - 1][1] + segment[k][1], True]]


def segment_size(segment):
    return sum(block[1] for block in segment)
# lab:end allocator
# lab:notes allocator
# (1) Round up to a multiple of 512 bytes.
# (2) No cached block fits: ask the driver for a new segment, sized by the request's class.
# (3) Best fit: the smallest free block of the right pool that is large enough.
# (4) Split off the rest only if it is worth keeping: any 512 bytes in the small pool, more than 1 MiB in the large pool.
# (5) A freed block merges with a free neighbour on either side, so the segment can serve a large request again.
#
# lab:explain 52-90 The allocator's rules
# `malloc` rounds, looks for the best cached fit in the right pool, opens a segment if none
# fits, and splits what it uses; `free` marks the block and merges it with free neighbours.


def training_loop(allocator, batches=(8, 9, 7, 10), layers=50):
    """Each step keeps every layer's activation (batch x 3 MiB) until backward frees them all."""
    peak = 0
    for batch in batches:
        handles = [allocator.malloc(batch * 3 * MIB) for _ in range(layers)]
        peak = max(peak, allocator.allocated())
        for handle in handles:
            allocator.free(handle)
    return peak


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rows = []
    for last in range(1, 5):
        batches = (8, 9, 7, 10)[:last]
        allocator = Allocator()
        peak = training_loop(allocator, batches)
        step = f"{last}: batch {batches[-1]}"
        rows += [(step, "reserved, default", allocator.reserved() / MIB), (step, "peak allocated so far", peak / MIB)]
    return {"reserved": dict(zip(("step", "memory", "mib"), map(list, zip(*rows))))}


# lab:figure reserved
# kind: bar
# title: Each larger batch opens new segments, and the cache keeps the old ones
# caption: Memory reserved by the default allocator after each step of batches 8, 9, 7 and 10 (50 layers of
#   batch x 3 MiB), against the peak allocated. After the last step: 4,100 MiB reserved for a 1,500 MiB peak.
# x: step "step"
# y: mib "MiB" ,d
# color: memory "memory"


def main():
    for label, size in (("1 byte", 1), ("1000 bytes", 1000), ("1.5 MiB", 3 * MIB // 2), ("10.5 MiB", 21 * MIB // 2)):
        allocator = Allocator()
        allocator.malloc(size)
        print(f"{label:10s}: allocated {allocator.allocated():>9,d} bytes, reserved {allocator.reserved() / MIB:4.0f} MiB")
    sizes = []
    for size in (1, 1000, 3 * MIB // 2, 21 * MIB // 2):
        allocator = Allocator()
        allocator.malloc(size)
        sizes.append(allocator.allocated())
    assert sizes == [512, 1024, 3 * MIB // 2, 21 * MIB // 2], "requests round up to 512 bytes"
    best = Allocator()
    for handle in [best.malloc(24 * MIB), best.malloc(28 * MIB)]:
        best.free(handle)
    chosen, _ = best.malloc(22 * MIB)
    assert segment_size(best.segments[chosen]) == 24 * MIB, "the smallest cached block that fits is reused"
    many = Allocator()
    for _ in range(1000):
        many.malloc(4096)
    print(f"1000 x 4 KiB: reserved {many.reserved() / MIB:.0f} MiB in {len(many.segments)} segments")
    assert many.reserved() == 4 * MIB and len(many.segments) == 2

    allocator = Allocator()
    peak = training_loop(allocator)
    assert allocator.allocated() == 0 <= peak <= allocator.reserved()
    assert all(block[0] == sum(b[1] for b in segment[:k]) for segment in allocator.segments
               for k, block in enumerate(segment)), "blocks tile their segment"
    assert all(len(segment) == 1 for segment in allocator.segments), "freed neighbours merge back into whole segments"
    print(f"default allocator, batches 8, 9, 7, 10 x 50 layers x 3 MiB: reserved {allocator.reserved() / MIB:,.0f} MiB "
          f"in {len(allocator.segments)} segments for a peak of {peak / MIB:,.0f} MiB allocated "
          f"({allocator.reserved() / peak:.2f}x)")
    print(f"one expandable segment, grown to the peak: reserved {peak / MIB:,.0f} MiB")
    assert allocator.reserved() == 4100 * MIB and len(allocator.segments) == 150


if __name__ == "__main__":
    main()
