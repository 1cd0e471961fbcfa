"""Lab 17 - ZeRO / FSDP: memory formulas for 7.5B parameters on 64 GPUs, then a 4-rank fully
sharded run (dim-0 shards, all-gather before use, free after, reduce-scatter) checked against DDP."""
# lab:goal Shard the training state across data-parallel ranks and still train exactly like DDP.
#
# lab:mental-model
# - Mixed-precision Adam keeps 16 B/param: 2 (bf16 weights) + 2 (grads) + 12 (fp32 master, m, v).
# - ZeRO (Zero Redundancy Optimizer) stage 1 shards the 12, stage 2 also the gradients, stage 3 /
#   FSDP (Fully Sharded Data Parallel) also the weights, each across the N data-parallel ranks.
# - FSDP is still data parallelism: every rank runs the whole model on its own shard of the batch.
# - A full layer exists only between its all-gather and the matching free.
#
# lab:checkpoints
# - How many GB per GPU do 7.5B parameters on 64 GPUs need under DDP and each ZeRO stage?
#   answer: 120, 31.4, 16.6 and 1.9 GB: $16\Psi$, $4\Psi + 12\Psi/N$, $2\Psi + 14\Psi/N$ and
#   $16\Psi/N$ with $\Psi = 7.5 \cdot 10^9$ and N = 64 (ZeRO paper, Figure 1).
#   see: output "ZeRO-3     1.9 GB"
#   predict: number 2, within 10%
# - How many all-gathers and reduce-scatters does one FSDP step run per layer, and what traffic
#   ratio to DDP follows?
#   answer: Two all-gathers (forward, line 116, and backward, line 122) and one reduce-scatter
#   (line 129): 3 x (N-1)/N per parameter against 2 x (N-1)/N for an all-reduce, a ratio of 1.50.
#   see: output "per-rank traffic"
# - Each rank runs Adam on a (2, 8) slice only. Why does the result still match DDP to 1e-12?
#   answer: Adam is elementwise (lines 93-95): an element's update depends only on the same element
#   of p, g, m and v, so updating four slices separately is the same arithmetic as updating the
#   whole (8, 8) tensor.
#   see: output "max |w_fsdp - w_ddp| < 1e-12: True"
# - What shape does `w` have on line 116, and how much of it does a rank store between layers?
#   answer: (8, 8), the full weight rebuilt from four (2, 8) shards; between layers a rank keeps
#   only its own (2, 8) shard, a quarter.
#   see: line 116
# lab:traps
# - "ZeRO-3 = tensor parallelism."
#   why: Each rank all-gathers the full weight (line 116) and computes the full layer on its own
#   micro-batch; tensor parallelism keeps weights split during the matmul and exchanges
#   activations instead.
# - "ZeRO shards activations."
#   why: ZeRO-DP, the stages 1-3 of lines 86-89, partitions model state only; under pure data
#   parallelism each rank keeps the activations of its own micro-batch (lab 12), which often
#   dominate. ZeRO-R (paper section 6.1) partitions activation checkpoints across model-parallel
#   ranks, which split each layer between them and would otherwise each hold a copy, and can
#   offload them to CPU memory.
#
# lab:interview
# Mixed-precision Adam keeps 16 bytes per parameter, and DDP replicates all of it on every rank.
# ZeRO partitions it across the N data-parallel ranks: stage 1 the fp32 optimizer state, stage 2
# also the gradients, stage 3 (FSDP) also the weights, $120 \to 1.9$ GB per GPU for 7.5B
# parameters on 64 GPUs.
#
# FSDP2 shards every parameter along dim 0, all-gathers a layer before use, frees it after, and
# reduce-scatters the gradients; Adam is elementwise, so the result equals DDP.
#
# The trade-off is communication: $3\Psi$ per step for $\Psi$ parameters instead of $2\Psi$ (1.5x),
# overlapped with compute by gathering the next layer while the current one runs. With few tokens
# per GPU a layer's compute is shorter than its gathers, and FSDP becomes communication-bound.
# Under gradient accumulation ZeRO-3 gathers every layer again for each micro-batch, unless it keeps
# them gathered at a memory cost. HSDP shards inside a node and replicates across nodes, so the
# all-gathers stay on NVLink and only a gradient all-reduce crosses the network.
#
# lab:intuition
# - A library that lends out books: each rank owns a shelf (its shard) and the full book exists on
#   a desk only while a layer is being read, then goes back.
# - The memory formulas divide one more term by N at each stage; at large N stage 1 tends to 4 B
#   per parameter, stage 2 to 2 B, stage 3 to nothing, so only stage 3 lets memory keep falling.
# - Forward gathers, backward gathers again and reduce-scatters: three half all-reduces, hence
#   1.5x a DDP step's traffic.

# lab:figure memory
# kind: bar
# title: Each ZeRO stage divides one more part of the model state by N, and only stage 3 keeps falling
# caption: 7.5B parameters with mixed-precision Adam: at 64 GPUs 120, 31.4, 16.6 and 1.9 GB per GPU. As N
#   grows, ZeRO-1 levels off at the 30 GB of bf16 weights and gradients and ZeRO-2 at the 15 GB of weights,
#   while ZeRO-3 divides all 120 GB by N; DDP stays at 120 GB whatever N.
# x: stage "data parallelism"
# y: gb "GB per GPU" .1f
# color: part "model state"
# control: gpus "data-parallel GPUs N" d
# default: 64
# says: At N = {{gpus}} each GPU holds {{sum:gb|stage=DDP}} GB under DDP, {{sum:gb|stage=ZeRO-1}} under ZeRO-1, {{sum:gb|stage=ZeRO-2}} under ZeRO-2 and {{sum:gb|stage=ZeRO-3}} under ZeRO-3.
import numpy as np

N, LAYERS, WIDTH, BATCH, PSI, NG = 4, 3, 8, 32, 7.5e9, 64

# lab:begin memory
def zero_memory(psi, n, k=12):
    return {"DDP": (2 + 2 + k) * psi,  # (1)
            "ZeRO-1": (2 + 2) * psi + k * psi / n,
            "ZeRO-2": 2 * psi + (2 + k) * psi / n,
            "ZeRO-3": (2 + 2 + k) * psi / n}  # (2)


def adam(p, g, s, t, lr=1e-2, b1=0.9, b2=0.999, eps=1e-8):
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * g * g
    return p - lr * (s["m"] / (1 - b1**t)) / (np.sqrt(s["v"] / (1 - b2**t)) + eps)  # (3)
# lab:end memory
# lab:notes memory
# (1) Bytes per GPU with K = 12 bytes of fp32 optimizer state per parameter (ZeRO paper, Fig. 1).
# (2) Stage 3 divides all 16 bytes by N; activations are not part of any of these numbers.
# (3) Adam is elementwise: a slice of the result depends only on the same slice of p, g, m, v.

# lab:begin fsdp
def all_gather(parts, comm):
    comm["sent"] += sum(p.size for p in parts) * (N - 1) / N  # (1)
    return np.concatenate(parts)


def reduce_scatter_mean(per_rank, comm):
    comm["sent"] += per_rank[0].size * (N - 1) / N
    return np.split(sum(per_rank) / N, N)  # (2)


def fsdp_step(shards, states, batches, t, comm):
    acts = [[x] for x, _ in batches]
    for i in range(LAYERS):  # forward
        w = all_gather([shards[r][i] for r in range(N)], comm)  # (3)
        for a in acts:
            a.append(np.tanh(a[-1] @ w))
        del w  # (4)
    d = [2 * (a[-1] - y) / len(y) for a, (_, y) in zip(acts, batches)]
    for i in reversed(range(LAYERS)):  # backward
        w = all_gather([shards[r][i] for r in range(N)], comm)  # (5)
        grads = []
        for r in range(N):
            d[r] = d[r] * (1 - acts[r][i + 1] ** 2)
            grads.append(acts[r][i].T @ d[r])
            d[r] = d[r] @ w.T
        del w
        for r, g in enumerate(reduce_scatter_mean(grads, comm)):
            shards[r][i] = adam(shards[r][i], g, states[r][i], t)  # (6)
# lab:end fsdp
# lab:notes fsdp
# (1) A ring all-gather: each rank sends (N-1)/N of the full tensor (lab 15).
# (2) Averaging then splitting along dim 0 is what reduce-scatter delivers: rank r keeps rows r*WIDTH/N to (r+1)*WIDTH/N - 1.
# (3) Concatenating the dim-0 shards of all ranks rebuilds the full (WIDTH, WIDTH) weight.
# (4) Unsharded weights are freed after use; between layers a rank holds only its 1/N shards.
# (5) The weight was freed after forward, so backward gathers it again: the second all-gather.
# (6) Each rank updates its own shard with its own slice of m and v: optimizer state is 1/N per rank.
#
# lab:explain 85-95 The memory formulas and an elementwise optimizer
# With $\Psi$ parameters and K bytes of optimizer state each, DDP needs $(2+2+K)\Psi$ bytes per
# GPU; each stage divides one more term by N. `adam` touches every element independently, which
# is what lets a rank update its shard without seeing the rest of the tensor.
#
# lab:explain 103-119 Gather, compute, free
# Layer by layer, the full weight is rebuilt, applied to every rank's own micro-batch, and dropped.
# The inner loop over ranks stands for N devices working at the same time on different data.
#
# lab:explain 120-130 Backward: gather again, reduce-scatter, update the shard
# Backward needs each weight once more, so it is gathered a second time. The gradient is then
# reduce-scattered and each rank runs Adam on one quarter of every tensor; `comm` ends at
# $3(N-1)/N$ elements per parameter, against $2(N-1)/N$ for DDP's all-reduce. The backward is
# written by hand: `1 - acts[r][i + 1] ** 2` is the derivative of tanh, $1 - \tanh^2$, read from
# the saved output instead of recomputing it.


def grads_full(ws, x, y):
    acts = [x]
    for w in ws:
        acts.append(np.tanh(acts[-1] @ w))
    d, gs = 2 * (acts[-1] - y) / len(y), [None] * len(ws)
    for i in reversed(range(len(ws))):
        d = d * (1 - acts[i + 1] ** 2)
        gs[i], d = acts[i].T @ d, d @ ws[i].T
    return gs


def figures():
    """The data of the figure declared above, from the lab's own memory formulas."""
    # memory: bytes per GPU of each setup, split into the K = 12 optimizer bytes and the rest
    rows = []
    for n in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
        total, no_optimizer = zero_memory(PSI, n), zero_memory(PSI, n, k=0)
        for stage in total:
            rows.append((n, stage, no_optimizer[stage] / 1e9, "bf16 weights and gradients, 4 B"))
            rows.append((n, stage, (total[stage] - no_optimizer[stage]) / 1e9, "fp32 master, m and v, 12 B"))
    return {"memory": dict(zip(("gpus", "stage", "gb", "part"), map(list, zip(*rows))))}


def main():
    mem = zero_memory(PSI, NG)
    for name, b in mem.items():
        print(f"{name:7s} {b / 1e9:6.1f} GB per GPU   (7.5B params, {NG} GPUs, Adam K = 12)")
    assert [round(v / 1e9, 1) for v in mem.values()] == [120.0, 31.4, 16.6, 1.9]

    rng = np.random.default_rng(0)
    w0 = [rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH) for _ in range(LAYERS)]
    data = [(rng.standard_normal((BATCH, WIDTH)), rng.uniform(-0.5, 0.5, (BATCH, WIDTH)))
            for _ in range(N)]
    ddp, ddp_state = [w.copy() for w in w0], [{"m": 0.0 * w, "v": 0.0 * w} for w in w0]
    shards = [[np.split(w, N)[r].copy() for w in w0] for r in range(N)]
    states = [[{"m": 0.0 * s, "v": 0.0 * s} for s in shards[r]] for r in range(N)]
    comm = {"sent": 0.0}
    for t in range(1, 21):
        g = [sum(gs) / N for gs in zip(*[grads_full(ddp, x, y) for x, y in data])]
        ddp = [adam(w, gi, s, t) for w, gi, s in zip(ddp, g, ddp_state)]
        fsdp_step(shards, states, data, t, comm)
    gathered = [np.concatenate([shards[r][i] for r in range(N)]) for i in range(LAYERS)]
    err = max(np.abs(a - b).max() for a, b in zip(gathered, ddp))
    print(f"\n20 Adam steps, {N} ranks, each storing {shards[0][0].shape} of every {w0[0].shape} "
          f"weight: max |w_fsdp - w_ddp| < 1e-12: {err < 1e-12}")
    assert err < 1e-12

    sent = comm["sent"] / (LAYERS * WIDTH * WIDTH * 20)  # per rank, per parameter and step
    print(f"per-rank traffic: FSDP {sent:.3f} Psi per step vs DDP all-reduce "
          f"{2 * (N - 1) / N:.3f} Psi -> ratio {sent / (2 * (N - 1) / N):.2f}")
    assert abs(sent / (2 * (N - 1) / N) - 1.5) < 1e-12


if __name__ == "__main__":
    main()
