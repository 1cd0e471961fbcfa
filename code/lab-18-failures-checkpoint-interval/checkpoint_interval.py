"""Lab 18 - Failures & checkpoint interval.

From Llama 3's reported interruption count to a job-level mean time between failures, Young's
first-order checkpoint interval, its overhead, and a seeded simulation that checks the optimum.
"""
# lab:goal Choose a checkpoint interval from the failure rate and the cost of one checkpoint.
#
# lab:mental-model
# - A synchronous job fails when any of its GPUs or links fails, so its MTBF shrinks as $1/N_{GPU}$.
# - Checkpointing every $\tau$ costs $\delta/\tau$ of the time; a failure loses on average $\tau/2$ of work.
# - The sum is smallest at Young's interval $\tau^* = \sqrt{2\delta M}$, where both terms are equal.
#
# lab:checkpoints
# - What is the job MTBF from Llama 3's 419 unexpected interruptions in 54 days?
#   answer: 54 x 24 h / 419 = 3.09 h, on 16,384 GPUs: one interruption every ~3 hours.
# - With a 60 s checkpoint, what interval and overhead does Young's formula give?
#   answer: $\sqrt{2 \cdot 60 \cdot 11{,}135}$ s = 1156 s, about 19 min, and about 10.4% overhead
#   (5.2% writing checkpoints + 5.2% expected lost work), before restart time.
# - What happens to the best interval if the cluster doubles?
#   answer: M halves, so $\tau^*$ shrinks by $\sqrt 2$ and the overhead grows by $\sqrt 2$: from
#   27.2 min and 7.3% at 8k GPUs to 13.6 min and 14.7% at 32k GPUs.
#
# lab:traps
# - "Checkpoint as rarely as possible." Checkpoints cost $\delta/\tau$, but every failure throws
#   away the work since the last one: at 2 h intervals the expected loss alone is about 32%.
# - Overhead here excludes restart and re-initialisation time, which adds about R/M per failure;
#   fast restarts matter as much as the checkpoint interval.
#
# lab:interview
# The state being protected is the full training state (weights, optimizer state, data-loader
# position) of a synchronous job, which fails whenever any one of its N GPUs does, so the job's
# MTBF M falls as 1/N. Llama 3 reported 419 unexpected interruptions in 54 days on 16,384 GPUs,
# an M of about 3.1 hours. Checkpointing every $\tau$ seconds costs $\delta/\tau$ of the run, and
# each failure loses about $\tau/2$ of work, $\tau/(2M)$ of the run; the sum is minimised at
# Young's $\tau^* = \sqrt{2\delta M}$, about 19 minutes for a 60 s checkpoint, with about 10%
# overhead. The trade-off is write cost against rework, so faster (asynchronous, sharded)
# checkpoints shorten the optimal interval and cut the overhead as $\sqrt{\delta}$.

import numpy as np

DAYS, INTERRUPTIONS, GPUS, DELTA = 54, 419, 16384, 60.0  # Llama 3 (2407.21783), 60 s checkpoint


# lab:begin model
def young_interval(delta, mtbf):
    return np.sqrt(2.0 * delta * mtbf)  # (1)


def first_order_overhead(tau, delta, mtbf):
    return delta / tau + tau / (2.0 * mtbf)  # (2)


def simulate(tau, delta, mtbf, work, rng):
    t, done = 0.0, 0.0
    next_fail = rng.exponential(mtbf)  # (3)
    while done < work:
        segment = tau + delta  # compute tau, then write a checkpoint
        if t + segment <= next_fail:
            t, done = t + segment, done + tau  # (4)
        else:
            t = next_fail  # (5)
            next_fail = t + rng.exponential(mtbf)
    return t / work - 1.0  # (6)
# lab:end model
# lab:notes model
# (1) Young (1974): minimising the first-order overhead over $\tau$ gives $\sqrt{2\delta M}$.
# (2) Checkpoint write time per unit of work, plus expected lost work per unit of time.
# (3) Failures as a Poisson process: exponential gaps with mean M (memoryless).
# (4) The segment and its checkpoint completed: progress is now safe.
# (5) A failure mid-segment throws away everything since the last checkpoint; restart cost is 0 here.
# (6) Overhead = wall time / useful work - 1, directly comparable with the formula.
#
# lab:explain 45-50 The first-order model
# Two costs pull in opposite directions: $\delta/\tau$ falls with longer intervals, $\tau/(2M)$
# grows. Setting the derivative to zero gives $\tau^* = \sqrt{2\delta M}$, where both equal
# $\sqrt{\delta/(2M)}$ and the total is $\sqrt{2\delta/M}$.
#
# lab:explain 53-63 A seeded failure simulation
# The simulation makes no approximation: it runs segments of work plus checkpoint, and on a
# failure rolls back to the last completed checkpoint. It is compared with the formula below.


def main():
    mtbf = DAYS * 24 * 3600 / INTERRUPTIONS
    print(f"Llama 3: {INTERRUPTIONS} unexpected interruptions in {DAYS} days on {GPUS} GPUs")
    print(f"job MTBF = {mtbf / 3600:.2f} h; per-GPU equivalent = {mtbf * GPUS / 3600 / 8766:.1f} "
          f"GPU-years of operation per interruption")
    tau = young_interval(DELTA, mtbf)
    ov = first_order_overhead(tau, DELTA, mtbf)
    print(f"Young: tau* = sqrt(2 x {DELTA:.0f} s x {mtbf:.0f} s) = {tau:.0f} s = {tau / 60:.1f} min, "
          f"overhead {ov:.1%} ({DELTA / tau:.1%} writing + {tau / (2 * mtbf):.1%} lost work)")
    assert abs(mtbf / 3600 - 3.09) < 0.01 and abs(tau / 60 - 19.3) < 0.1 and abs(ov - 0.104) < 1e-3

    rng = np.random.default_rng(0)
    work = 20000 * 3600.0  # 20k hours of useful compute: thousands of failures per run
    print("\ninterval   first-order   simulated")
    sims = {}
    for minutes in (5, 10, tau / 60, 40, 120):
        sims[minutes] = simulate(minutes * 60, DELTA, mtbf, work, rng)
        print(f"{minutes:6.1f} min   {first_order_overhead(minutes * 60, DELTA, mtbf):9.1%}"
              f"   {sims[minutes]:9.1%}")
    assert min(sims, key=sims.get) == tau / 60, "Young's interval is the best of those tried"

    print("\n  GPUs   MTBF     tau*    overhead")
    for n in (4096, 8192, 16384, 32768):
        m = mtbf * GPUS / n  # same per-GPU reliability, MTBF proportional to 1/N
        t = young_interval(DELTA, m)
        print(f"{n:6d}   {m / 3600:4.1f} h   {t / 60:4.1f} min   {first_order_overhead(t, DELTA, m):6.1%}")


if __name__ == "__main__":
    main()
