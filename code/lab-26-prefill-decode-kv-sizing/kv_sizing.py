"""Lab 26 - Prefill/decode & KV sizing: bytes per token set serving latency and batch size.

Sizes the KV cache of Llama-3.1-8B (GQA) and Llama-2-13B (MHA) from their published configs,
turns bytes into the number of sequences that fit in an 80 GB budget on one H100, and into the
time floor of one decode step at 3.35 TB/s.
"""
# lab:goal See how the bytes read per generated token, weights plus KV cache, set decode latency and the batch that fits.
#
# lab:mental-model
# - Prefill runs the whole prompt through each weight matrix at once: every weight read (2 bytes in bf16) serves one multiply-add per prompt token, so prompts of more than a few hundred tokens make it compute-bound.
# - Decode produces one token per sequence per step and must reread the weights and that sequence's KV cache from HBM, the GPU's main memory.
# - Multi-head attention (MHA) gives every query head its own key/value (K/V) head; grouped-query attention (GQA) lets a group of `n_heads / n_kv` query heads share one, so the model has only `n_kv` K/V heads.
# - The KV cache holds the key and value vectors (never the queries) of every layer, K/V head and past token: it grows with context length and with batch, and GQA divides it by `n_heads / n_kv`.
#
# lab:checkpoints
# - How many bytes of KV cache does one Llama-3.1-8B token need in bf16, and how much does an 8192-token sequence need?
#   answer: 2 (K and V) x 32 layers x 8 KV heads x 128 dims x 2 bytes = 131072 B = 128 KiB; times 8192 tokens that is exactly 1 GiB.
#   see: line 103
# - Which fills the budget as the batch grows, the weights or the cache, and how many 8k sequences of the 8B model fit?
#   answer: The 16.1 GB of weights are stored once whatever the batch; each 8k sequence adds 1.07 GB of cache, so 80e9 bytes hold 59 sequences. The cache caps the batch.
#   see: output "8k sequences in an 80e9-byte budget: 59"
#   predict: number 3, within 5%
# - What is the fastest a batch-1 decode step of the 8B model can be on an H100, and what sets it?
#   answer: 4.48 ms: the step reads 15.0 GB of weights at 3.35 TB/s. Its 15 GFLOPs would take about 300 times less at peak, so the bytes set the time.
#   see: output "      1        4.48"
# - At context 8192, the step takes 23.39 ms at batch 59 against 4.80 ms at batch 1, although the weights are read once either way. Where does the extra time go?
#   answer: To the cache: 59 sequences x 1.07 GB = 63 GB of KV read per step, about four times the 15.0 GB of weights.
#   see: line 113
# - Why does the printed attention AI (arithmetic intensity: FLOPs per byte read) stay at 4 at any batch, when the linear layers' AI grows with the batch?
#   answer: Each cached element serves only the query heads of its own sequence's group (4 for Llama-3.1-8B); a new sequence brings its own cache, so FLOPs and bytes grow together.
#   see: line 119
# lab:traps
# - The KV cache is sized with the number of attention heads, or with the hidden size.
#   why: Only K/V heads are stored (line 103 uses `n_kv`): with `n_heads` the 8B model would need the printed 512 KiB per token, 4x too much. Queries are not cached at all, because each is used only at its own step.
# - Decode is slow because it does a lot of arithmetic.
#   why: A batch-1 step does about 15 GFLOPs (about 300 times quicker at peak) but reads 15.0 GB (4.48 ms); the `max` on line 115 picks the bytes. Attention over the cache stays at 4 FLOP/B at any batch, far below the ridge of 295 FLOP/B (peak FLOP/s divided by bandwidth) where a kernel turns compute-bound.
# - "1 GiB per sequence" is a property of the model.
#   why: It is 128 KiB x 8192 tokens x 2-byte elements: the cache is linear in context length and in bytes per element, so 16k tokens need 2 GiB and an 8-bit cache half as much.
# - 59 sequences is a hard limit of the H100.
#   why: It assumes 80e9 bytes for weights and cache (the default `hbm` on line 106). The card reports 81559 MiB, which would hold 64; activations, the CUDA context and allocator slack take part of that, so the real number depends on the engine.
#
# lab:interview
# Serving has two phases. Prefill runs all prompt tokens through each weight at once and is
# compute-bound; decode adds one token per sequence per step and rereads the weights plus that
# sequence's KV cache, so it is bound by memory bandwidth.
#
# The cache costs $2 \cdot L \cdot n_{kv} \cdot d_{head}$ elements per token: 128 KiB in bf16 for
# Llama-3.1-8B, 800 KiB for Llama-2-13B, which has no GQA. At batch 1 a step reads 15.0 GB, so
# it takes at least $15.0\,\text{GB} / 3.35\,\text{TB/s} = 4.48$ ms.
#
# Batching shares the weight reads, not the cache: the cache caps the batch (59 sequences of 8k
# in 80 GB) and attention never turns compute-bound. GQA and cache quantization cut those bytes;
# paging does not, it frees the memory contiguous buffers reserve and never use, so more fit.
#
# lab:intuition
# - Decode is a reading job: each step rereads the model from HBM, so time per token is about bytes / bandwidth, 15 GB / 3.35 TB/s = 4.5 ms, whatever the arithmetic.
# - Weights are a fixed fare paid once per step for the whole batch; the KV cache is a fare per passenger that grows with each sequence's length. Batching splits the fixed fare and never the per-passenger one.
# - For Llama-3.1-8B, remember 128 KiB per token, so 8k tokens is 1 GiB; without GQA multiply by `n_heads / n_kv` = 4.

# lab:figure kv-budget
# kind: line
# title: The batch that fits ends where weights plus KV cache cross the 80 GB budget
# caption: Memory of a Llama-3.1-8B batch at one context length: 16.1 GB of weights stored once, plus the
#   cache of every sequence. The batch that fits ends where that sum crosses 80 GB; each doubling of
#   the context halves that batch, from 476 at 1024 tokens to 3 at 131072.
# x: batch "batch (sequences, log scale)" d
# y: gb "memory (GB)" .1f
# color: memory "memory"
# control: context "context length (tokens)" d
# default: 8192
# says: At {{context}} tokens {{batch|memory=largest batch that fits}} sequences fit, using {{gb|memory=largest batch that fits}} GB.
# x-scale: log
# lab:figure fit
# kind: line
# title: Doubling the context halves the batch that fits; a smaller cache per token lifts the whole line
# caption: Sequences that fit beside each model's bf16 weights in 80e9 bytes. At 8k tokens Llama-3.1-8B
#   (8 KV heads, 128 KiB per token) holds {{fit.sequences|model=Llama-3.1-8B,context=8k}} and Llama-2-13B (40 KV heads, 800 KiB per token) {{fit.sequences|model=Llama-2-13B,context=8k}}; the
#   13B points past 4k tokens, its trained context, are hypothetical.
# x: context "context length (tokens)"
# y: sequences "sequences that fit" d
# color: model "model"
# y-scale: log

HBM_BUDGET = 80e9  # bytes for weights + cache: the "80 GB" of an H100 SXM, taken as 80e9 (an assumption)
HBM_REPORTED = 81559 * 2**20  # what nvidia-smi reports for an H100 80GB HBM3: 85.5e9 bytes
HBM_BW, PEAK_BF16 = 3.35e12, 989e12  # H100 SXM: 3.35 TB/s, 989 TFLOP/s dense bf16
GIB, KIB = 2**30, 2**10

MODELS = {  # published configs (config.json of each model); ctx is the trained context length
    "Llama-3.1-8B": dict(L=32, h=4096, n_heads=32, n_kv=8, d_head=128, ffn=14336, vocab=128256, ctx=131072),
    "Llama-2-13B": dict(L=40, h=5120, n_heads=40, n_kv=40, d_head=128, ffn=13824, vocab=32000, ctx=4096),
}


# lab:begin sizing
def param_count(c):
    attn = 2 * c["h"] * c["n_heads"] * c["d_head"] + 2 * c["h"] * c["n_kv"] * c["d_head"]  # (1)
    mlp = 3 * c["h"] * c["ffn"]  # gate, up and down projections (SwiGLU)
    return c["L"] * (attn + mlp + 2 * c["h"]) + 2 * c["vocab"] * c["h"] + c["h"]  # (2)


def kv_bytes_per_token(c, dtype_bytes=2):
    return 2 * c["L"] * c["n_kv"] * c["d_head"] * dtype_bytes  # (3)


def sequences_that_fit(c, context, hbm=HBM_BUDGET):
    free = hbm - 2 * param_count(c)  # (4)
    return int(free // (kv_bytes_per_token(c) * context))


def decode_step_seconds(c, batch, context):
    n_read = param_count(c) - c["vocab"] * c["h"]  # (5)
    bytes_read = 2 * n_read + 2 * batch * c["h"] + batch * context * kv_bytes_per_token(c)  # (6)
    flops = 2 * n_read * batch + 4 * batch * context * c["L"] * c["n_heads"] * c["d_head"]
    return max(bytes_read / HBM_BW, flops / PEAK_BF16)  # (7)


def attention_intensity(c):
    return c["n_heads"] / c["n_kv"]  # (8)
# lab:end sizing
# lab:notes sizing
# (1) Q and O are h x (n_heads * d_head); under GQA, K and V are only h x (n_kv * d_head).
# (2) Two norm weight vectors of size h per layer; the input embedding and the LM head (the output projection to the vocabulary), separate matrices of vocab x h each; and a final norm.
# (3) The leading 2 is K and V, for every layer and KV head. Queries are not cached: a token's query is used only in its own step, while the keys and values of every past token are needed again at every later step.
# (4) bf16 weights take 2 bytes per parameter and are stored once for the whole batch; the rest of the budget holds cache.
# (5) A decode step reads every weight matrix but only gathers B rows of the input embedding, so that table is left out of the bytes read.
# (6) The weights once for the whole batch, the B gathered embedding rows, and each sequence's whole cache.
# (7) A roofline: the step takes at least the time to read its bytes and at least the time to do its FLOPs.
# (8) Each 2-byte cached element feeds one multiply-add (2 FLOPs) for each query head of its group.
#
# lab:explain 96-99 Parameters from the config
# Counting from the config gives 8.03B for Llama-3.1-8B and 13.02B for Llama-2-13B,
# the published totals. GQA shrinks the K and V projections, which is where the two attention terms differ.
#
# lab:explain 102-108 The cache is per token, the weights are per model
# `kv_bytes_per_token` has no batch or context factor; those multiply in where memory is spent.
# What is left of the budget after the weights, divided by one sequence's cache, is the batch you
# can hold. The budget is an assumption: an H100 reports 81559 MiB (85.5e9 bytes), and
# activations, the CUDA context and allocator slack need part of it.
#
# lab:explain 111-119 A roofline for one decode step
# With batch B, weight bytes stay fixed while weight FLOPs grow as $2NB$ for $N$ weights read, so the linear layers turn
# compute-bound only near B = 989/3.35 = 295, the H100's ridge (a little higher once activation
# bytes count, as Lab 06 shows). Attention FLOPs and cache bytes
# both scale with B x context, so their ratio is fixed at the group size: 1 for MHA, 4 for
# Llama-3.1-8B. Only the input embedding is left out of the weight bytes, since decode looks up
# B of its rows instead of multiplying by it; the LM head is a real matmul and is read in full.


def figures():
    """The data of the figures declared above, computed with the lab's own functions."""
    c = MODELS["Llama-3.1-8B"]
    weights = 2 * param_count(c)
    # kv-budget: per context, weights + cache for batches of powers of two up to twice the largest
    # batch that fits, plus that batch (also marked alone) and the next; the weights and the budget
    budget = []
    for context in (1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072):
        fit = sequences_that_fit(c, context)
        for b in sorted({2**k for k in range(12) if 2**k <= 2 * fit} | {fit, fit + 1}):
            total = (weights + b * context * kv_bytes_per_token(c)) / 1e9
            budget += [(context, b, "bf16 weights + KV cache", total), (context, b, "bf16 weights", weights / 1e9),
                       (context, b, "80 GB budget", HBM_BUDGET / 1e9)]
            if b == fit:
                budget.append((context, b, "largest batch that fits", total))
    # fit: sequences that fit beside each model's weights, against the context (0 is left out)
    fit = [(name, f"{context // 1024}k", sequences_that_fit(m, context)) for name, m in MODELS.items()
           for context in (1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072)]
    fit = [row for row in fit if row[2] > 0]
    return {"kv-budget": dict(zip(("context", "batch", "memory", "gb"), map(list, zip(*budget)))),
            "fit": dict(zip(("model", "context", "sequences"), map(list, zip(*fit))))}


def main():
    for name, c in MODELS.items():
        per_tok, n = kv_bytes_per_token(c), param_count(c)
        mha = kv_bytes_per_token(dict(c, n_kv=c["n_heads"]))
        print(f"{name}: {n / 1e9:.2f}B params, {2 * n / 1e9:.1f} GB bf16 weights, context {c['ctx']}")
        print(f"  KV cache {per_tok / KIB:.0f} KiB/token (MHA would be {mha / KIB:.0f} KiB), "
              f"8k sequence {8192 * per_tok / GIB:.2f} GiB = {8192 * per_tok / 1e9:.2f} GB")
        print(f"  8k sequences in an 80e9-byte budget: {sequences_that_fit(c, 8192)}; "
              f"attention AI {attention_intensity(c):.0f} FLOP/B")
        if c["ctx"] < 8192:
            print(f"  beyond its {c['ctx']}-token context: the 8k figures are hypothetical; "
                  f"{c['ctx']} tokens need {c['ctx'] * per_tok / 1e9:.2f} GB")
    c = MODELS["Llama-3.1-8B"]
    print(f"Llama-3.1-8B in all {HBM_REPORTED / 1e9:.1f} GB an H100 reports: "
          f"{sequences_that_fit(c, 8192, HBM_REPORTED)} sequences of 8k, if nothing else needed memory")
    n_read = param_count(c) - c["vocab"] * c["h"]
    print(f"Llama-3.1-8B decode step on one H100, {2 * n_read / 1e9:.1f} GB of weights read (ms):")
    print("  batch   context 0   context 8192")
    for b in (1, 8, 32, 59):
        print(f"  {b:5d}   {decode_step_seconds(c, b, 0) * 1e3:9.2f}"
              f"   {decode_step_seconds(c, b, 8192) * 1e3:12.2f}")
    print(f"prefill of 2048 tokens: {2 * n_read * 2048 / PEAK_BF16 * 1e3:.1f} ms at peak FLOPs, "
          f"linear-layer AI {2 * n_read * 2048 / (2 * n_read):.0f} FLOP/B vs ridge {PEAK_BF16 / HBM_BW:.0f}")

    assert param_count(c) == 8_030_261_248 and param_count(MODELS["Llama-2-13B"]) == 13_015_864_320
    assert kv_bytes_per_token(c) == 128 * KIB and 8192 * kv_bytes_per_token(c) == GIB
    assert sequences_that_fit(c, 8192) == 59 and sequences_that_fit(c, 8192, HBM_REPORTED) == 64
    assert abs(decode_step_seconds(c, 1, 0) - 4.48e-3) < 0.005e-3  # 15.0 GB at 3.35 TB/s
    one_more = (decode_step_seconds(c, 2, 8192) - decode_step_seconds(c, 1, 8192)) * HBM_BW
    assert abs(one_more - (8192 * kv_bytes_per_token(c) + 2 * c["h"])) < 1, "each sequence reads its own cache"
    assert attention_intensity(c) == 4 and attention_intensity(MODELS["Llama-2-13B"]) == 1


if __name__ == "__main__":
    main()
