"""Lab 47 - Hangs, stragglers and silent data corruption: failures that do not crash.

Simulates a 1,024-rank synchronous job: prices a hang that only a watchdog timeout ends, finds a
rank 1.3 times slower than the rest from its step times (median plus a multiple of the median
absolute deviation), and finds a single flipped bit in one rank's copy of the all-reduced gradients
by comparing checksums that data-parallel replicas must share bit for bit.
"""
# lab:goal See how a training job notices the failures that raise no error: a rank that never arrives, a rank that arrives late, and a rank that computes a wrong number.
#
# lab:mental-model
# - A hang: one rank never joins a collective, so every other rank waits inside it; only a timeout (PyTorch's NCCL watchdog, 10 minutes by default) turns the wait into an error, and every GPU idles until then.
# - A straggler: one rank is slow, and a synchronous step runs at the speed of the slowest rank; compare each rank's step time with the median, in units of the median absolute deviation.
# - Silent data corruption: hardware computes a wrong value and reports nothing. After an all-reduce every data-parallel replica must hold bit-identical gradients, so a checksum that differs names the rank.
#
# lab:checkpoints
# - Before you run it: one rank of 16,384 hangs and the watchdog fires after 10 minutes. How many GPU-hours does the wait cost?
#   answer: 16,384 GPUs x 10 minutes = 2,730.7 GPU-hours, before the restart and the work lost since the last checkpoint.
#   see: output "a hang on 16,384 GPUs"
#   predict: number 3, within 5%
# - One of 1,024 ranks takes 1.3 times as long per step. What happens to the job's step time, and how is the rank found?
#   answer: Every step waits for it: 1.30 s instead of 1.02 s for the slowest healthy rank, 28% slower. Its compute time sits 94 median absolute deviations above the median, far past a threshold of 10.
#   see: output "straggler"
# - A single bit flips in one rank's copy of a gradient after the all-reduce. Why does comparing a loss or a norm miss it, and a checksum not?
#   answer: One flipped low mantissa bit changes one value by a few parts in ten million and leaves the gradient norm unchanged at float32 precision; the checksum of the exact bits differs on that rank and nowhere else.
#   see: output "silent data corruption"
# lab:traps
# - A hang shows up as a crash.
#   why: Nothing fails: every other rank is waiting inside a collective that never completes, which is why PyTorch runs a watchdog that times out (10 minutes for NCCL by default) and can dump a flight recorder naming the rank that never joined.
# - A straggler shows up as the rank with the longest step.
#   why: Every rank waits for it inside the collective, so every rank's wall-clock step reads 1.30 s; compare the time each rank spends outside collectives, its compute, with the median in median absolute deviations (line 53).
#
# lab:interview
# A synchronous job fails silently three ways: a hang, where one rank never joins a collective and the rest wait until a watchdog timeout (10 minutes by default for NCCL in PyTorch); a straggler, which slows every step to its own pace; and silent data corruption, a wrong result with no error.
# The cost of a hang is GPUs times the timeout, 2,730.7 GPU-hours for 16,384 GPUs and 10 minutes, before the restart; a straggler is flagged by step time against the median in units of the median absolute deviation, robust to the outlier itself.
# Data-parallel replicas hold bit-identical gradients after an all-reduce, so comparing checksums finds a rank that computed or stored a wrong value, where a loss curve shows nothing.
# Meta's Llama 3 report counts 419 unexpected interruptions in 54 days, among them 7 NCCL watchdog timeouts and 6 cases of silent data corruption, and Gemini's report describes replaying steps deterministically to find the faulty hardware.
#
# lab:intuition
# - A convoy waits at every junction for its slowest truck, and forever for one that broke down without radioing; a timer at the junction is what ends the wait.
# - Corruption is found by redundancy: data parallelism already computes the same gradients many times, so compare them.

import hashlib

import numpy as np

RANKS = 1024
WATCHDOG_S = 600  # PyTorch's default NCCL timeout


# lab:begin detect
def stragglers(step_times, threshold=10.0):
    median = np.median(step_times)
    mad = np.median(np.abs(step_times - median))  # (1)
    return np.flatnonzero((step_times - median) / mad > threshold), (step_times - median) / mad


def checksum(array):
    return hashlib.sha256(np.ascontiguousarray(array).view(np.uint8)).hexdigest()  # (2)


def corrupt_ranks(replicas):
    sums = [checksum(r) for r in replicas]
    majority = max(set(sums), key=sums.count)  # (3)
    return [rank for rank, s in enumerate(sums) if s != majority]
# lab:end detect
# lab:notes detect
# (1) The median absolute deviation: a spread that one extreme rank cannot inflate, unlike the standard deviation.
# (2) A hash of the exact bits: equal only if every bit of every value is equal.
# (3) All replicas should agree; the checksum most of them share is the right one.
#
# lab:explain 51-64 Two detectors
# A straggler is an outlier of step time measured against robust statistics; a corrupted replica
# is a checksum that disagrees with the others, which data parallelism makes possible at all.


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    times = np.random.default_rng(0).normal(1.0, 0.005, RANKS)  # the step times main() draws
    times[613] = 1.3
    _, score = stragglers(times)
    places = [*range(0, RANKS - 1, 16), RANKS - 1]  # every 16th place in time order, and the slowest
    order = np.argsort(times)[places]
    return {"steps": {"position": places, "score": list(score[order]),
                      "rank": ["straggler" if i == 613 else "healthy" for i in order]}}


# lab:figure steps
# kind: point
# title: One slow rank stands dozens of median deviations above the rest
# caption: Step times of 1,024 ranks, sorted, in units of the median absolute deviation above the median (every
#   16th rank drawn, and the slowest): the rank 1.3 times slower scores {{steps.score|rank=straggler}}, the rest stay within a few.
# x: position "ranks, sorted by compute time" d
# y: score "deviations above the median" .1f
# color: rank "rank"


def main():
    print(f"a hang on 16,384 GPUs until the {WATCHDOG_S // 60}-minute watchdog: {16384 * WATCHDOG_S / 3600:,.1f} GPU-hours idle")

    rng = np.random.default_rng(0)
    times = rng.normal(1.0, 0.005, RANKS)  # seconds of compute per step, before the all-reduce
    times[613] = 1.3  # one rank 1.3 times slower
    flagged, score = stragglers(times)
    healthy_max = np.delete(times, 613).max()
    print(f"straggler: step {times.max():.2f} s instead of {healthy_max:.2f} s ({times.max() / healthy_max - 1:.0%} slower); "
          f"flagged ranks {flagged.tolist()}, {score[613]:.0f} deviations above the median")
    assert flagged.tolist() == [613]

    gradients = rng.standard_normal(100_000).astype(np.float32)
    replicas = [gradients.copy() for _ in range(8)]  # 8 data-parallel replicas after the all-reduce
    bits = replicas[5].view(np.uint32)
    bits[4242] ^= 1 << 3  # one low mantissa bit flips in replica 5
    changed = abs(replicas[5][4242] / gradients[4242] - 1)
    print(f"silent data corruption: one bit of one value in replica 5 changes it by {changed:.1e} of itself; "
          f"gradient norms differ by {abs(np.linalg.norm(replicas[5]) / np.linalg.norm(gradients) - 1):.0e}; "
          f"checksums flag replicas {corrupt_ranks(replicas)}")
    assert corrupt_ranks(replicas) == [5] and corrupt_ranks([gradients.copy() for _ in range(8)]) == []


if __name__ == "__main__":
    main()
