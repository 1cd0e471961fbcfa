"""Lab 26 - Prefill/decode & KV sizing: bytes per token set serving latency and batch size.

Sizes the KV cache of Llama-3.1-8B (GQA) and Llama-2-13B (MHA) from their configs and turns
bytes into the batch that fits on an 80 GB H100 and the decode-time floor at 3.35 TB/s.
"""
# lab:goal See how the bytes read per generated token, weights plus KV cache, set decode latency and the batch that fits.
#
# lab:mental-model
# - Prefill pushes the whole prompt through each weight matrix at once, so for prompts of more than a few hundred tokens it is compute-bound.
# - Decode produces one token per sequence per step and must reread every weight and the sequence's KV cache.
# - The KV cache holds K and V (never Q) for every layer, KV head and past token: it grows with context and batch.
# - GQA shares one K/V head among several query heads and divides the cache by `n_heads / n_kv`.
#
# lab:checkpoints
# - Llama-3.1-8B needs 128 KiB of KV cache per token in bf16.
#   answer: 2 (K and V) x 32 layers x 8 KV heads x 128 dims x 2 bytes = 131072 B; an 8192-token sequence needs 1 GiB.
# - The weights are the same for every sequence, the KV cache is not.
#   answer: After 16 GB of weights, 80 GB leaves room for only 59 sequences of 8k tokens; the cache, not the model, caps the batch.
# - Batch-1 decode cannot beat about 4.8 ms per token on an H100.
#   answer: Each step reads all 16.1 GB of weights at 3.35 TB/s; the FLOPs would take far less time.
# - Batching helps the linear layers but not attention over the cache.
#   answer: Weights are read once for the whole batch (AI grows with B); each sequence's KV cache is read for that sequence only, so its AI stays at `n_heads / n_kv`.
#
# lab:traps
# - Sizing the cache with `n_heads` or the hidden size instead of `n_kv`: for Llama-3.1-8B that overstates it 4x, and caching Q is wrong too.
# - Thinking decode is slow because of FLOPs: at batch 1 it is bound by HBM bandwidth, and attention over the cache stays bandwidth-bound at any batch.
# - Quoting "1 GiB per sequence" without the context length and dtype: the cache is linear in both.
#
# lab:interview
# The state that grows during serving is the KV cache, shaped (layers, 2, n_kv, tokens, d_head) per
# sequence; its size is 2 * L * n_kv * d_head * bytes per token, 128 KiB for Llama-3.1-8B and
# 800 KiB for Llama-2-13B, which has no GQA. Prefill processes the prompt's tokens together, so
# each weight byte serves thousands of FLOPs and the phase is compute-bound. Decode adds one token
# per sequence per step and rereads all weights plus that sequence's cache, so at batch 1 it is
# bound by bandwidth: 16 GB / 3.35 TB/s is 4.8 ms per token. Batching amortizes the weight reads
# across sequences, but the cache is per sequence, so memory for the cache limits the batch (59
# sequences of 8k tokens here) and attention never becomes compute-bound. The trade-off is
# latency against throughput, and GQA, paging and cache quantization all attack the bytes.

HBM_BYTES, HBM_BW, PEAK_BF16 = 80e9, 3.35e12, 989e12  # H100 SXM: 80 GB, 3.35 TB/s, dense bf16
GIB, KIB = 2**30, 2**10

MODELS = {  # published configs (config.json of each model)
    "Llama-3.1-8B": dict(L=32, h=4096, n_heads=32, n_kv=8, d_head=128, ffn=14336, vocab=128256),
    "Llama-2-13B": dict(L=40, h=5120, n_heads=40, n_kv=40, d_head=128, ffn=13824, vocab=32000),
}


# lab:begin sizing
def param_count(c):
    attn = 2 * c["h"] * c["n_heads"] * c["d_head"] + 2 * c["h"] * c["n_kv"] * c["d_head"]  # (1)
    mlp = 3 * c["h"] * c["ffn"]  # gate, up and down projections (SwiGLU)
    return c["L"] * (attn + mlp) + 2 * c["vocab"] * c["h"]  # untied embedding and LM head


def kv_bytes_per_token(c, dtype_bytes=2):
    return 2 * c["L"] * c["n_kv"] * c["d_head"] * dtype_bytes  # (2)


def sequences_that_fit(c, context):
    free = HBM_BYTES - 2 * param_count(c)  # (3)
    return int(free // (kv_bytes_per_token(c) * context))


def decode_step_seconds(c, batch, context):
    bytes_read = 2 * param_count(c) + batch * context * kv_bytes_per_token(c)  # (4)
    flops = 2 * param_count(c) * batch + 4 * batch * context * c["L"] * c["n_heads"] * c["d_head"]
    return max(bytes_read / HBM_BW, flops / PEAK_BF16)  # (5)


def attention_intensity(c):
    return c["n_heads"] / c["n_kv"]  # (6)
# lab:end sizing
# lab:notes sizing
# (1) Q and O are h x (n_heads * d_head); K and V are only h x (n_kv * d_head) under GQA.
# (2) K and V, for every layer and KV head. Q is recomputed per token and never cached (Trap 1).
# (3) bf16 weights take 2 bytes per parameter and are shared by every sequence in the batch.
# (4) One decode step reads every weight once, plus each sequence's whole cache.
# (5) A roofline: the step takes at least the time for its bytes and at least the time for its FLOPs.
# (6) Each 2-byte cached element feeds one multiply-add (2 FLOPs) per query head of its group.
#
# lab:explain 50-53 Parameters from the config
# Counting from the config gives 8.03e9 for Llama-3.1-8B and 1.30e10 for Llama-2-13B. GQA shrinks
# the K and V projections, which is where the two attention terms differ.
#
# lab:explain 56-62 The cache is per token, the weights are per model
# `kv_bytes_per_token` has no batch or context factor; those multiply in where memory is spent.
# What is left of HBM after the weights, divided by one sequence's cache, is the batch you can hold.
# It is an upper bound: activations, the CUDA context and allocator slack also need memory.
#
# lab:explain 65-72 A roofline for one decode step
# With batch B, weight bytes stay fixed while weight FLOPs grow as 2NB, so the linear layers turn
# compute-bound only near B = 989/3.35 = 295. Attention FLOPs and cache bytes both scale with
# B x context, so their ratio is fixed at the group size: 1 for MHA, 4 for Llama-3.1-8B.
# The byte count is the usual round estimate that reads every parameter; decode only gathers B
# rows of the input embedding, so without its 1.05 GB the batch-1 floor is closer to 4.5 ms.


def main():
    for name, c in MODELS.items():
        per_tok, n = kv_bytes_per_token(c), param_count(c)
        mha = kv_bytes_per_token(dict(c, n_kv=c["n_heads"]))
        print(f"{name}: {n / 1e9:.2f}B params, {2 * n / 1e9:.1f} GB bf16 weights")
        print(f"  KV cache {per_tok / KIB:.0f} KiB/token (MHA would be {mha / KIB:.0f} KiB), "
              f"8k sequence {8192 * per_tok / GIB:.2f} GiB = {8192 * per_tok / 1e9:.2f} GB")
        print(f"  8k sequences that fit in 80 GB: {sequences_that_fit(c, 8192)}; "
              f"attention AI {attention_intensity(c):.0f} FLOP/B at any batch")
    c = MODELS["Llama-3.1-8B"]
    print("Llama-3.1-8B decode step on one H100 (ms):  context 0   context 8192")
    for b in (1, 8, 32, 59):
        print(f"  batch {b:3d}   {decode_step_seconds(c, b, 0) * 1e3:26.2f}"
              f"   {decode_step_seconds(c, b, 8192) * 1e3:12.2f}")
    n = param_count(c)
    print(f"prefill of 2048 tokens: {2 * n * 2048 / PEAK_BF16 * 1e3:.1f} ms at peak FLOPs, "
          f"linear-layer AI {2 * n * 2048 / (2 * n):.0f} FLOP/B vs ridge {PEAK_BF16 / HBM_BW:.0f}")

    assert kv_bytes_per_token(c) == 128 * KIB and 8192 * kv_bytes_per_token(c) == GIB
    assert sequences_that_fit(c, 8192) == 59
    assert abs(decode_step_seconds(c, 1, 0) - 4.8e-3) < 0.05e-3
    assert abs(8192 * kv_bytes_per_token(MODELS["Llama-2-13B"]) / 1e9 - 6.7) < 0.05
    assert attention_intensity(c) == 4 and attention_intensity(MODELS["Llama-2-13B"]) == 1


if __name__ == "__main__":
    main()
