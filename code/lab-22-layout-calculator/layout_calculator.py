"""Lab 22 - Layout calculator: which (TP, PP, DP) layouts train a 70B model on 8 x 8 H100s."""
# lab:goal Enumerate (TP, PP, DP) layouts for a 70B model on 64 GPUs and keep those that fit memory and topology.
#
# lab:mental-model
# - A layout splits the GPUs as $t \cdot p \cdot d$: TP degree $t$ and PP degree $p$ split the
#   model, and data parallelism (DP, degree $d$) runs copies of it on different data.
# - The state is 16 bytes per parameter ($\Psi$ parameters): 4 of bf16 weights and gradients, 12 of
#   fp32 master weights and Adam moments. TP and PP divide all of it; ZeRO-1 also divides the 12
#   by $d$, so DP syncs with a reduce-scatter of gradients and an all-gather of updated weights.
# - TP must divide the 64 query heads and the 8 key/value (KV) heads they share in groups of 8
#   (grouped-query attention), and stay inside an 8-GPU node.
# - Activations take $34\,sbh/t$ bytes per layer ($s$ tokens per sequence, $b$ sequences per
#   micro-batch, hidden size $h$) with sequence parallelism and selective recompute, which
#   stores no attention scores and recomputes them in backward.
# - Under 1F1B stage 0 holds $p$ micro-batches of $L/p$ layers, all $L$ layers' worth: only TP shrinks activations.
# - Global batch = micro-batch x accumulation steps x $d$, and the accumulation steps are the pipeline's $m$.
#
# lab:checkpoints
# - The TP = 16 rows need only 22.9-35.9 GB. Why are they rejected?
#   answer: A node has 8 GPUs, so TP = 16 would run its blocking all-reduces, two per layer per
#   pass, over the network; 16 also does not divide the 8 KV heads.
#   see: output " 16   1   4       30.2      5.7       35.9   0.0000   TP crosses nodes"
# - Why does TP = 1 fail even at PP = 16, where the state is down to 30.2 GB?
#   answer: Activations: $L \cdot 34\,sbh/t$ = 91.3 GB at $t$ = 1 whatever PP is,
#   more than the whole 72 GB budget.
#   see: output "  1  16   4       30.2     91.3"
#   predict: number 5, within 10%
# - For TP = 8, PP = 4, DP = 2, how many micro-batches does a step have, and what bubble follows?
#   answer: 1024 / (1 x 2) = 512 micro-batches per pipeline, so the bubble $(p-1)/m$ is 3/512,
#   about 0.6% of the ideal step time.
#   see: output "  8   4   2       21.6     11.4       33.0   0.0059   ok"
# - How much state does the whole cluster hold for TP = 8, PP = 1, DP = 8, and why not $16\Psi$ = 1.1 TB?
#   answer: 3.03 TB: every one of the 8 replicas keeps its own bf16 weights and gradients
#   ($4\Psi$ each); only the 12 bytes of optimizer state per parameter are stored once.
#   see: output "cluster-wide state for TP=8 PP=1 DP=8: 3.03 TB"
# lab:traps
# - TP across nodes is fine if the memory fits.
#   why: Every layer waits for TP's all-reduces before it can go on, so their time adds straight
#   to the step; NVLink inside a node has roughly ten times the bandwidth of a node's network link.
# - PP shrinks activation memory like it shrinks the weights.
#   why: Under 1F1B stage 0 keeps $p$ micro-batches of $L/p$ layers, still $L$ layers' worth: the
#   act column reads 91.3 GB for TP = 1 at every PP (lines 147-151 count it that way).
# - With ZeRO-1 each GPU holds $16\Psi/(t\,p\,d)$ bytes of state.
#   why: That is ZeRO-3. ZeRO-1 shards only the 12 bytes of optimizer state over DP; the 4 bytes
#   of bf16 weights and gradients divide only by TP x PP (line 94), 47.4 GB at TP = 8, DP = 8.
# - Doubling DP halves the memory each GPU needs.
#   why: Under ZeRO-1 only the 12 bytes of optimizer state per parameter divide by DP; the 4 bytes of bf16
#   weights and gradients divide by TP x PP only, and the activations per micro-batch do not shrink at all.
#
# lab:interview
# The state to place is 69B parameters at 16 bytes each, plus activations per layer. TP splits
# every weight matrix and, with sequence parallelism, the activations; PP splits the 80 layers
# but not stage 0's activations; DP copies the rest, with ZeRO-1 sharding the optimizer state.
#
# The calculator enumerates $t \cdot p \cdot d = 64$, rejects TP beyond one 8-GPU node or not
# dividing the heads, PP not dividing 80 layers, and anything above 72 GB per GPU.
#
# TP costs blocking bandwidth every layer, PP a bubble of $(p-1)/m$, DP a reduce-scatter plus
# all-gather per step. Hence TP up to the node size, PP just deep enough, DP for the rest.
#
# lab:intuition
# - Put the most frequent traffic on the fastest wires: TP (every layer) inside the NVLink node,
#   PP (one activation per micro-batch per stage boundary) and DP (once per step) across nodes.
# - Memory per GPU has two dials: state divides by $t \cdot p$ (the optimizer part also by $d$),
#   activations only by $t$. When activations overflow, a deeper pipeline does not help.
# - The global batch is a budget of micro-batches: each DP replica takes its share, and what is
#   left per replica is the pipeline's $m$. Large DP with deep PP starves the pipeline.

# lab:figure layouts
# kind: heatmap
# title: More GPUs open more layouts, but only up to 11: activations rule out TP = 1, the node TP = 16
# caption: Each cell is one (TP, PP) layout of the 70B model, with DP = GPUs / (TP x PP), labelled with
#   its GB per GPU; a blank cell needs more GPUs than the cluster has. 16 GPUs fit nothing, 32 fit 5
#   layouts, 64 fit 9, and from 128 on the same 11 fit: a larger DP only shrinks the optimizer share.
# x: pp "PP degree" d
# y: tp "TP degree" d
# color: verdict "verdict"
# label: gb "GB per GPU" .0f
# control: gpus "GPUs" d
# default: 64
# says: With {{gpus}} GPUs, {{rows:verdict|verdict=ok}} layouts fit in memory.
L, H, HEADS, KV, FFN, VOCAB = 80, 8192, 64, 8, 28672, 32000  # Llama-2-70B shapes
GPUS, PER_NODE, HBM, USABLE = 64, 8, 80e9, 72e9
SEQ, MICRO, GLOBAL = 4096, 1, 1024  # sequences per micro-batch and per optimizer step


# lab:begin layout
def n_params():
    attn = 2 * H * H + 2 * H * (KV * H // HEADS)  # (1)
    return L * (attn + 3 * H * FFN) + 2 * VOCAB * H


def memory_per_gpu(tp, pp, dp, psi):
    state = psi / (tp * pp) * (4 + 12 / dp)  # (2)
    act = L * 34 * SEQ * MICRO * H / tp  # (3)
    return state, act


def check(tp, pp, dp, psi):
    if tp > PER_NODE:
        return "TP crosses nodes"  # (4)
    if HEADS % tp or KV % tp:
        return "TP does not divide heads"
    if L % pp:
        return "PP does not divide layers"
    if GLOBAL % (MICRO * dp):
        return "batch does not split"
    if sum(memory_per_gpu(tp, pp, dp, psi)) > USABLE:
        return "out of memory"
    return "ok"


def bubble(pp, dp):
    m = GLOBAL // (MICRO * dp)  # (5)
    return (pp - 1) / m
# lab:end layout
# lab:notes layout
# (1) Grouped-query attention: K and V have 8 heads of 128, so they are 8x smaller than Q and O.
# (2) bf16 weights and gradients (4 B) split by TP x PP; fp32 master, m and v (12 B) also split by DP (ZeRO-1).
# (3) Korthikanti et al.: $34\,sbh$ bytes per layer of 16-bit activations once selective recompute
#   drops the attention scores and rebuilds them in backward; sequence parallelism divides it by $t$.
# (4) Topology first: no amount of free memory makes inter-node TP fast.
# (5) Accumulation steps = micro-batches per pipeline flush, fixed by the global batch.
#
# lab:explain 88-96 The memory model
# State is 16 bytes per parameter. The 4 bytes of bf16 weights and gradients are split only by the
# model-parallel degree TP x PP; the 12 bytes of fp32 optimizer state are split by every GPU.
# For $t$ = 1 the activations are 80 x 34 x 4096 x 8192 bytes = 91.3 GB, more than the budget.
# Activations are counted for all L layers of one micro-batch, which is what stage 0 holds under 1F1B.
#
# lab:explain 99-110 Constraints, cheapest first
# The checks are ordered from topology (a node has 8 GPUs), through shapes (heads and layers must
# divide evenly) and batch arithmetic, to memory.
#
# lab:explain 113-115 The price of PP
# At a fixed global batch the number of micro-batches falls as DP grows, so a deep pipeline with
# many data-parallel replicas pays a larger bubble.

# lab:begin invariants
def cluster_state(dp, psi):
    """State summed over all GPUs, counted by what is replicated where."""
    weights_and_grads = 4 * psi * dp  # (1)
    optimizer = 12 * psi  # (2)
    return weights_and_grads + optimizer


def stage0_activations(tp, pp, dp):
    """What stage 0 stores under 1F1B, counted micro-batch by micro-batch."""
    in_flight = min(pp, GLOBAL // (MICRO * dp))  # (3)
    per_layer = 34 * SEQ * MICRO * H / tp
    return in_flight * (L // pp) * per_layer  # (4)
# lab:end invariants
# lab:notes invariants
# (1) Each of the $d$ replicas keeps one full copy of the bf16 weights and gradients, spread
#   over its $t \cdot p$ GPUs.
# (2) ZeRO-1: one copy of the fp32 master weights and Adam moments for the whole cluster.
# (3) Lab 20: under 1F1B the first stage has at most $p$ micro-batches in flight.
# (4) $p$ micro-batches times $L/p$ layers: the pipeline depth cancels.
#
# lab:explain 140-151 Counting the same bytes another way
# These two functions do not reuse the per-GPU formula: one adds up what the whole cluster
# stores, the other follows stage 0 through the pipeline. Every layout must agree with both,
# which catches a state sharded like ZeRO-3 or activations divided by PP.


def figures():
    """layouts: every (TP, PP) on 16 ... 512 GPUs, judged by `check` and sized by `memory_per_gpu`."""
    psi, rows = n_params(), []
    for gpus in (16, 32, 64, 128, 256, 512):
        for tp in (1, 2, 4, 8, 16):
            for pp in (1, 2, 4, 8, 16):
                if gpus % (tp * pp) == 0:  # as in main(): DP takes the remaining GPUs
                    dp = gpus // (tp * pp)
                    gb = sum(memory_per_gpu(tp, pp, dp, psi)) / 1e9
                    rows.append((gpus, tp, pp, check(tp, pp, dp, psi), gb))
    return {"layouts": dict(zip(("gpus", "tp", "pp", "verdict", "gb"), map(list, zip(*rows))))}


def main():
    psi = n_params()
    print(f"model {psi / 1e9:.2f}B params, {GPUS} GPUs ({PER_NODE} per node), budget {USABLE / 1e9:.0f} GB")
    print(" TP  PP  DP   state GB   act GB   total GB   bubble   verdict")
    feasible = []
    for tp in (1, 2, 4, 8, 16):
        for pp in (1, 2, 4, 8, 16):
            if GPUS % (tp * pp):
                continue
            dp = GPUS // (tp * pp)
            state, act = memory_per_gpu(tp, pp, dp, psi)
            verdict = check(tp, pp, dp, psi)
            print(f"{tp:3d} {pp:3d} {dp:3d} {state / 1e9:10.1f} {act / 1e9:8.1f}"
                  f" {(state + act) / 1e9:10.1f} {bubble(pp, dp):8.4f}   {verdict}")
            if verdict == "ok":
                feasible.append((bubble(pp, dp), tp, pp, dp))
            assert abs(GPUS * state - cluster_state(dp, psi)) < 1e-9 * psi
            assert abs(act - stage0_activations(tp, pp, dp)) < 1e-9 * act
    best = min(feasible)
    print(f"{len(feasible)} feasible; smallest bubble: TP={best[1]} PP={best[2]} DP={best[3]}")
    print(f"cluster-wide state for TP=8 PP=1 DP=8: {cluster_state(8, psi) / 1e12:.2f} TB"
          f" (16 bytes x params = {16 * psi / 1e12:.2f} TB)")
    assert check(16, 1, 4, psi) == "TP crosses nodes"


if __name__ == "__main__":
    main()
