"""Lab 35 - Launch overhead and CUDA graphs: a decode step's kernels can be shorter than their launches.

Lists the 12 kernels a layer of a batch-1 decode step launches (plus 4 for the whole model), times
each weight GEMM by its bytes at 3.35 TB/s and each small kernel at an assumed 2 us, and plays the
step on one CUDA stream twice: launched kernel by kernel from the CPU (eager), and replayed as one
captured CUDA graph, for Llama-3.2-1B and Llama-3.1-8B.
"""
# lab:goal See when launching kernels, not running them, sets the time of a decode step, and what a CUDA graph removes.
#
# lab:mental-model
# - The CPU launches kernels onto a stream one at a time, each launch costing some microseconds; the GPU runs them in order, each starting when it has been launched and the one before it has finished.
# - While kernels take longer than launches, launching runs ahead and its cost hides; when they are shorter, the GPU waits on the CPU and the step takes about the sum of the launch costs.
# - A CUDA graph captures the whole sequence once and replays it with one launch, so the GPU runs the kernels back to back; the kernels themselves do not get faster.
#
# lab:checkpoints
# - Before you run it: Llama-3.2-1B's decode step launches 196 kernels holding 1.00 ms of GPU work. At 10 us of CPU per launch, roughly how long does the eager step take?
#   answer: About 2.1 ms: the 196 launches take 1.96 ms, the GPU keeps up with them, and only the logits GEMM, launched near the end, runs on past the last launch. The GPU sits idle 53% of the step.
#   see: output "Llama-3.2-1B"
#   predict: number 7, within 10%
# - Why does the same 10 us per launch cost Llama-3.1-8B almost nothing?
#   answer: Its kernels hold 5.00 ms of GPU work against 3.88 ms of launches, so launching runs ahead of the GPU and its cost hides; eager takes 5.06 ms, the graph 5.01 ms.
#   see: output "Llama-3.1-8B"
# - Which line keeps two kernels of one stream from overlapping, and what would the step time be without it?
#   answer: Line 69 starts a kernel no earlier than the end of the one before it; without it every kernel would start as soon as it is launched, and the step would end just after the last launch, faster than the GPU can work.
#   see: line 69
# lab:traps
# - CUDA graphs make kernels faster.
#   why: The graph replays the same kernels with the same GPU times; it removes the CPU launch between them. For the 8B model, whose kernels are longer than their launches, it saves under 1%.
# - A GPU at 100% utilization in a profiler is working the whole step.
#   why: Utilization counts the time some kernel is running; eager decode of the 1B model shows a kernel always about to start, yet the GPU waits on launches for 53% of the step.
#
# lab:interview
# A stream runs kernels in order, each starting at the later of its launch and the end of the previous kernel, so an eager step takes about $\max(\sum t_{cpu}, \sum t_{gpu})$ plus the tail.
# Batch-1 decode is full of kernels shorter than a launch: Llama-3.2-1B has 196 kernels holding 1.00 ms of work, and at 10 us a launch the eager step takes 2.11 ms with the GPU idle half the time.
# Replaying the step as one captured CUDA graph takes 1.01 ms, 2.09x faster; at 4 us a launch, or for Llama-3.1-8B whose kernels are longer, eager is within a few percent of the graph.
# A graph freezes shapes and memory addresses, so servers such as vLLM capture one graph per batch-size bucket and pad each batch up to the nearest bucket.
#
# lab:intuition
# - Launches are a waiter carrying dishes from a kitchen: if every dish takes the chef less time than the walk, the walk sets the pace; a graph hands over the whole order at once.
# - Look at the sum of the small kernels' times against the sum of launch costs: whichever is larger sets the eager step.

import numpy as np

HBM_BW = 3.35e12  # H100 SXM, bytes/s
SMALL_US = 2.0  # an assumed time for each norm, rope, cache write, attention, activation and residual kernel
MODELS = {  # hidden, layers, query heads, kv heads, head dim, MLP width, vocabulary, tied embedding
    "Llama-3.2-1B": dict(h=2048, L=16, n_q=32, n_kv=8, d=64, ffn=8192, vocab=128256),
    "Llama-3.1-8B": dict(h=4096, L=32, n_q=32, n_kv=8, d=128, ffn=14336, vocab=128256),
}


def gemm_us(rows, cols):
    return rows * cols * 2 / HBM_BW * 1e6  # bf16 weights read once at batch 1


# lab:begin step
def decode_kernels(c):
    qkv = gemm_us(c["h"], (c["n_q"] + 2 * c["n_kv"]) * c["d"])
    layer = [SMALL_US, qkv, SMALL_US, SMALL_US, SMALL_US,  # norm, QKV, rope, cache write, attention
             gemm_us(c["n_q"] * c["d"], c["h"]), SMALL_US, SMALL_US,  # output projection, residual, norm
             gemm_us(c["h"], 2 * c["ffn"]), SMALL_US, gemm_us(c["ffn"], c["h"]), SMALL_US]  # (1)
    return [SMALL_US] + layer * c["L"] + [SMALL_US, gemm_us(c["h"], c["vocab"]), SMALL_US]  # (2)


def play(gpu_us, launch_us, graph=False):
    issued = [launch_us] * len(gpu_us) if graph else list(np.cumsum([launch_us] * len(gpu_us)))  # (3)
    end, starts = 0.0, []
    for ready, work in zip(issued, gpu_us):
        start = max(ready, end)  # (4)
        starts.append(start)
        end = start + work
    return end, starts
# lab:end step
# lab:notes step
# (1) A layer's 12 kernels; the 4 GEMMs take their weight bytes at 3.35 TB/s, the rest an assumed 2 us.
# (2) Plus 4 for the model: the embedding lookup, the final norm, the logits GEMM and sampling.
# (3) Eager: kernel i is launched after i + 1 launches of CPU time. A graph: one launch releases them all.
# (4) One stream: a kernel starts when it is launched and the kernel before it has finished.
#
# lab:explain 57-72 A decode step, kernel by kernel
# The kernel list is what a plain implementation launches for one token; `play` is the stream,
# with launches arriving from the CPU at one per `launch_us`.


# lab:figure stream
# kind: timeline
# title: Eager launches leave gaps between short kernels; a graph runs them back to back
# caption: The first 25 kernels of Llama-3.2-1B's decode step (the embedding and two layers) on one stream, with
#   the chosen CPU time per launch. Only the two MLP GEMMs of each layer run longer than 10 us.
# x: start "time (us)"
# x2: end "end"
# y: mode "stream"
# color: kind "kernel"
# control: launch "CPU time per launch (us)" d
# default: 10
# says: At {{launch}} us a launch the eager stream ends at {{end|mode=eager, end=max}} us, the graph at {{end|mode=graph, end=max}} us.
# lab:figure step-time
# kind: line
# title: Eager decode pays for launches once they outlast the kernels; the graph does not
# caption: Step time against the CPU time per launch. Llama-3.2-1B's 196 kernels hold 1.00 ms of GPU
#   work and cross over near 5 us a launch; Llama-3.1-8B's 388 kernels hold 5.00 ms and cross near 13 us.
# x: launch "CPU time per launch (us)" d
# y: ms "step time (ms)" .2f
# color: series "model, launch"


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    kernels = decode_kernels(MODELS["Llama-3.2-1B"])[:25]
    stream = []
    for launch in (4, 10, 20):
        for mode, graph in (("eager", False), ("graph", True)):
            _, starts = play(kernels, launch, graph)
            stream += [(launch, mode, s, s + w, "GEMM" if w > SMALL_US else "small") for s, w in zip(starts, kernels)]
    lines = [(f"{name}, {mode}", launch, play(decode_kernels(c), launch, graph)[0] / 1e3)
             for name, c in MODELS.items() for mode, graph in (("eager", False), ("graph", True))
             for launch in range(2, 21, 2)]
    return {"stream": dict(zip(("launch", "mode", "start", "end", "kind"), map(list, zip(*stream)))),
            "step-time": dict(zip(("series", "launch", "ms"), map(list, zip(*lines))))}


def main():
    for name, c in MODELS.items():
        kernels = decode_kernels(c)
        gpu = sum(kernels)
        eager, starts = play(kernels, 10.0)
        graph, _ = play(kernels, 10.0, graph=True)
        fast, _ = play(kernels, 4.0)
        assert all(s >= max(10.0 * (i + 1), e) for i, (s, e) in
                   enumerate(zip(starts, [0.0, *np.add(starts, kernels)[:-1]]))), "one stream, in launch order"
        assert eager >= gpu and graph >= gpu and graph <= eager
        print(f"{name}: {len(kernels)} kernels, {gpu / 1e3:.2f} ms of GPU work; at 10 us a launch "
              f"({len(kernels) * 10.0 / 1e3:.2f} ms of launches) "
              f"eager {eager / 1e3:.2f} ms ({1 - gpu / eager:.0%} idle), graph {graph / 1e3:.2f} ms "
              f"({eager / graph:.2f}x); at 4 us eager {fast / 1e3:.2f} ms")
    small = decode_kernels(MODELS["Llama-3.2-1B"])
    assert len(small) == 196 and len(decode_kernels(MODELS["Llama-3.1-8B"])) == 388
    assert round(play(small, 10.0)[0] / play(small, 10.0, graph=True)[0], 2) == 2.09


if __name__ == "__main__":
    main()
