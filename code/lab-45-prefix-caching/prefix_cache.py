"""Lab 45 - Prefix caching and KV-cache compression: reuse the cache of shared prefixes, and shrink
what each token stores.

Serves 100 requests that share a 1,024-token system prompt and one of 10 documents through a radix
tree (token trie) of cached KV entries, with and without a capacity limit and LRU eviction of
leaves, and compares the KV bytes per token of Llama-3-70B (GQA, bf16 and FP8) with DeepSeek-V3's
multi-head latent attention.
"""
# lab:goal See how much prefill a shared-prefix cache saves, what a capacity limit costs, and how GQA, FP8 and MLA shrink the bytes each cached token takes.
#
# lab:mental-model
# - The KV cache of a prompt depends only on its tokens, so requests that share a prefix can share the prefix's cache: a radix tree over token sequences finds the longest cached prefix of each new request.
# - Only the tokens after the shared prefix need prefill; the hit rate is the share of prompt tokens found in the cache.
# - With limited memory the tree evicts least-recently-used leaves, never a node that another cached sequence still extends.
# - Per token the cache stores K and V of every layer: $2 L\,n_{kv}\,d\,b$ bytes with GQA; MLA stores one compressed latent of $d_c + d_R$ elements per layer instead.
#
# lab:checkpoints
# - Before you run it: 100 requests of 1,024 shared tokens, 2,000 tokens of one of 10 documents and 100 tokens of their own. With an unlimited cache, how many tokens must be computed?
#   answer: 31,024: the system prompt once, each document once (20,000) and every request's own 100 tokens (10,000); 281,376 of 312,400 tokens, 90.07%, come from the cache.
#   see: output "unlimited cache"
#   predict: number 4, within 5%
# - With room for only 8,000 cached tokens, why does the hit rate fall to about half?
#   answer: Ten documents of 2,000 tokens no longer fit at once, so a document is often evicted before the next request that needs it; the system prompt, used by every request, stays.
#   see: output "capacity  8000"
# - How many bytes does DeepSeek-V3's MLA cache per token, and what would full multi-head attention of the same model need?
#   answer: 576 elements x 2 bytes x 61 layers = 70,272 bytes, 68.6 KiB; its 128 heads of 192 + 128 dimensions would need 80 KiB per layer, 71 times as much.
#   see: output "DeepSeek-V3 MLA"
# lab:traps
# - Prefix caching needs identical prompts.
#   why: It needs a shared prefix: every request here differs in its last 100 tokens and most in their document, yet 90.07% of the tokens are reused, because the tree matches the longest common prefix (lines 68-73).
# - FP8 KV-cache quantization shrinks the cache as much as GQA.
#   why: FP8 halves the bytes of each element; GQA divides the number of K and V heads, 8 of 64 for Llama-3-70B, an eightfold cut, and the two multiply.
#
# lab:interview
# Prefix caching keeps the KV cache of served prompts in a radix tree keyed by tokens, so a new request reuses the cache of its longest cached prefix and prefills only the rest.
# With 100 requests sharing a 1,024-token system prompt and 10 documents of 2,000 tokens, an unlimited cache reuses 281,376 of 312,400 tokens (90.07%) and holds 3.79 GiB of Llama-3.1-8B cache instead of 38.1 GiB; with room for 8,000 tokens and LRU eviction of leaves, about half.
# The bytes per token are $2 L\,n_{kv}\,d\,b$: 320 KiB for Llama-3-70B's GQA in bf16, 160 KiB in FP8, while DeepSeek-V3's MLA caches one 576-element latent per layer, 68.6 KiB over 61 layers, 8.6 GiB for a 128k context.
# MLA's latent equals GQA with 2.25 groups in bytes, yet the model keeps 128 attention heads, because the heads' keys and values are reconstructed from it.
#
# lab:intuition
# - A radix tree is a family tree of prompts: cousins share their ancestors' cache, and only the youngest branches are computed.
# - For bytes per token, multiply layers x stored vectors x elements x bytes: each factor is one technique (depth, GQA or MLA, head size, FP8).

import heapq
import itertools

import numpy as np

SYSTEM, DOC, OWN, DOCS, REQUESTS = 1024, 2000, 100, 10, 100
KIB, GIB = 1024, 1024**3


def request_tokens(r):
    """The prompt of request r as token ids: the shared system prompt (ids below 1024), document
    r % 10 and its own 100 tokens, each from an id range of its own."""
    doc, own = 10_000 * (1 + r % DOCS), 1_000_000 + 1_000 * r
    return list(range(SYSTEM)) + list(range(doc, doc + DOC)) + list(range(own, own + OWN))


# lab:begin radix
class RadixCache:
    def __init__(self, capacity=None):
        self.root, self.capacity, self.size, self.clock = {}, capacity, 0, itertools.count()
        self.used, self.parents, self.leaves = {}, {}, {}  # node id -> last use, (parent, token), node

    def serve(self, tokens):
        node, hits, path = self.root, 0, []
        for token in tokens:
            if token not in node:
                break
            node = node[token]  # (1)
            hits += 1
            path.append(node)
        for token in tokens[hits:]:
            child = {}
            node[token], self.parents[id(child)] = child, (node, token)  # (2)
            self.leaves.pop(id(node), None)
            self.leaves[id(child)] = node = child
            path.append(node)
            self.size += 1
        now = next(self.clock)
        self.used.update((id(entry), now) for entry in path)
        self.evict(protect={id(entry) for entry in path})
        return hits, len(tokens) - hits

    def evict(self, protect):
        if self.capacity is None or self.size <= self.capacity:
            return
        heap = [(self.used[key], key) for key in self.leaves if key not in protect]
        heapq.heapify(heap)
        while self.size > self.capacity and heap:
            _, key = heapq.heappop(heap)
            parent, token = self.parents.pop(key)
            del parent[token], self.used[key], self.leaves[key]  # (3)
            self.size -= 1
            if not parent and id(parent) in self.parents and id(parent) not in protect:
                self.leaves[id(parent)] = parent
                heapq.heappush(heap, (self.used[id(parent)], id(parent)))  # (4)
# lab:end radix
# lab:notes radix
# (1) Follow the request's tokens down the tree as long as they are cached: each step is a token whose KV entries are reused.
# (2) The rest of the prompt is prefilled and added under the longest cached prefix.
# (3) Evict the least recently used leaf, a token no cached sequence extends.
# (4) A parent left without children becomes a leaf and can be evicted in turn; a shared prefix stays while anything below it lives.
#
# lab:explain 61-98 A token trie as a prefix cache
# `serve` walks the longest cached prefix, prefills the rest into the tree and marks the path as
# used; `evict` trims least recently used leaves until the cache fits its capacity.


def kv_bytes_per_token(layers, vectors, elements, width):
    return layers * vectors * elements * width


def figures():
    """One table per figure: equal-length lists of numbers or text, keyed by column."""
    rows = []
    for capacity in (4000, 8000, 12000, 16000, 20000, 24000, 28000, 32000):
        cache = RadixCache(capacity)
        hits = sum(cache.serve(request_tokens(r))[0] for r in np.random.default_rng(0).permutation(REQUESTS))
        rows.append((capacity, hits / (REQUESTS * (SYSTEM + DOC + OWN))))
    return {"capacity": dict(zip(("capacity", "hit_rate"), map(list, zip(*rows))))}


# lab:figure capacity
# kind: line
# title: A prefix cache needs room for the documents in use, not just the system prompt
# caption: Share of the 312,400 prompt tokens served from a radix-tree cache with LRU eviction of leaves, against
#   its capacity in tokens. Unlimited, it reuses 90.07%; with 8,000 tokens, about half.
# x: capacity "cache capacity (tokens)" ,d
# y: hit_rate "hit rate" .1%


def main():
    order = np.random.default_rng(0).permutation(REQUESTS)
    total = REQUESTS * (SYSTEM + DOC + OWN)
    cache = RadixCache()
    served = [cache.serve(request_tokens(r)) for r in order]
    hits, computed = sum(h for h, _ in served), sum(c for _, c in served)
    assert hits + computed == total and computed == SYSTEM + DOCS * DOC + REQUESTS * OWN
    print(f"unlimited cache: {hits:,} of {total:,} prompt tokens from the cache ({hits / total:.2%}), {computed:,} computed")
    per_token = 128 * KIB  # Llama-3.1-8B: 32 layers x 8 KV heads x 128 x 2 (K, V) x 2 bytes
    print(f"Llama-3.1-8B cache for these prompts: {total * per_token / GIB:.1f} GiB without sharing, "
          f"{computed * per_token / GIB:.2f} GiB shared")
    for capacity in (20000, 8000):
        limited = RadixCache(capacity)
        got = sum(limited.serve(request_tokens(r))[0] for r in order)
        assert limited.size <= capacity
        print(f"capacity {capacity:5d} tokens, LRU leaves: {got / total:.0%} from the cache")
    kept = RadixCache(4000)
    for r in order[:20]:
        kept.serve(request_tokens(r))
    node = kept.root
    for i in range(SYSTEM):
        node = node[i]  # a KeyError here would mean part of the shared prefix was evicted
    assert node, "the shared prefix is never evicted while requests below it live"
    tight = RadixCache(2000)
    tight.serve(request_tokens(0))
    assert tight.serve(request_tokens(0))[0] == SYSTEM + DOC + OWN, "a request's own cache is not evicted while it runs"

    gqa = kv_bytes_per_token(80, 2 * 8, 128, 2)
    mla = kv_bytes_per_token(61, 1, 512 + 64, 2)
    mha = 128 * (192 + 128) * 2
    for name, per in (("Llama-3-70B GQA, bf16", gqa), ("Llama-3-70B GQA, FP8", gqa // 2), ("DeepSeek-V3 MLA, bf16", mla)):
        print(f"{name:22s}: {per / KIB:6.1f} KiB per token, {per * 131072 / GIB:5.1f} GiB for 128k tokens")
    print(f"DeepSeek-V3 MLA latent: {512 + 64} elements a layer, {mla:,} bytes a token; with full multi-head K and V: "
          f"{mha / KIB:.0f} KiB a layer, {mha / (mla / 61):.0f}x the latent, which equals GQA with "
          f"{(512 + 64) / (2 * 128):.2f} groups")
    assert gqa == 320 * KIB and mla == 70_272


if __name__ == "__main__":
    main()
