"""Lab 39 - Overlapping communication with compute: only exposed communication costs time.

Plays a data-parallel backward pass (24 layers of 50M parameters, 2.4 GB of bf16 gradients produced
evenly over 150 ms) with gradient buckets all-reduced on their own stream as soon as they are full
(64 ranks, 50 us per collective, assumed, and 50 GB/s), and an FSDP forward pass whose all-gathers
are prefetched one unit ahead, and measures the communication left exposed after the compute.
"""
# lab:goal See how bucketing and prefetching hide communication behind compute, and what leaves some of it exposed.
#
# lab:mental-model
# - Communication costs step time only where no compute runs beside it: the exposed part.
# - DDP all-reduces gradients in buckets while backward continues; a bucket can start only when its last gradient exists, so the last bucket's all-reduce is always exposed.
# - Each collective pays a fixed latency, so many tiny buckets cost more than they hide, and a few huge ones leave a long tail.
# - FSDP gathers a unit's weights before it runs; gathering the next unit while the current one computes hides every gather but the first, if a gather is shorter than a unit's compute.
#
# lab:checkpoints
# - Before you run it: 2.4 GB of gradients all-reduced once, after a 150 ms backward, on 64 ranks at 50 GB/s. How much time is exposed?
#   answer: All of it, 94.55 ms: $2 \cdot 63/64 \cdot 2.4$ GB at 50 GB/s plus 50 us, and nothing runs beside it.
#   see: output "one all-reduce after backward"
#   predict: number 1, within 10%
# - With 25 MB buckets, why is only about 1 ms exposed?
#   answer: A bucket fills every 1.56 ms and its all-reduce takes 1.03 ms, so the stream keeps up with backward; only the last bucket, full when backward ends, runs after it.
#   see: output "  25 MB"
# - Why do 1 MB buckets expose 64.6 ms, more than 100 MB buckets?
#   answer: Each collective pays 50 us of latency on 1 MB that takes 39 us to move, so 2,400 of them take 214.5 ms, longer than the 150 ms backward they should hide behind.
#   see: output "   1 MB"
# lab:traps
# - Smaller buckets always overlap better.
#   why: Each collective pays a fixed latency: at 1 MB the all-reduces fall behind backward and 64.6 ms is exposed, against 1.03 ms at 25 MB (line 52 charges it on every bucket).
# - Overlap makes communication free.
#   why: It hides communication behind compute only while there is compute: the last bucket's all-reduce, and FSDP's first gather, always run alone, and with 4 ms gathers against 3 ms of compute FSDP still exposes 27 ms.
#
# lab:interview
# Only exposed communication costs time: DDP launches each bucket's all-reduce as soon as its last gradient is ready, so with $b$ buckets the exposed time is roughly the last bucket's all-reduce, $\alpha + 2(N-1)/N \cdot S_b/B$, as long as each finishes before the next is full.
# For 2.4 GB of gradients over a 150 ms backward on 64 ranks at 50 GB/s, one all-reduce at the end exposes 94.55 ms, 25 MB buckets (PyTorch's default) 1.03 ms, 100 MB buckets 4.0 ms, and 1 MB buckets 64.6 ms because 2,400 latencies outrun the backward.
# FSDP prefetches the next unit's all-gather during the current unit's compute, so a forward of 24 units takes $\text{AG}_0 + \sum \max(\text{AG}, C) + C$: 74 ms instead of 120 with 2 ms gathers and 3 ms of compute, but 99 ms with 4 ms gathers.
# Overlap also competes for the GPU: NCCL's kernels occupy SMs that the compute would use.
#
# lab:intuition
# - A bucket is a delivery van: leave the moment it is full, and only the last van's trip comes after closing time.
# - Exposed time is whatever sticks out past the compute on a timeline; everything underneath it is free.

LAYERS, PARAMS_PER_LAYER = 24, 50_000_000
GRAD_BYTES = LAYERS * PARAMS_PER_LAYER * 2  # bf16 gradients
BACKWARD_MS = 150.0
RANKS, ALPHA_MS, BW = 64, 0.05, 50e9  # 50 us per collective (assumed), bytes/s
MB = 1e6


# lab:begin buckets
def all_reduce_ms(size):
    return ALPHA_MS + 2 * (RANKS - 1) / RANKS * size / BW * 1e3  # (1)


def bucketed_backward(bucket_bytes):
    """When backward and the last bucket's all-reduce end, in ms, and each bucket's (ready, start, end)."""
    produced_per_ms = GRAD_BYTES / BACKWARD_MS
    buckets, stream_free = [], 0.0
    for index in range(round(GRAD_BYTES / bucket_bytes)):
        ready = (index + 1) * bucket_bytes / produced_per_ms  # (2)
        start = max(ready, stream_free)  # (3)
        stream_free = start + all_reduce_ms(bucket_bytes)
        buckets.append((ready, start, stream_free))
    return BACKWARD_MS, stream_free, buckets


def fsdp_forward_ms(units, gather_ms, compute_ms, prefetch=True):
    if not prefetch:
        return units * (gather_ms + compute_ms)
    return gather_ms + (units - 1) * max(gather_ms, compute_ms) + compute_ms  # (4)
# lab:end buckets
# lab:notes buckets
# (1) A ring all-reduce: a fixed latency per collective plus the bandwidth term of Lab 15.
# (2) Gradients appear evenly over backward, so a bucket is full once its share has been produced.
# (3) One communication stream: a bucket starts when it is full and the previous all-reduce is done.
# (4) Unit $i + 1$ is gathered while unit $i$ computes; only the first gather has nothing to hide behind.
#
# lab:explain 51-70 Two overlap schedules
# `bucketed_backward` is the communication stream of DDP, running beside backward;
# `fsdp_forward_ms` is FSDP's forward with its gathers one unit ahead of the compute.


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    sizes = (1, 2, 5, 10, 25, 50, 100, 200, 400, 800, 2400)
    exposed = []
    for mb in sizes:
        backward, done, _ = bucketed_backward(mb * MB)
        exposed.append(("exposed", mb, done - backward))
        exposed.append(("last bucket's all-reduce", mb, all_reduce_ms(mb * MB)))
    timeline = []
    for gather in (2, 3, 4):
        for unit in range(8):  # unit u + 1 is gathered from the moment unit u starts computing
            begin = gather + unit * max(gather, 3)
            fetch = begin - max(gather, 3) if unit else 0.0
            timeline.append((gather, "all-gather", "gather", fetch, fetch + gather))
            timeline.append((gather, "compute", "compute", begin, begin + 3))
    return {"exposed": dict(zip(("series", "mb", "ms"), map(list, zip(*exposed)))),
            "fsdp": dict(zip(("gather", "stream", "kind", "start", "end"), map(list, zip(*timeline))))}


# lab:figure exposed
# kind: line
# title: Buckets that are too small fall behind on latency; buckets that are too large leave a long tail
# caption: Communication left after a 150 ms backward that produces 2.4 GB of bf16 gradients, all-reduced on
#   64 ranks at 50 GB/s with 50 us per collective. The minimum sits near PyTorch's default of 25 MB.
# x: mb "bucket size (MB)" ,d
# y: ms "time (ms)" .2f
# color: series "series"
# x-scale: log
# y-scale: log
#
# lab:figure fsdp
# kind: timeline
# title: Prefetching hides each gather behind the previous unit's compute, while a gather is shorter than it
# caption: The first 8 of 24 FSDP units with 3 ms of compute each and the chosen all-gather time. Only the first
#   gather is exposed at 2 or 3 ms; at 4 ms every unit waits 1 ms for its weights.
# x: start "time (ms)"
# x2: end "end"
# y: stream "stream"
# color: kind "work"
# control: gather "all-gather time (ms)" d
# default: 2
# says: With {{gather}} ms all-gathers the 8 units finish at {{end|end=max}} ms.

def main():
    print(f"{LAYERS} layers x {PARAMS_PER_LAYER // 1_000_000}M parameters: {GRAD_BYTES / 1e9:.1f} GB of bf16 gradients, "
          f"backward {BACKWARD_MS:.0f} ms, {RANKS} ranks")
    single = all_reduce_ms(GRAD_BYTES)
    print(f"one all-reduce after backward: {single:.2f} ms, all of it exposed")
    print("  bucket   buckets   fills every   all-reduce each   all-reduces in all   exposed")
    for mb in (1, 25, 100):
        backward, done, buckets = bucketed_backward(mb * MB)
        assert all(start >= ready for ready, start, _ in buckets), "a bucket starts only when it is full"
        assert done >= max(backward, sum(end - start for _, start, end in buckets))
        print(f"  {mb:3d} MB   {len(buckets):7,d}   {BACKWARD_MS / len(buckets):8.4f} ms   {all_reduce_ms(mb * MB):12.3f} ms"
              f"   {len(buckets) * all_reduce_ms(mb * MB):15.1f} ms   {done - backward:6.2f} ms")
    assert round(bucketed_backward(25 * MB)[1] - BACKWARD_MS, 2) == round(all_reduce_ms(25 * MB), 2)
    assert bucketed_backward(1 * MB)[1] - BACKWARD_MS > 10 * all_reduce_ms(25 * MB), "latency-bound tiny buckets fall behind"

    for gather in (2.0, 4.0):
        serial, prefetched = fsdp_forward_ms(24, gather, 3.0, prefetch=False), fsdp_forward_ms(24, gather, 3.0)
        print(f"FSDP forward, 24 units, gather {gather:.0f} ms, compute 3 ms: {serial:.0f} ms in sequence, "
              f"{prefetched:.0f} ms prefetched ({prefetched - 24 * 3.0:.0f} ms exposed)")
    assert fsdp_forward_ms(24, 2.0, 3.0) == 74 and fsdp_forward_ms(24, 4.0, 3.0) == 99


if __name__ == "__main__":
    main()
