"""Lab 20 - Pipeline schedules: GPipe, 1F1B and interleaved 1F1B on p = 4 stages, m = 8 micro-batches."""
# lab:goal Measure the pipeline bubble and the in-flight activations of three schedules from simulated timelines.
#
# lab:mental-model
# - Each stage owns a contiguous block of layers; a micro-batch visits stages in order, then back.
# - The bubble is the $p-1$ slots of fill and drain: $(p-1)/m$ of the ideal time, $(p-1)/(m+p-1)$ of the total.
# - 1F1B reorders work to cap stored activations at $p$ micro-batches; it does not shrink the bubble.
# - Interleaving gives each device $v$ smaller chunks and divides the bubble by $v$.
#
# lab:checkpoints
# - GPipe and 1F1B take the same time.
#   answer: Both finish at 33 time units for 24 units of work per device: idle fraction 9/33 = 3/11.
# - 1F1B's gain is memory, not speed.
#   answer: Stage 0 holds at most 4 micro-batches of activations under 1F1B and all 8 under GPipe.
# - Interleaving with v = 2 shrinks the bubble from 9 to 4.5 units.
#   answer: Bubble over ideal time falls from $(p-1)/m = 3/8$ to $(p-1)/(vm) = 3/16$, paid for with $v$ times as many point-to-point messages.
# - Does interleaving also keep 1F1B's memory cap?
#   answer: Not quite: stage 0's peak grows from 4 to 5.5 full-stage micro-batches at v = 2 (4.75 at v = 4), which is $p(1 + (p-1)/(pv))$, because its warm-up runs extra chunk forwards before the first backward.
#
# lab:traps
# - Quoting $(p-1)/m$ as "the fraction of time idle": it is relative to the ideal time; of the total it is $(p-1)/(m+p-1)$.
# - "1F1B removes the bubble": it has exactly GPipe's bubble, with less activation memory.
# - "Just raise m": at a fixed global batch, more micro-batches means smaller ones, and small matmuls use the GPU less well.
#
# lab:interview
# The state that moves between stages is one micro-batch's activation tensor of shape
# (micro-batch, sequence, hidden), sent forward and its gradient sent back. With p = 4 stages and
# m = 8 micro-batches GPipe and 1F1B both pay p - 1 slots of fill and drain per device, so the run
# takes 33 units for 24 units of work: the bubble is (p-1)/m = 3/8 of the ideal time, or 3/11 of
# the total. GPipe runs all forwards first and stores activations for all 8 micro-batches; 1F1B
# starts backward passes as early as possible, so stage 0 never holds more than p = 4, with the
# same bubble. Interleaving v model chunks per device cuts the bubble to (p-1)/(vm) at the cost
# of v times more communication. The trade-off is bubble against memory and messages: raise m,
# which needs a larger global batch or smaller micro-batches, or raise v.

P, M, TF, TB = 4, 8, 1.0, 2.0  # stages, micro-batches, forward and backward time per stage


# lab:begin schedules
def gpipe(d, v=1):
    return [("F", i, 0) for i in range(M)] + [("B", i, 0) for i in range(M)]  # (1)


def one_f_one_b(d, v=1):
    warmup = min(P - d - 1, M)  # (2)
    ops = [("F", i, 0) for i in range(warmup)]
    for i in range(M - warmup):
        ops += [("F", warmup + i, 0), ("B", i, 0)]  # (3)
    return ops + [("B", i, 0) for i in range(M - warmup, M)]


def interleaved(d, v):
    """Megatron's order: groups of P micro-batches cycle through the v chunks."""
    n = M * v
    def fwd(k): return ("F", (k // (P * v)) * P + k % P, (k % (P * v)) // P)  # (4)
    def bwd(k): return ("B", (k // (P * v)) * P + k % P, v - 1 - (k % (P * v)) // P)
    warmup = min((P - d - 1) * 2 + (v - 1) * P, n)
    ops = [fwd(k) for k in range(warmup)]
    for k in range(n - warmup):
        ops += [fwd(warmup + k), bwd(k)]
    return ops + [bwd(k) for k in range(n - warmup, n)]
# lab:end schedules
# lab:notes schedules
# (1) All forwards, then all backwards: every micro-batch's activations are alive at the turn.
# (2) Stage d runs $p-d-1$ forwards before its first backward; the last stage starts at once.
# (3) Steady state: one forward, one backward, so stored activations stop growing.
# (4) Chunk c of device d is virtual stage $cP + d$; chunks cycle every P micro-batches.
#
# lab:explain 40-49 Two orders for the same work
# Both lists hold 8 forwards and 8 backwards per stage. GPipe defers every backward; 1F1B
# starts each stage's backward as soon as the pipeline can deliver a gradient, which bounds how
# many activations wait on stage d to $p-d$.
#
# lab:explain 52-61 Interleaving
# Each device owns v chunks of layers, each taking $1/v$ of the time. Virtual stage $cP + d$
# lives on device d, so a micro-batch loops through the devices v times, and the fill and drain
# shrink to $(p-1)/v$ full-stage slots.

# lab:begin simulate
def simulate(schedule, v=1):
    """List scheduling: each device runs its ops in order, as soon as their input exists."""
    orders = [schedule(d, v) for d in range(P)]
    end, free, nxt, live, peak = {}, [0.0] * P, [0] * P, [0] * P, [0] * P
    while any(nxt[d] < len(orders[d]) for d in range(P)):
        for d in range(P):
            if nxt[d] == len(orders[d]):
                continue
            kind, mb, c = orders[d][nxt[d]]
            vs = c * P + d  # virtual stage
            if kind == "F":
                dep = ("F", mb, vs - 1) if vs > 0 else None  # (1)
            else:
                dep = ("B", mb, vs + 1) if vs < P * v - 1 else ("F", mb, vs)  # (2)
            if dep is not None and dep not in end:
                continue
            start = max(free[d], end.get(dep, 0.0))
            free[d] = end[(kind, mb, vs)] = start + (TF if kind == "F" else TB) / v  # (3)
            live[d] += 1 if kind == "F" else -1
            peak[d] = max(peak[d], live[d])  # (4)
            nxt[d] += 1
    total = max(free)
    return total, 1 - M * (TF + TB) / total, peak[0] / v  # (5)
# lab:end simulate
# lab:notes simulate
# (1) A forward needs the previous virtual stage's output for the same micro-batch.
# (2) A backward needs the gradient from the next stage; the last stage needs its own forward.
# (3) Chunks are $1/v$ of a stage, so their forward and backward take $1/v$ of the time.
# (4) Forwards whose backward has not run yet: activations that must stay in memory.
# (5) Idle fraction of the total, and stage 0's peak in micro-batches of a full stage.
#
# lab:explain 80-96 Dependencies decide the start times
# The simulator knows only the order of work on each device and the data dependencies between
# stages. Idle gaps appear on their own: early stages wait at the end for gradients, late stages
# wait at the start for activations.
#
# lab:explain 97-102 What is measured
# The bubble is whatever the devices did not spend computing. The count of live forwards is the
# activation memory the schedule needs, in units of one stage's activations per micro-batch.


def main():
    ideal = M * (TF + TB)
    print(f"p = {P} stages, m = {M} micro-batches, ideal time {ideal:.0f} units per device")
    print("schedule        v  total  idle/total  bubble/ideal  peak in-flight (stage 0)")
    for name, schedule, v in [("GPipe", gpipe, 1), ("1F1B", one_f_one_b, 1),
                              ("interleaved", interleaved, 2), ("interleaved", interleaved, 4)]:
        total, idle, peak = simulate(schedule, v)
        print(f"{name:12s} {v:4d} {total:6.2f} {idle:11.4f} {(total - ideal) / ideal:13.4f}"
              f" {peak:12.2f}")
        assert abs((total - ideal) / ideal - (P - 1) / (v * M)) < 1e-12
        if v == 1:
            assert abs(idle - (P - 1) / (M + P - 1)) < 1e-12  # 3/11 for p = 4, m = 8
            assert peak == (M if schedule is gpipe else P)
        else:  # interleaved warm-up stores a little more: p (1 + (p-1)/(pv))
            assert abs(peak - P * (1 + (P - 1) / (P * v))) < 1e-12
    print(f"formulas: (p-1)/(m+p-1) = {(P - 1) / (M + P - 1):.4f}, (p-1)/m = {(P - 1) / M:.4f},"
          f" (p-1)/(vm) = {(P - 1) / (2 * M):.4f} for v = 2")


if __name__ == "__main__":
    main()
