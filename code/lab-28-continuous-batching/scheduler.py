"""Lab 28 - Continuous batching & chunked prefill: what the scheduler decides every iteration.

Serves the same 64 requests on 8 slots with static batching, continuous (iteration-level)
batching and continuous batching with chunked prefill, under a toy cost model per iteration.
"""
# lab:goal See how scheduling per iteration, not per batch, fills idle slots, and how chunking prefill bounds the decode stalls.
#
# lab:mental-model
# - An engine iteration is one forward pass over a set of tokens: prompt tokens of new requests and one token per decoding request.
# - Static batching admits a new batch only when every request of the old one has finished.
# - Continuous batching refills a slot in the next iteration after its request finishes.
# - Chunked prefill caps the tokens per iteration, so a long prompt is spread over several iterations.
#
# lab:checkpoints
# - Static batching leaves slots idle while the longest request of the batch finishes.
#   answer: Slot utilization is far lower than with continuous batching, and queued requests wait for the whole batch.
# - Continuous batching does not use a bigger batch.
#   answer: All three policies use the same 8 slots; the gain comes from refilling them at every iteration.
# - Without chunking, a long prompt stalls every running request.
#   answer: The iteration that prefills it is long, so the worst inter-token gap jumps; with a 256-token budget no iteration exceeds 18.2 ms.
# - Chunking is not free for the new request.
#   answer: Its prompt now takes several iterations, so time to first token rises a little while decode latency becomes smooth.
#
# lab:traps
# - "Continuous batching = a larger batch": the slot count is the same; what changes is when slots are refilled.
# - Reading mean TPOT alone: stalls from prefill show up in the tail of the inter-token gaps, not in the mean.
# - Assuming chunked prefill lowers every latency: it trades some TTFT for bounded per-token latency.
#
# lab:interview
# The scheduler's state is the set of running requests, each in prefill (prompt tokens left) or
# decode (output tokens left), plus a waiting queue. Static batching keeps a batch until its
# longest request ends, so slots go idle and newcomers wait. Iteration-level scheduling, as in
# Orca, rebuilds the batch on every forward pass, so a finished slot is refilled at once; the
# slot count stays 8. The axis that matters is tokens per iteration: a 1500-token prompt
# prefilled in one pass makes every decoding request wait for it. Chunked prefill, as in SARATHI,
# caps the tokens per iteration and mixes prompt chunks with decodes, bounding the inter-token
# gap at the price of a slightly later first token. Disaggregating prefill and decode onto
# separate GPUs removes that interference entirely, at the cost of moving the KV cache.

from collections import deque

import numpy as np

SLOTS, N_REQ = 8, 64
T_FIXED, T_TOKEN = 8e-3, 4e-5  # seconds per iteration, plus per token in it (toy cost model)


# lab:begin iteration
def simulate(arrive, prompt, out, mode, budget=256):
    queue, running, t = deque(range(len(arrive))), [], 0.0
    todo_prefill, todo_out = prompt.copy(), out.copy()
    first, done, last, gaps, slot_time = {}, {}, {}, [], 0.0
    while queue or running:
        if not running and arrive[queue[0]] > t:
            t = arrive[queue[0]]  # idle until the next arrival
        admit = mode != "static" or not running  # (1)
        while admit and queue and len(running) < SLOTS and arrive[queue[0]] <= t:
            running.append(queue.popleft())
        decoding = [r for r in running if todo_prefill[r] == 0]
        tokens, chunks = len(decoding), {}
        for r in running:
            if todo_prefill[r] > 0:
                room = todo_prefill[r] if mode != "chunked" else max(budget - tokens, 0)  # (2)
                chunks[r] = min(todo_prefill[r], room)
                tokens += chunks[r]
        dt = T_FIXED + T_TOKEN * tokens  # (3)
        t += dt
        slot_time += dt * len(running)
        for r in decoding:
            gaps.append(t - last[r])  # (4)
        for r, c in chunks.items():
            todo_prefill[r] -= c
            if todo_prefill[r] == 0 and c > 0:
                first[r] = t  # (5)
        for r in decoding + [r for r in chunks if todo_prefill[r] == 0 and chunks[r] > 0]:
            last[r], todo_out[r] = t, todo_out[r] - 1
            if todo_out[r] == 0:
                done[r] = t
                running.remove(r)
    return first, done, np.array(gaps), slot_time / (SLOTS * t), t  # (6)
# lab:end iteration
# lab:notes iteration
# (1) Static admits only into an empty engine; the other two admit whenever a slot is free.
# (2) With chunking, prompt tokens get what is left of the per-iteration token budget after the decodes.
# (3) A fixed cost (reading the weights) plus a cost per token: decodes are cheap, prompts are not.
# (4) The time between two tokens of the same request: a long prefill in this iteration shows up here.
# (5) The pass that consumes the last prompt token also produces the first output token.
# (6) Utilization: the fraction of slot-seconds that held a request, over the whole run.
#
# lab:explain 49-58 Admission decides the policy
# The three policies differ only here and in `room`: whether a free slot may be refilled while
# other requests still run, and how many prompt tokens one iteration may take.
#
# lab:explain 59-68 Building one iteration's batch
# Every running request in decode contributes one token; requests in prefill contribute their
# whole remaining prompt, or a chunk of it. The iteration's duration follows from the token count.
#
# lab:explain 69-80 Emitting tokens and retiring requests
# Each decoding request gets one token per iteration, so an iteration's duration is the gap every
# one of them sees. Finished requests free their slot for the next iteration's admission.


def main():
    rng = np.random.default_rng(0)
    arrive = np.cumsum(rng.exponential(0.25, N_REQ))  # about 4 requests per second
    prompt = rng.integers(64, 1536, N_REQ)
    out = rng.integers(16, 512, N_REQ)
    print(f"{N_REQ} requests on {SLOTS} slots; prompts {prompt.min()}-{prompt.max()} tokens, "
          f"outputs {out.min()}-{out.max()}")
    print("policy       util   TTFT mean  p90 (s)   TPOT mean (ms)  gap p99  max (ms)  tok/s")
    res = {}
    for mode in ("static", "continuous", "chunked"):
        first, done, gaps, util, end = simulate(arrive, prompt, out, mode)
        ttft = np.array([first[r] - arrive[r] for r in range(N_REQ)])
        tpot = np.array([(done[r] - first[r]) / (out[r] - 1) for r in range(N_REQ)])
        res[mode] = util, ttft.mean(), gaps.max()
        print(f"{mode:11s} {util:5.2f}  {ttft.mean():9.2f} {np.percentile(ttft, 90):5.2f}"
              f"   {tpot.mean() * 1e3:14.1f} {np.percentile(gaps, 99) * 1e3:8.1f}"
              f" {gaps.max() * 1e3:5.1f}  {out.sum() / end:9.0f}")
        assert len(done) == N_REQ and len(gaps) == (out - 1).sum()
    assert res["continuous"][0] > res["static"][0] and res["continuous"][1] < res["static"][1]
    assert res["chunked"][2] <= T_FIXED + T_TOKEN * 256 + 1e-12 < res["continuous"][2]


if __name__ == "__main__":
    main()
