"""Lab 23 - Online softmax.

Softmax over a row of scores computed one chunk at a time, keeping only a running maximum and
a running sum, and the same trick applied to a weighted sum of values (one attention row).
"""
# lab:goal Merge per-chunk (max, sum) statistics so that chunked softmax equals full softmax exactly.
#
# lab:mental-model
# - A chunk of scores is summarized by two numbers: its maximum `m` and `l` = sum of exp(s - m).
# - Two summaries merge by moving both sums to the larger maximum: multiply by exp(m_old - m_new).
# - The same factor rescales a running output `acc`, so attention needs one pass over keys.
#
# lab:checkpoints
# - Does the chunk size change the result?
#   answer: Only at rounding level: every chunk size, including 1 and the whole row, agrees with
#   the full softmax to better than 1e-15.
# - Why subtract a maximum at all?
#   answer: exp(800) overflows float64; with scores shifted by the max every exponent is at most 0.
# - Does the order in which chunks merge matter?
#   answer: No. The merge is associative and commutative, so a tree of merges gives the same
#   (m, l) as a left-to-right fold, up to rounding; devices can merge partial results in any order.
#
# lab:traps
# - "Chunking approximates softmax." It is an exact rewrite; nothing is dropped or estimated.
# - Forgetting to rescale `acc` (or `l`) when the maximum grows gives a wrong answer that still
#   looks like a plausible weighted average.
#
# lab:interview
# The state is a triple per query row: the running maximum `m`, the running normalizer `l`, and
# an unnormalized output `acc` of shape (d,). Scores arrive chunk by chunk along the key axis;
# when a chunk raises the maximum, the old `l` and `acc` are multiplied by exp(m_old - m_new)
# so that every term is measured against the same reference. After the last chunk, `acc / l`
# is exactly the softmax-weighted sum of values. The trade-off: a few extra multiplies per chunk
# buy a single pass over keys and O(d) state instead of storing the whole row of scores, which is
# the idea FlashAttention and ring attention build on.

import numpy as np

N, D = 1000, 16  # one query row: 1000 keys, value dimension 16


# lab:begin merge
def chunk_stats(s):
    m = s.max()  # (1)
    return m, np.exp(s - m).sum()


def merge(a, b):
    (m_a, l_a), (m_b, l_b) = a, b
    m = max(m_a, m_b)
    return m, l_a * np.exp(m_a - m) + l_b * np.exp(m_b - m)  # (2)


def online_softmax(s, chunk):
    state = (-np.inf, 0.0)  # (3)
    for start in range(0, len(s), chunk):
        state = merge(state, chunk_stats(s[start:start + chunk]))
    m, l = state
    return np.exp(s - m) / l  # (4)
# lab:end merge
# lab:notes merge
# (1) The chunk's own maximum keeps every exponent at most 0, so `exp` cannot overflow.
# (2) Both sums are moved to the common maximum; the factor exp(m_x - m) is at most 1.
# (3) The empty state: exp(-inf - m) is 0, so merging into it returns the first chunk unchanged.
# (4) A second pass over the scores normalizes them; attention avoids it by carrying `acc` instead.
#
# lab:explain 43-51 Two numbers per chunk, one merge rule
# `chunk_stats` reduces a chunk to (max, sum of shifted exponentials). `merge` combines two such
# summaries into the summary of their union. Folding it over the chunks gives the global max and
# normalizer $l = \sum_j e^{s_j - m}$.
#
# lab:explain 54-59 Folding over chunks
# The loop never holds more than one chunk; the final (m, l) equal what the full row would give.


# lab:begin attention-row
def online_attention_row(s, v, chunk):
    m, l, acc = -np.inf, 0.0, np.zeros(v.shape[1])
    for start in range(0, len(s), chunk):
        s_c, v_c = s[start:start + chunk], v[start:start + chunk]
        m_new = max(m, s_c.max())
        scale = np.exp(m - m_new)  # (1)
        p = np.exp(s_c - m_new)  # (2)
        l = l * scale + p.sum()
        acc = acc * scale + p @ v_c  # (3)
        m = m_new
    return acc / l  # (4)
# lab:end attention-row
# lab:notes attention-row
# (1) The rescale factor exp(m_old - m_new): 1 when the max did not move, smaller when it grew.
# (2) Unnormalized probabilities of this chunk, relative to the current maximum.
# (3) The output is accumulated unnormalized and rescaled exactly like `l`.
# (4) One division at the end; no score is ever revisited.
#
# lab:explain 77-87 One pass over keys and values
# Each step updates the triple (m, l, acc). Because `acc` and `l` carry the same factor, their
# ratio is the softmax-weighted average of the values seen so far.


def main():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(N) * 3.0
    v = rng.standard_normal((N, D))
    p_full = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    print(f"row of {N} scores, values ({N}, {D})")
    print("chunk   max |online - full| softmax   max |online - full| output")
    for chunk in (1, 7, 128, N):
        err_p = np.abs(online_softmax(s, chunk) - p_full).max()
        err_o = np.abs(online_attention_row(s, v, chunk) - p_full @ v).max()
        print(f"{chunk:5d}   {err_p:29.1e}   {err_o:26.1e}")
        assert err_p < 1e-14 and err_o < 1e-14, "chunked softmax is exact"

    parts = [chunk_stats(s[i:i + 250]) for i in range(0, N, 250)]
    fold = merge(merge(merge(parts[0], parts[1]), parts[2]), parts[3])
    tree = merge(merge(parts[2], parts[3]), merge(parts[0], parts[1]))
    print(f"fold vs tree merge: m {fold[0]:.4f} vs {tree[0]:.4f}, l {fold[1]:.6f} vs {tree[1]:.6f}")
    assert fold[0] == tree[0] and abs(fold[1] - tree[1]) < 1e-12

    big = s + 800.0
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(big) / np.exp(big).sum()
    print(f"scores + 800: naive exp gives {naive[0]}, online gives {online_softmax(big, 128)[0]:.3e}"
          f" (full softmax {p_full[0]:.3e})")
    assert np.abs(online_softmax(big, 128) - p_full).max() < 1e-14


if __name__ == "__main__":
    main()
