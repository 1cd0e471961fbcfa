"""Lab 27 - PagedAttention: block tables, reference counts and copy-on-write for the KV cache."""
# lab:goal See how fixed-size KV blocks with a block table remove the memory that contiguous reservations leave unused, and let sequences share a prefix.
#
# lab:mental-model
# - A sequence's KV cache is a list of physical block ids (its block table), not one contiguous slab: token i lives in block `table[i // 16]`, slot `i % 16`.
# - Blocks are allocated when a sequence grows past its last block, so only the last block can be partly empty.
# - A block may belong to several sequences; a reference count says how many.
# - Writing into a shared block first copies it (copy-on-write), so the other owners see no change.
#
# lab:checkpoints
# - If each of the four requests reserves 2048 tokens, what fraction of the reserved memory is never written?
#   answer: 1 - 4050 / 8192 = 50.6%: the requests hold 4050 tokens in 8192 reserved slots.
#   see: output "8192 slots, waste 50.6%"
#   predict: number 3, within 10%
# - With 16-token blocks, how many allocated slots stay empty, and why can no sequence leave 16 or more empty?
#   answer: 4064 - 4050 = 14 (4 + 0 + 2 + 8 for the four lengths). A block is taken only when the slot index wraps to 0, so only the last block is partial: at most 15 empty slots per sequence.
#   see: lines 116-118
# - After a 300-token prompt is forked twice, how many tokens does its last block hold, and what is that block's reference count?
#   answer: 12 tokens (300 = 18 x 16 + 12) and a count of 3: the parent plus two forks, since `fork` adds one owner to every block of the table.
#   see: output "last one holds 12 tokens, ref count 3"
# - The three samples then add 20 tokens each. How many blocks are in use, and which blocks were copied?
#   answer: 24 = 19 prompt blocks + 2 copies of the partial block (made by the first two writers; the third finds a count of 1 and writes in place) + 3 new blocks for the tokens generated after the prompt.
#   see: output "24 blocks with sharing vs 60 without"
# - What does the final check on the three samples verify, and which bug would it catch?
#   answer: After all of them have written, each reads back exactly the prompt followed by its own 20 tokens. A missing copy-on-write would let the second writer overwrite the first one's tokens in the shared block.
#   see: lines 119-123
# lab:traps
# - PagedAttention approximates attention to save memory.
#   why: It only changes where K and V live: `gather` (line 132) returns exactly the tokens written, in order, and the kernel computes the same attention from them.
# - vLLM is 24x faster than other engines because of paging.
#   why: The paper measures 2-4x the throughput of FasterTransformer and Orca at the same latency; 24x was the vLLM blog's comparison with Hugging Face Transformers.
# - Paging makes each token's KV cache smaller.
#   why: A token stores the same K and V bytes in a block as in a contiguous buffer. Paging removes memory reserved but never used (50.6% of the contiguous reservation here), so more sequences fit.
# - Paging removes all waste.
#   why: The last block of each sequence can be partly empty: 14 slots here, at most 15 per sequence, and more with bigger blocks.
#
# lab:interview
# PagedAttention manages the KV cache like virtual memory. The cache is a pool of fixed-size
# blocks, 16 tokens each here, and every sequence keeps a block table that maps its logical
# blocks to physical ones.
#
# Blocks are allocated on demand, so only a sequence's last block can be partly empty: 0.34%
# waste for these four requests against 50.6% with 2048-token reservations. Forked samples
# share blocks under reference counts and copy one only before writing into it, so three
# samples of one prompt need 24 blocks, not 60.
#
# Attention reads K and V through the table and computes exactly the same result. The cost is
# an indirection in the kernel and a block size to choose: bigger blocks read more efficiently
# but waste more.
#
# lab:intuition
# - A block table is a page table: logical token i is found at block `table[i // 16]`, slot `i % 16`, and the physical blocks can sit anywhere in the pool.
# - The waste is the unused tail of the last page of a notebook: never a full page, however long the text.
# - Forking photocopies the table of contents, not the book; a page is copied only when someone is about to write on a page others still read.

# lab:figure block-table
# kind: heatmap
# title: Forked samples share the prompt's blocks until one of them writes into the partly filled last one
# caption: Each row is a block table (a cell: the physical block of that logical block), the free list's next
#   20 blocks on top. The first two writers into shared block 18 get copies, the third, its last owner, writes
#   in place (24 blocks in all); releasing sample 1 puts its two private blocks at the head of the free list.
# x: logical "logical block (free list: order of reuse)" d
# y: row "table"
# color: state "block"
# label: block "physical block" d
# control: stage "stage"
# default: sample 2 wrote 20 tokens
# says: At "{{stage}}", {{rows:state|state=shared}} table entries point at a shared block and {{rows:state|state=copy made on write}} at copies made on write.
# lab:figure waste
# kind: bar
# title: Reserving 2048 slots per request leaves half the memory empty; 16-token blocks leave 14 slots
# caption: KV slots of each of the four requests. Contiguous reservations leave 50.6% of the 8192 slots
#   empty; blocks leave only the unused tail of each last block, 4 + 0 + 2 + 8 = 14 of 4064 (0.34%).
# x: request "request length, layout"
# y: count "KV slots (tokens)" d
# color: slots "slots"

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
# lab:explain 85-99 A pool of blocks with reference counts
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
# lab:explain 115-125 Growing a sequence
# `append` touches at most one block. It allocates when the slot index wraps to 0 and copies when
# it is about to write into a block that someone else also references.
#
# lab:explain 127-132 Sharing without copying
# `fork` is what parallel sampling and beam search use: the child starts with the parent's table.
# `gather` shows that logical order comes from the table; physical ids may be anywhere.


def figures():
    """The data of the figures declared above, computed with the lab's own classes."""
    # waste: each request's slots in a 2048-token reservation and in 16-token blocks
    waste = []
    for n in LENGTHS:
        seq = Sequence(BlockPool(NUM_BLOCKS))
        for tok in range(n):
            seq.append(tok)
        for layout, slots in (("reserved", MAX_LEN), ("paged", BLOCK * len(seq.table))):
            waste += [(f"{n}, {layout}", "unused", slots - n), (f"{n}, {layout}", "holding a token", n)]
    # block-table: main()'s fork scenario in an empty pool; after each stage, each table and the free list
    pool, rows = BlockPool(NUM_BLOCKS), []
    parent = Sequence(pool)
    for tok in range(300):
        parent.append(tok)
    prompt_blocks, samples = list(parent.table), {0: parent, 1: parent.fork(), 2: parent.fork()}

    def snapshot(stage):
        rows.extend((stage, "free list", i, b, "free") for i, b in enumerate(pool.free[::-1][:20]))
        for i, seq in samples.items():
            for logical, b in enumerate(seq.table):
                state = ("shared" if pool.ref[b] > 1 else "prompt block, now private" if b in prompt_blocks
                         else "copy made on write" if logical < len(prompt_blocks) else "new block")
                rows.append((stage, f"sample {i}", logical, b, state))
    snapshot("after 2 forks")
    for i, seq in samples.items():
        for tok in range(20):
            seq.append(1000 * i + tok)
        snapshot(f"sample {i} wrote 20 tokens")
    for b in samples.pop(1).table:
        pool.release(b)
    snapshot("sample 1 released")
    return {"waste": dict(zip(("request", "slots", "count"), map(list, zip(*waste)))),
            "block-table": dict(zip(("stage", "row", "logical", "block", "state"), map(list, zip(*rows))))}


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
    own = [rng.integers(0, 32000, size=20) for _ in samples]
    for s, new in zip(samples, own):
        for tok in new:
            s.append(tok)
    shared = NUM_BLOCKS - len(pool.free)
    alone = len(samples) * -(-320 // BLOCK)
    print(f"3 samples x 320 tokens: {shared} blocks with sharing vs {alone} without; "
          f"ref counts of block 0 and of the last blocks: {pool.ref[samples[0].table[0]]}, "
          f"{[int(pool.ref[s.table[-1]]) for s in samples]}")
    assert shared == 24 and alone == 60 and pool.ref[samples[0].table[0]] == 3
    for s, new in zip(samples, own):  # copy-on-write: each sample sees the prompt and only its own tokens
        assert np.array_equal(s.gather(), np.concatenate([prompt, new]))


if __name__ == "__main__":
    main()
