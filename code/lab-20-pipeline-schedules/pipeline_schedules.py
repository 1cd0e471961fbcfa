"""Lab 20 - Pipeline schedules: GPipe, 1F1B and interleaved 1F1B on p = 4 stages, m = 8 micro-batches."""
# lab:goal Measure the pipeline bubble and the in-flight activations of three schedules from simulated timelines.
#
# lab:mental-model
# - Pipeline parallelism gives each of $p$ stages ($d = 0 \ldots p-1$) a contiguous block of layers
#   and cuts the batch into $m$ micro-batches; each visits the stages in order, then its gradient
#   comes back. Here a forward takes 1 time unit per stage and a backward 2.
# - The bubble is the $p-1$ slots of fill and drain: $(p-1)/m$ of the ideal time, $(p-1)/(m+p-1)$ of the total.
# - GPipe runs all forwards, then all backwards. 1F1B (one forward, one backward) starts backwards
#   early, capping the micro-batches in flight (forward done, backward not, activations stored) at
#   $p$; neither changes the bubble.
# - Interleaving gives each device $v$ smaller chunks of layers and divides the bubble by $v$.
#
# lab:checkpoints
# - How long do GPipe and 1F1B take for 24 units of work per device, and what share of that is idle?
#   answer: Both finish at 33 units: 9 idle units, 9/33 = 3/11 of the total, or $(p-1)/m$ = 3/8 of the ideal 24.
#   see: output "1F1B            1  33.00      0.2727        0.3750"
#   predict: number 3, within 0%
# - How many forwards does stage 0 run before its first backward under 1F1B, and what peak follows?
#   answer: $p-d-1$ = 3 warm-up forwards (line 102), then the steady state opens with a 4th (line 105):
#   $p-d$ = 4 = $p$ micro-batches in flight, against all 8 under GPipe.
#   see: lines 102-105
# - With $v$ = 2, how many chunk forwards does device 0 run before its first backward, and what peak is that?
#   answer: Warm-up $2(p-1) + (v-1)p$ = 6 + 4 = 10 (line 114), plus one steady-state forward: 11 chunks
#   of half a stage, 5.5 micro-batches, which is $p + (p-1)/v$.
#   see: output "interleaved     2  28.50      0.1579        0.1875         5.50"
# - Messages cost nothing in this simulator. What would a warm-up of $(p-d-1) + (v-1)p$ give at $v$ = 2?
#   answer: The same 28.50 units with a peak of (3 + 4 + 1)/2 = 4, exactly $p$. The shorter warm-up is enough only in a simulator like this one, where messages are free and no stage's send is tied to its neighbour's receive;
#   on real hardware, where a send and its receive happen together and take time, Megatron uses the longer warm-up, whose price in memory this simulator shows.
#   see: line 114
# lab:traps
# - $(p-1)/m$ is the fraction of the time the devices sit idle.
#   why: It is measured against the ideal time (0.3750 in the bubble/ideal column); the idle share
#   of the total is $(p-1)/(m+p-1)$ = 3/11 (0.2727 in the idle/total column).
# - 1F1B removes the bubble.
#   why: It reorders the same work under the same dependencies: GPipe and 1F1B both end at 33.00.
#   It only caps the activations in flight, 4 instead of 8.
# - Raising $m$ shrinks the bubble for free.
#   why: At a fixed global batch more micro-batches means smaller ones, and small matmuls use the
#   GPU less well; more micro-batches at the same size means a larger global batch.
# - Interleaving only helps.
#   why: It sends $v$ times as many point-to-point messages, and its longer warm-up raises stage 0's
#   peak from 4 to 5.5 micro-batches at $v$ = 2.
#
# lab:interview
# Pipeline parallelism sends one micro-batch's activations, shape (micro-batch, sequence, hidden),
# from stage to stage and its gradient back. With $p = 4$ and $m = 8$, GPipe and 1F1B both take
# 33 units for 24 of work: a bubble of $(p-1)/m = 3/8$ of the ideal time, or 3/11 of the total.
#
# GPipe runs every forward first and stores 8 micro-batches; 1F1B starts each backward as early as
# it can, so stage 0 never holds more than $p = 4$, with the same bubble.
#
# Interleaving $v$ chunks per device cuts the bubble to $(p-1)/(vm)$ for $v$ times the messages
# and a higher peak. The levers: raise $m$ (larger batch or smaller micro-batches) or raise $v$.
#
# lab:intuition
# - An assembly line of $p$ stations: the first item reaches the last station only after $p-1$
#   steps, and on the way back the first station waits as long for the first gradient. More items
#   ($m$) spread that fixed start-up cost thinner.
# - 1F1B is "finish old work before starting new": after the warm-up, every new forward is paired
#   with a backward that frees one micro-batch of activations, so the count in flight stays at $p$.
# - Interleaving makes each hop $1/v$ of a stage long, so filling and draining the line takes
#   $1/v$ as long, but there are $v$ times as many hops, each one a message.

# lab:figure timeline
# kind: timeline
# title: The fill and drain gap stays 9 units whatever m is, so more micro-batches shrink its share
# caption: 1F1B on p = 4 stages: each stage waits through 3 forwards and 3 backwards of fill and drain.
#   At m = 1 that idles 75% of the 12-unit step; at m = 8, 9 of 33 units (27.3%); at m = 12, 9 of 45
#   (20%).
# x: start "time (units; a forward takes 1, a backward 2)"
# x2: end "end"
# y: stage "stage d" d
# color: pass "pass"
# label: mb "micro-batch" d
# control: m "micro-batches m" d
# default: 8
# says: With m = {{m}} the step ends at {{end|end=max}} units; 9 of them are the fill and drain every stage waits through.
# lab:figure schedules
# kind: timeline
# title: 1F1B reorders GPipe's work without shortening it; interleaving shortens the fill and drain
# caption: With p = 4 and m = 8, GPipe and 1F1B both end at 33 units, but 1F1B starts backwards early, so stage 0
#   holds 4 micro-batches instead of 8. Interleaving v = 2 chunks of half a stage each ends at 28.5 units (the ideal
#   is 24), for twice the messages: 3a is micro-batch 3 in a device's first chunk, 3b in its second.
# x: start "time (units; a full-stage forward takes 1, a backward 2)"
# x2: end "end"
# y: stage "device d" d
# color: pass "pass"
# label: mb "micro-batch (a, b: its first or second chunk)"
# control: schedule "schedule"
# default: 1F1B
# says: The {{schedule}} schedule ends the step at {{end|end=max}} units.
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
    warmup = min((P - d - 1) * 2 + (v - 1) * P, n)  # (5)
    ops = [fwd(k) for k in range(warmup)]
    for k in range(n - warmup):
        ops += [fwd(warmup + k), bwd(k)]
    return ops + [bwd(k) for k in range(n - warmup, n)]
# lab:end schedules
# lab:notes schedules
# (1) All forwards, then all backwards: every micro-batch's activations are alive at the turn.
# (2) Stage d runs $p-d-1$ warm-up forwards; the last stage ($d = p-1$) has none.
# (3) Steady state opens with a forward, so $p-d$ forwards precede the first backward; from then
#   on each forward is matched by a backward and stored activations stop growing.
# (4) Chunk c of device d is virtual stage $cp + d$; micro-batches pass each chunk in groups of $p$.
# (5) Megatron's warm-up, in chunk forwards: $(v-1)p$ takes the first group of $p$ micro-batches
#   through every chunk but the last, plus one per hop of micro-batch 0's trip to the last device
#   and back, $2(p-d-1)$ hops.
#
# lab:explain 97-106 Two orders for the same work
# Both lists hold 8 forwards and 8 backwards per stage. GPipe defers every backward; 1F1B
# starts each stage's backward as soon as the pipeline can deliver a gradient, which bounds how
# many activations wait on stage d to $p-d$: at most $p$, on stage 0.
#
# lab:explain 109-118 Interleaving
# Each device owns v chunks of layers, each taking $1/v$ of the time. Virtual stage $cp + d$
# lives on device d, so a micro-batch loops through the devices v times, and the fill and drain
# shrink to $(p-1)/v$ full-stage slots. The longer warm-up, $2(p-d-1) + (v-1)p$ chunk forwards
# plus the first steady-state one, leaves stage 0 holding $p + (p-1)/v$ micro-batches' worth.

# lab:begin simulate
def simulate(schedule, v=1):
    """List scheduling: each device runs its ops in order, as soon as their input exists."""
    orders = [schedule(d, v) for d in range(P)]
    end, free, nxt, live, peak = {}, [0.0] * P, [0] * P, [0] * P, [0] * P
    while any(nxt[d] < len(orders[d]) for d in range(P)):
        progress = False
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
            progress = True
        assert progress, "deadlock: every device waits for an op that never runs"  # (5)
    total = max(free)
    return total, 1 - M * (TF + TB) / total, peak[0] / v, end  # (6)
# lab:end simulate
# lab:notes simulate
# (1) A forward needs the previous virtual stage's output for the same micro-batch.
# (2) A backward needs the gradient from the next stage; the last stage needs its own forward.
# (3) Chunks are $1/v$ of a stage, so their forward and backward take $1/v$ of the time.
# (4) Forwards whose backward has not run yet: activations that must stay in memory.
# (5) A schedule whose order contradicts the dependencies would stall forever; stop instead.
# (6) Idle fraction of the total, stage 0's peak in full-stage micro-batches, and every op's end time.
#
# lab:explain 142-159 Dependencies decide the start times
# The simulator knows only the order of work on each device and the data dependencies between
# stages. Idle gaps appear on their own: early stages wait at the end for gradients, late stages
# wait at the start for activations.
#
# lab:explain 160-167 What is measured
# The bubble is whatever the devices did not spend computing. The count of live forwards is the
# activation memory the schedule needs, in units of one stage's activations per micro-batch.


RUNS = [("GPipe", gpipe, 1), ("1F1B", one_f_one_b, 1), ("interleaved", interleaved, 2),
        ("interleaved", interleaved, 4)]  # what main() compares


def timeline(schedule, v, m):
    """Every op of `simulate(schedule, v)` with m micro-batches: (stage, start, end, pass, mb)."""
    global M
    saved, M = M, m  # the schedules and the simulator read the module's M
    end = simulate(schedule, v)[3]
    M = saved
    return sorted((vs % P, stop - (TF if kind == "F" else TB) / v, stop,  # durations as in `simulate`
                   "forward" if kind == "F" else "backward", f"{mb}{'ab'[vs // P]}" if v > 1 else str(mb))
                  for (kind, mb, vs), stop in end.items())

def figures():
    """The timelines declared above: 1F1B for m = 1 ... 12, and main()'s schedules at m = 8."""
    columns = ("stage", "start", "end", "pass", "mb")
    by_m = [(m, *op) for m in (1, 2, 3, 4, 6, 8, 12) for op in timeline(one_f_one_b, 1, m)]
    by_schedule = [(name + (f" v = {v}" if v > 1 else ""), *op)
                   for name, schedule, v in RUNS[:3] for op in timeline(schedule, v, M)]  # v = 4: too thin
    return {"timeline": dict(zip(("m", *columns), map(list, zip(*by_m)))),
            "schedules": dict(zip(("schedule", *columns), map(list, zip(*by_schedule))))}


def main():
    ideal = M * (TF + TB)
    print(f"p = {P} stages, m = {M} micro-batches, ideal time {ideal:.0f} units per device")
    print("schedule        v  total  idle/total  bubble/ideal  peak in-flight (stage 0)")
    for name, schedule, v in RUNS:
        total, idle, peak, _ = simulate(schedule, v)
        print(f"{name:12s} {v:4d} {total:6.2f} {idle:11.4f} {(total - ideal) / ideal:13.4f}"
              f" {peak:12.2f}")
        assert abs((total - ideal) / ideal - (P - 1) / (v * M)) < 1e-12
        if v == 1:
            assert abs(idle - (P - 1) / (M + P - 1)) < 1e-12  # 3/11 for p = 4, m = 8
            assert peak == (M if schedule is gpipe else P)
        else:  # (2(p-1) + (v-1)p + 1) chunk forwards of 1/v stage: p + (p-1)/v
            assert abs(peak - (P + (P - 1) / v)) < 1e-12
    print(f"formulas: (p-1)/(m+p-1) = {(P - 1) / (M + P - 1):.4f}, (p-1)/m = {(P - 1) / M:.4f},"
          f" (p-1)/(vm) = {(P - 1) / (2 * M):.4f} for v = 2")


if __name__ == "__main__":
    main()
