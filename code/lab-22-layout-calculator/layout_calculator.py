"""Lab 22 - Layout calculator: which (TP, PP, DP) layouts train a 70B model on 8 x 8 H100s."""
# lab:goal Enumerate (TP, PP, DP) layouts for a 70B model on 64 GPUs and keep those that fit memory and topology.
#
# lab:mental-model
# - TP x PP x DP = number of GPUs; TP and PP split the model, DP replicates what they produce.
# - TP and PP divide the weights and optimizer state; ZeRO-1 also divides the optimizer state by DP.
# - With 1F1B, stage 0 holds activations for all $L$ layers' worth of one micro-batch, so only TP (with SP) shrinks them.
# - Global batch = micro-batch x accumulation steps x DP, and the accumulation steps are the pipeline's $m$.
#
# lab:checkpoints
# - TP = 16 is rejected although its memory fits.
#   answer: A node has 8 GPUs; TP = 16 would put two all-reduces per layer and pass on the inter-node network.
# - TP = 1 fails memory at every PP.
#   answer: Activations of $L \cdot 34\,sbh / t$ bytes are 91.3 GB at t = 1 whatever PP is, more than the whole budget.
# - PP costs little here.
#   answer: For TP = 8, PP = 4, DP = 2 the global batch of 1024 sequences gives m = 512 micro-batches, so the bubble $(p-1)/m$ is 3/512, about 0.6% of the ideal step time.
#
# lab:traps
# - "TP across nodes is fine": TP communication is blocking and per layer, so it stays inside NVLink.
# - "PP shrinks activation memory": under 1F1B the first stage keeps $p$ micro-batches of $L/p$ layers, still $L$ layers' worth.
# - The memory model is an estimate (GPT-style activation count, no embeddings, bf16); measure before committing.
#
# lab:interview
# The state to place is 69B parameters with 16 bytes each of weights, gradients and Adam state,
# plus activations of shape (sequence, micro-batch, hidden) per layer. TP splits every weight
# matrix and, with sequence parallelism, the activations; PP splits the 80 layers but, under 1F1B,
# not the activation memory of the first stage; DP replicates the rest and, with ZeRO-1, shards
# only the optimizer state. The calculator enumerates TP x PP x DP = 64, rejects TP beyond one
# 8-GPU node or not dividing the 64 heads, and PP not dividing 80 layers, and checks memory
# against 72 GB. The trade-off is that TP costs blocking bandwidth on every layer, PP costs a
# bubble of (p-1)/m and needs many micro-batches, and DP costs a gradient all-reduce per step,
# so the usual choice is TP up to the node size, PP just large enough to fit, and DP for the rest.

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
# (3) Korthikanti et al.'s $34\,sbh$ bytes per layer with selective recompute, divided by TP under sequence parallelism.
# (4) Topology first: no amount of free memory makes inter-node TP fast.
# (5) Accumulation steps = micro-batches per pipeline flush, fixed by the global batch.
#
# lab:explain 40-48 The memory model
# State is 16 bytes per parameter. The 4 bytes of bf16 weights and gradients are split only by the
# model-parallel degree TP x PP; the 12 bytes of fp32 optimizer state are split by every GPU.
# Activations are counted for all L layers of one micro-batch, which is what stage 0 holds under 1F1B.
#
# lab:explain 51-62 Constraints, cheapest first
# The checks are ordered from topology (a node has 8 GPUs), through shapes (heads and layers must
# divide evenly) and batch arithmetic, to memory.
#
# lab:explain 65-67 The price of PP
# At a fixed global batch the number of micro-batches falls as DP grows, so a deep pipeline with
# many data-parallel replicas pays a larger bubble.


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
    best = min(feasible)
    print(f"{len(feasible)} feasible; smallest bubble: TP={best[1]} PP={best[2]} DP={best[3]}")
    for _, tp, pp, dp in feasible:
        assert tp * pp * dp == GPUS and tp <= PER_NODE and HEADS % tp == 0
        assert MICRO * (GLOBAL // (MICRO * dp)) * dp == GLOBAL  # micro x accumulation x DP
    assert check(16, 1, 4, psi) == "TP crosses nodes"


if __name__ == "__main__":
    main()
