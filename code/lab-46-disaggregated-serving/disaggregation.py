"""Lab 46 - Disaggregated prefill and decode: goodput under TTFT and TPOT targets.

A mean-value model of serving Llama-2-13B on H100s (prompts of 1,024 tokens, 256 generated):
prefill at 60% of peak, decode steps bound by reading weights and KV cache, a queue in front of
prefill, and decode slowed by the prefills that share its GPU. It finds the highest request rate
per GPU that meets both latency targets, colocated and split into prefill and decode GPUs.
"""
# lab:goal See when giving prefill and decode their own GPUs raises the requests served within latency targets, and when it does not.
#
# lab:mental-model
# - Time to first token (TTFT) is prefill plus its queue; time per output token (TPOT) is a decode step. Goodput is the highest request rate at which both meet their targets.
# - On a shared GPU every prefill pauses the decodes running beside it, so TPOT stretches by $1/(1 - \lambda D)$ for arrival rate $\lambda$ and prefill time $D$.
# - Splitting gives decode GPUs steady steps and prefill GPUs no decode work, but the split's ratio is fixed while the load is not, and the KV cache of each prompt must move between them.
# - A decode step reads the weights once for the whole batch and each sequence's cache: a bigger batch raises throughput and TPOT together.
#
# lab:checkpoints
# - Before you run it: how long does one prefill of 1,024 tokens take at 60% of the H100's 989 TFLOPS, and a decode step at batch 1?
#   answer: 44.9 ms: $2 \cdot 13.0$ B parameters x 1,024 tokens of FLOPs; and 8.05 ms, about the time to read 26.0 GB of weights at 3.35 TB/s, plus one sequence's cache.
#   see: output "prefill 1024 tokens"
#   predict: number 3, within 10%
# - At 200 ms TTFT and 12 ms TPOT, why does one prefill GPU for three decode GPUs serve more per GPU than colocation?
#   answer: The tight TPOT leaves colocated decode no room for prefill pauses; split, the decode GPUs keep steady steps and the prefill GPU stays busy: 3.67 against 3.01 requests a second per GPU.
#   see: output "200 ms / 12 ms"
# - Why does colocation win at 1 s TTFT and 40 ms TPOT?
#   answer: With loose targets a shared GPU absorbs prefill pauses easily and uses all its time, while any fixed split leaves one side idle part of the time: 6.41 against 6.21 requests a second per GPU for the best split, two prefill GPUs for five decode GPUs.
#   see: output "1000 ms / 40 ms"
# lab:traps
# - Disaggregation always wins.
#   why: It wins when TPOT is tight, because it removes prefill pauses from decode; with loose targets a colocated GPU uses its time better than a fixed split (6.41 against 6.21 at 1 s / 40 ms).
# - Goodput is requests per second per decode GPU.
#   why: The prefill GPUs cost as much as the decode GPUs: a split of $x$ prefill and $y$ decode GPUs serving $\lambda$ has goodput $\lambda/(x + y)$ per GPU (line 85).
#
# lab:interview
# Goodput is the highest request rate at which TTFT and TPOT both meet their targets: prefill's TTFT grows with its queue, $D + \lambda D^2 / (2(1 - \lambda D))$ for an M/D/1 queue, and a colocated decode's TPOT stretches by $1/(1-\lambda D)$ as prefills interrupt it.
# For Llama-2-13B on H100s with 1,024-token prompts (44.9 ms of prefill) and 256 output tokens, a 200 ms / 12 ms target gives 3.01 requests a second per GPU colocated and 3.67 with one prefill GPU for three decode GPUs.
# With loose targets, 1 s and 40 ms, colocation serves 6.41 a second per GPU against 6.21 for the best split, because a fixed split leaves one side underused; moving each prompt's 800 MiB of KV cache takes 1.86 ms over NVLink but 16.8 ms over one NIC.
# DistServe and Splitwise report the same pattern: split when TPOT is tight, and size the prefill-to-decode ratio to the load.
#
# lab:intuition
# - A kitchen where the chef who plates desserts also starts every new order: desserts wait whenever an order comes in. Two chefs keep desserts steady, but one of them idles when orders are few.
# - Tight TPOT targets favour splitting; tight TTFT targets and loose TPOT favour sharing.

import numpy as np

PARAMS = 13_015_864_320  # Llama-2-13B
PROMPT, OUTPUT = 1024, 256
PEAK, MFU, HBM_BW = 989e12, 0.6, 3.35e12  # H100 SXM dense bf16, assumed prefill efficiency, bytes/s
KV_PER_TOKEN = 40 * 40 * 128 * 2 * 2  # bytes: layers x KV heads x head size x (K, V) x bf16, 800 KiB
WEIGHTS = 2 * PARAMS
MAX_BATCH = int((80e9 - WEIGHTS) // (KV_PER_TOKEN * (PROMPT + OUTPUT)))  # sequences whose cache fits beside the weights
PREFILL = 2 * PARAMS * PROMPT / (PEAK * MFU)
NVLINK, NIC = 450e9, 50e9


# lab:begin goodput
def decode_step(batch):
    return (WEIGHTS + batch * KV_PER_TOKEN * (PROMPT + OUTPUT / 2)) / HBM_BW  # (1)


def ttft(rate):
    busy = rate * PREFILL
    return PREFILL + rate * PREFILL**2 / (2 * (1 - busy)) if busy < 1 else np.inf  # (2)


def tpot(rate, shared):
    stretch = 1 / (1 - rate * PREFILL) if shared else 1.0  # (3)
    step = decode_step(1)
    for _ in range(100):
        batch = max(rate * OUTPUT * step, 1.0)  # (4)
        if batch > MAX_BATCH or stretch <= 0:
            return np.inf
        step = decode_step(batch) * stretch
    return step


def goodput(ttft_target, tpot_target, prefill_gpus=0, decode_gpus=1):
    """Highest request rate per GPU that meets both targets; no prefill GPUs means colocated."""
    shared = prefill_gpus == 0
    def ok(rate):
        first = ttft(rate if shared else rate / prefill_gpus) + (0 if shared else KV_PER_TOKEN * PROMPT / NVLINK)
        return first <= ttft_target and tpot(rate / decode_gpus, shared) <= tpot_target
    low, high = 0.0, 100.0
    for _ in range(60):
        low, high = ((low + high) / 2, high) if ok((low + high) / 2) else (low, (low + high) / 2)
    return low / (prefill_gpus + decode_gpus)  # (5)
# lab:end goodput
# lab:notes goodput
# (1) Read the weights once for the batch, and each sequence's cache at its average length.
# (2) Prefills queue in front of one GPU: an M/D/1 queue's mean wait plus the prefill itself.
# (3) Colocated, the GPU spends a share $\lambda D$ of its time on prefill, and decode steps stretch accordingly.
# (4) Little's law: sequences decoding at once = arrival rate x decode time of 256 tokens.
# (5) Per GPU: the rate the whole group sustains, over every GPU in it, prefill ones included.
#
# lab:explain 56-85 A mean-value model of goodput
# Each target is a function of the arrival rate; the highest rate meeting both, found by bisection,
# is the goodput, divided by all the GPUs that produce it.

SPLITS = [(p, d) for p in (1, 2) for d in range(1, 7)]


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rows = []
    for tpot_ms in (10, 12, 15, 20, 25, 30, 40, 50):
        rows.append((tpot_ms, "colocated", goodput(0.2, tpot_ms / 1e3)))
        rows.append((tpot_ms, "best split", max(goodput(0.2, tpot_ms / 1e3, p, d) for p, d in SPLITS)))
    return {"goodput": dict(zip(("tpot", "serving", "rps"), map(list, zip(*rows))))}


# lab:figure goodput
# kind: line
# title: Splitting prefill from decode pays when the TPOT target is tight
# caption: Requests a second per GPU meeting a 200 ms TTFT target, against the TPOT target, for Llama-2-13B on
#   H100s with 1,024-token prompts and 256 output tokens; the split is the best of 1 or 2 prefill GPUs for 1 to 6 decode GPUs.
# x: tpot "TPOT target (ms)" d
# y: rps "goodput (requests/s per GPU)" .2f
# color: serving "serving"


def main():
    print(f"weights {WEIGHTS / 1e9:.1f} GB; prefill {PROMPT} tokens: {PREFILL * 1e3:.1f} ms at 60% of peak; decode step {decode_step(1) * 1e3:.2f} ms at "
          f"batch 1, {decode_step(48) * 1e3:.1f} ms at 48; at most {MAX_BATCH} sequences fit beside the weights")
    print(f"a prompt's KV cache, {KV_PER_TOKEN * PROMPT / 2**20:.0f} MiB: {KV_PER_TOKEN * PROMPT / NVLINK * 1e3:.2f} ms "
          f"over NVLink, {KV_PER_TOKEN * PROMPT / NIC * 1e3:.1f} ms over one NIC")
    for first, per_token in ((0.2, 0.012), (0.2, 0.020), (1.0, 0.040)):
        colocated = goodput(first, per_token)
        splits = {f"{p}P{d}D": goodput(first, per_token, p, d) for p, d in SPLITS}
        best = max(splits, key=splits.get)
        print(f"{first * 1e3:.0f} ms / {per_token * 1e3:.0f} ms: colocated {colocated:.2f}, 1P1D {splits['1P1D']:.2f}, "
              f"1P3D {splits['1P3D']:.2f}, best split {best} {splits[best]:.2f} requests/s per GPU")
        for p, d in SPLITS:  # every rate counted meets both targets
            rate = splits[f"{p}P{d}D"] * (p + d)
            assert ttft(rate / p) + KV_PER_TOKEN * PROMPT / NVLINK <= first and tpot(rate / d, False) <= per_token
    assert np.isclose(ttft(0.5 / PREFILL), 1.5 * PREFILL), "M/D/1 at half load: a wait of half a service time"
    assert goodput(0.2, 0.012, 1, 3) > goodput(0.2, 0.012) and goodput(1.0, 0.04) > max(
        goodput(1.0, 0.04, p, d) for p, d in SPLITS)


if __name__ == "__main__":
    main()
