"""Lab 18 - Failures & checkpoint interval.

From Llama 3's reported interruption count to a job-level mean time between failures, Young's
first-order checkpoint interval, its overhead, and a seeded simulation that checks the optimum.
"""
# lab:goal Choose a checkpoint interval from the failure rate and the cost of one checkpoint.
#
# lab:mental-model
# - A checkpoint saves the training state (weights, optimizer state, data position) so that a job
#   restarted after a failure resumes from it instead of from the beginning.
# - The mean time between failures (MTBF) M of a synchronous job, in which every step needs every
#   GPU, is the time until any one of its GPUs, hosts or links fails: it shrinks as $1/N_{GPU}$.
# - Checkpointing every $\tau$ at a cost $\delta$ spends $\delta/\tau$ of the time writing; a failure
#   loses on average $\tau/2$ of work, a fraction $\tau/(2M)$ of the run.
# - The sum is smallest at Young's interval $\tau^* = \sqrt{2\delta M}$, where both terms are equal.
#
# lab:checkpoints
# - What job MTBF do Llama 3's 419 unexpected interruptions in 54 days imply?
#   answer: 54 x 24 h / 419 = 3.09 h (11,135 s) for a job on 16,384 GPUs.
#   see: output "job MTBF = 3.09 h"
#   predict: number 1, within 10%
# - With a 60 s checkpoint, what interval and overhead does Young's formula give?
#   answer: $\sqrt{2 \cdot 60 \cdot 11{,}135}$ s = 1156 s, 19.3 min, and 10.4% overhead: 5.2%
#   writing checkpoints plus 5.2% expected lost work, before restart time.
#   see: output "Young: tau* ="
# - The cluster doubles from 16,384 to 32,768 GPUs. What happens to $\tau^*$ and the overhead?
#   answer: M halves, so $\tau^*$ shrinks by $\sqrt 2$ (19.3 -> 13.6 min) and the overhead grows
#   by $\sqrt 2$ (10.4% -> 14.7%).
#   see: output " 32768    1.5 h"
# - Why does the simulation at 120 min lose more (41.0%) than the formula predicts (33.2%)?
#   answer: The first-order model charges each failure $\tau/2$ once. But re-done work can fail
#   again: with $\tau$ close to M (2 h vs 3.1 h) a segment often fails several times before it
#   completes, and each failure rolls back to the same checkpoint (line 99).
#   see: output " 120.0 min"
# lab:traps
# - "Checkpoint as rarely as possible."
#   why: Each failure throws away the work since the last checkpoint: at 2 h intervals the expected
#   loss alone is $\tau/(2M) = 32\%$ of the run, and the simulation measures 41.0% in total.
# - "The 10.4% overhead is the whole cost of failures."
#   why: The model (line 99) restarts instantly. A real restart (rescheduling, reloading the
#   checkpoint) adds its time R once per failure, a further fraction R/M of the run: with R = 10 min
#   and M = 3.1 h that is 5.4% more, so fast restarts matter as much as the interval.
#
# lab:interview
# A synchronous job fails whenever any one of its GPUs does, so its MTBF M falls as 1/N. Llama 3
# saw 419 unexpected interruptions in 54 days on 16,384 GPUs, an M of 3.1 hours.
#
# Checkpointing every $\tau$ seconds costs $\delta/\tau$ of the run, and each failure loses about
# $\tau/(2M)$; the sum is smallest at Young's $\tau^* = \sqrt{2\delta M}$, 19 minutes and about 10%
# overhead for a 60 s checkpoint.
#
# The trade-off is write cost against rework: cheaper (asynchronous, sharded) checkpoints and
# faster restarts are the levers, since the overhead scales as $\sqrt{\delta/M}$.
#
# lab:intuition
# - Saving a long document: save too often and you spend your time saving, too rarely and a crash
#   costs an hour of typing; the best rhythm balances the two, and it speeds up when crashes do.
# - At the optimum the two costs are equal: if measured checkpoint time and measured lost work
#   differ a lot, the interval is off.
# - Square roots soften everything: 4x more GPUs only halves the interval and doubles the overhead,
#   and a 4x faster checkpoint only halves the overhead.

# lab:figure interval
# kind: line
# title: The best interval is where writing checkpoints and losing work cost the same, earlier on larger jobs
# caption: A 60 s checkpoint and Llama 3's failure rate per GPU: the two costs are straight lines of
#   opposite slope here, and the total is lowest where they cross, at Young's τ* = √(2δM). 16,384 GPUs
#   (MTBF 3.1 h) give 19.3 min and 10.4%; 8x fewer GPUs 54.5 min and 3.7%, 8x more 6.8 min and 29.4%.
# x: tau "checkpoint interval τ (min)" .4g
# y: overhead "overhead (% of the useful work)" .3g
# color: cost "cost"
# control: gpus "GPUs in the job" ,d
# default: 16384
# says: With {{gpus}} GPUs the lowest point drawn is a checkpoint every {{tau|cost=total overhead, overhead=min}} min, costing {{overhead|cost=total overhead, overhead=min}}% of the useful work; Young's optimum is within a grid step of it.
# x-scale: log
# y-scale: log
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
# lab:explain 83-88 The first-order model
# Two costs pull in opposite directions: $\delta/\tau$ falls with longer intervals, $\tau/(2M)$
# grows. Setting the derivative to zero gives $\tau^* = \sqrt{2\delta M}$, where both equal
# $\sqrt{\delta/(2M)}$ and the total is $\sqrt{2\delta/M}$.
#
# lab:explain 91-101 A seeded failure simulation
# The simulation makes no approximation: it runs segments of work plus checkpoint, and on a
# failure rolls back to the last completed checkpoint. It is compared with the formula below.


def figures():
    """The data of the figure declared above, from the lab's own first-order model."""
    # interval: overhead against the interval, its two terms and Young's optimum, for 8 job sizes
    rows = []
    for n in (2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144):
        m = DAYS * 24 * 3600 / INTERRUPTIONS * GPUS / n  # same per-GPU reliability, as in main()
        for minutes in (2, 3, 4, 5, 7, 10, 15, 20, 30, 40, 60, 90, 120, 180, 240):
            tau = minutes * 60.0
            rows += [(n, minutes, 100 * first_order_overhead(tau, DELTA, m), "total overhead"),
                     (n, minutes, 100 * first_order_overhead(tau, DELTA, np.inf), "writing checkpoints, δ/τ"),
                     (n, minutes, 100 * first_order_overhead(tau, 0.0, m), "lost work, τ/(2M)")]
        best, young = float(young_interval(DELTA, m)), "Young's τ*: each cost is half the total"
        rows += [(n, best / 60, 100 * first_order_overhead(best, DELTA, np.inf), young),  # the crossing
                 (n, best / 60, 100 * first_order_overhead(best, DELTA, m), young)]  # the lowest total
    return {"interval": dict(zip(("gpus", "tau", "overhead", "cost"), map(list, zip(*rows))))}


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
