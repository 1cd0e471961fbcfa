"""Lab 27 - PagedAttention: block tables, reference counts and copy-on-write for the KV cache."""
# lab:goal See how fixed-size KV blocks with a block table remove fragmentation and let sequences share a prefix.
#
# lab:mental-model
# - A sequence's KV cache is a list of physical block ids (its block table), not one contiguous slab.
# - Blocks are allocated when a sequence grows past its last block, so only the last block can be partly empty.
# - A block may belong to several sequences; a reference count says how many.
# - Writing into a shared block first copies it (copy-on-write), so the other owners see no change.
#
# lab:checkpoints
# - Reserving 2048 tokens per request wastes half of the memory for these four lengths.
#   answer: 8192 slots hold 4050 tokens: 50.6% is reserved but never written.
# - With 16-token blocks the waste is 14 slots out of 4064.
#   answer: Each sequence wastes less than one block, at most 15 slots; here 4+0+2+8 = 14, or 0.34%.
# - Three samples of one 300-token prompt need 24 blocks, not 60.
#   answer: The 18 full prompt blocks stay shared; only the partial last block is copied, by the first two writers.
# - Reading through the block table gives back exactly the tokens written.
#   answer: The gather is checked against each sequence's own token list after every copy-on-write.
#
# lab:traps
# - PagedAttention is not an approximation of attention: it changes where K and V live, and the kernel reads them through the block table exactly.
# - "vLLM is 24x faster because of paging": the paper reports 2-4x over FasterTransformer and Orca; 24x was the vLLM blog's comparison with HF Transformers.
# - Sharing blocks is not free to write: a write to a block with a reference count above 1 must copy first.
#
# lab:interview
# The state is the KV cache, reorganized from one (max_len, ...) slab per request into a pool of
# physical blocks of 16 tokens plus a per-sequence block table that maps logical block i to a
# physical id. Because blocks are allocated on demand, waste is confined to the last block of
# each sequence: 0.34% for these lengths instead of 50.6% with a 2048-token reservation. The
# same indirection lets parallel samples or beams share the prompt's blocks under reference
# counts and copy a block only when a writer would change a shared one. The trade-off is an
# indirection in the attention kernel and a block size choice: bigger blocks read more
# efficiently but waste more in the last block; the attention math itself is unchanged.

import numpy as np

BLOCK, MAX_LEN, NUM_BLOCKS = 16, 2048, 512
LENGTHS = [300, 1200, 750, 1800]


# lab:begin pool
class BlockPool:
    def __init__(self, num_blocks):
        self.kv = np.full((num_blocks, BLOCK), -1)  # (1)
        self.ref = np.zeros(num_blocks, dtype=int)
        self.free = list(range(num_blocks - 1, -1, -1))

    def alloc(self):
        b = self.free.pop()
        self.ref[b] = 1
        return b

    def release(self, b):
        self.ref[b] -= 1
        if self.ref[b] == 0:
            self.free.append(b)  # (2)
# lab:end pool
# lab:notes pool
# (1) The physical KV store: one row per block. A token id stands in for its K and V vectors.
# (2) A block returns to the free list only when its last owner lets go.
#
# lab:explain 42-56 A pool of blocks with reference counts
# The pool is the only owner of memory. `alloc` and `release` keep the reference count and the
# free list consistent, so a block shared by three sequences survives until all three finish.


# lab:begin sequence
class Sequence:
    def __init__(self, pool, table=(), length=0):
        self.pool, self.table, self.length = pool, list(table), length

    def append(self, token):
        slot = self.length % BLOCK
        if slot == 0:
            self.table.append(self.pool.alloc())  # (1)
        elif self.pool.ref[self.table[-1]] > 1:
            new = self.pool.alloc()
            self.pool.kv[new] = self.pool.kv[self.table[-1]]  # (2)
            self.pool.release(self.table[-1])
            self.table[-1] = new
        self.pool.kv[self.table[-1], slot] = token
        self.length += 1

    def fork(self):
        self.pool.ref[self.table] += 1  # (3)
        return Sequence(self.pool, self.table, self.length)

    def gather(self):
        return self.pool.kv[self.table].ravel()[: self.length]  # (4)
# lab:end sequence
# lab:notes sequence
# (1) A new block is taken only when the last one is full, so waste stays below one block.
# (2) Copy-on-write: the writer gets a private copy of the shared last block, then drops its reference.
# (3) Forking copies the table (a list of ids), not the KV data: every block gains one owner.
# (4) What the attention kernel does: read the blocks in table order and ignore the unused tail.
#
# lab:explain 68-82 Growing a sequence
# `append` touches at most one block. It allocates when the slot index wraps to 0 and copies when
# it is about to write into a block that someone else also references.
#
# lab:explain 84-89 Sharing without copying
# `fork` is what parallel sampling and beam search use: the child starts with the parent's table.
# `gather` shows that logical order comes from the table; physical ids may be anywhere.


def main():
    rng = np.random.default_rng(0)
    used = sum(LENGTHS)
    contiguous = 1 - used / (MAX_LEN * len(LENGTHS))
    pool, seqs = BlockPool(NUM_BLOCKS), []
    for n in LENGTHS:
        seqs.append(Sequence(pool))
        tokens = rng.integers(0, 32000, size=n)
        for tok in tokens:
            seqs[-1].append(tok)
        assert np.array_equal(seqs[-1].gather(), tokens)
    allocated = BLOCK * sum(len(s.table) for s in seqs)
    paged = 1 - used / allocated
    print(f"lengths {LENGTHS}: {used} tokens")
    print(f"contiguous, {MAX_LEN} reserved each: {MAX_LEN * len(LENGTHS)} slots, waste {contiguous:.1%}")
    print(f"paged, {BLOCK}-token blocks: {allocated} slots in "
          f"{allocated // BLOCK} blocks, waste {paged:.2%}")
    assert round(contiguous, 3) == 0.506 and round(paged, 4) == 0.0034
    for b in [b for s in seqs for b in s.table]:
        pool.release(b)
    assert len(pool.free) == NUM_BLOCKS

    prompt = rng.integers(0, 32000, size=300)
    parent = Sequence(pool)
    for tok in prompt:
        parent.append(tok)
    samples = [parent, parent.fork(), parent.fork()]
    print(f"prompt of 300 tokens: {len(parent.table)} blocks, last one holds {300 % BLOCK} tokens, "
          f"ref count {pool.ref[parent.table[-1]]} after 2 forks")
    for s in samples:
        for tok in rng.integers(0, 32000, size=20):
            s.append(tok)
        assert np.array_equal(s.gather()[:300], prompt)
    shared = NUM_BLOCKS - len(pool.free)
    alone = len(samples) * -(-320 // BLOCK)
    print(f"3 samples x 320 tokens: {shared} blocks with sharing vs {alone} without; "
          f"ref counts of block 0 and of the last blocks: {pool.ref[samples[0].table[0]]}, "
          f"{[int(pool.ref[s.table[-1]]) for s in samples]}")
    assert shared == 24 and alone == 60 and pool.ref[samples[0].table[0]] == 3
    assert len({tuple(s.gather()[300:]) for s in samples}) == 3


if __name__ == "__main__":
    main()
