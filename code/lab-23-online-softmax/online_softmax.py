"""Lab 23 - Online softmax: one attention row computed chunk by chunk with a running (max, sum)."""
# lab:goal Merge per-chunk (max, sum) statistics so that chunked softmax equals full softmax exactly.
#
# lab:mental-model
# - One attention row: a query has a score $s_j$ for every key j; softmax turns the scores into
#   weights, and the output is the weighted average of the value vectors $v_j$.
# - A chunk of scores is summarized by two numbers: its maximum `m` and `l` = sum of exp(s - m).
# - Two summaries merge by moving both sums to the larger maximum: multiply by exp(m_old - m_new).
# - The same factor rescales a running output `acc`, so attention needs one pass over keys.
#
# lab:checkpoints
# - What shape does `acc` have, and what does the loop never store?
#   answer: (16,), one running weighted sum of value vectors. The 1000 scores are never held at
#   once: each chunk's scores are used and dropped.
#   see: lines 109-120
# - With one key per chunk, how many of the later chunks raise the running maximum?
#   answer: 9, so the factor exp(m_old - m_new) differs from 1 only 9 times (random scores set a
#   new record only about $\ln 1000 \approx 7$ times).
#   see: output "    1     1000          9"
#   predict: number 3, within 0%
# - What does `np.exp` give for a score of 805, and why does the online version still work?
#   answer: inf (float64's exp overflows past about 710), and inf / inf is nan. The online version only
#   exponentiates s - m <= 0, so every exponential lies in (0, 1].
#   see: output "naive exp gives nan"
# - If the four 250-key parts are merged as a tree instead of left to right, does (m, l) change?
#   answer: No: the merge is associative and commutative, so both give m = 9.1981, l = 4.276688.
#   see: output "fold vs tree merge"
# lab:traps
# - "Chunking approximates softmax: the chunked result is only close to the full one."
#   why: The merge is an identity, $e^{s_j - m_a} e^{m_a - m} = e^{s_j - m}$, so the last `l` is
#   the full normalizer. Only float64 rounding differs: below 1e-14 for every chunk size printed.
# - "The rescale only guards against overflow; without it the average is still right."
#   why: `l` and `acc` were summed against an older, smaller maximum, so skipping the factor weights
#   early keys $e^{m_{new} - m_{old}}$ times too much. The result still looks like a plausible
#   average, which is why line 162 compares it with the full softmax.
#
# lab:interview
# Online softmax computes one attention row, $\mathrm{softmax}(s)\,V$, in a single pass over the
# keys. The state is the running maximum $m$, the normalizer $l = \sum_j e^{s_j - m}$ and an
# unnormalized output $\mathrm{acc}$ of shape $(d,)$.
#
# When a chunk raises the maximum to $m'$, both $l$ and $\mathrm{acc}$ are multiplied by
# $e^{m - m'}$, so every term is measured against one reference. After the last chunk,
# $\mathrm{acc}/l$ equals the full result up to float64 rounding.
#
# The trade-off: one rescale per chunk buys O(d) state instead of a stored row of N scores, and the
# merge is associative, which FlashAttention and ring attention build on.
#
# lab:intuition
# - Read (m, l) as the number $l\,e^{m}$ in floating-point form, m the exponent and l the mantissa:
#   merging two summaries is adding two such numbers, shifting the smaller exponent first.
# - Stop the loop after any chunk and `acc / l` is already the exact attention over the keys seen
#   so far; each chunk only refines it. Ring attention merges partial results the same way.
# - Online softmax saves memory and passes, not arithmetic: it adds one rescale per chunk.

# lab:figure running
# kind: line
# title: The running sum drops each time a chunk raises the running maximum
# caption: With 7-key chunks the maximum grows 6 times, as the table counts. At key 224 it jumps from
#   6.931 to 9.198, so the merge multiplies l by 0.104 (from 4.832 to 1.502); l then climbs back to
#   4.277, the full row's normalizer. Larger chunks see fewer records, so they rescale less often.
# x: keys "keys seen" d
# y: value "value" .3f
# color: series "state after the chunk"
# control: chunk "keys per chunk" d
# default: 7
# says: With {{chunk}}-key chunks the running maximum rises {{rows:value|series=rescale factor exp(m_old - m_new), value!=1}} times after the first chunk; the smallest rescale factor is {{value|series=rescale factor exp(m_old - m_new), value=min}}.
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
# lab:explain 74-82 Two numbers per chunk, one merge rule
# `chunk_stats` reduces a chunk to (max, sum of shifted exponentials). `merge` combines two such
# summaries into the summary of their union. Folding it over the chunks gives the global max and
# normalizer $l = \sum_j e^{s_j - m}$.
#
# lab:explain 85-90 Folding over chunks
# The loop never holds more than one chunk; the final (m, l) equal what the full row would give.


# lab:begin attention-row
def online_attention_row(s, v, chunk):
    m, l, acc = -np.inf, 0.0, np.zeros(v.shape[1])
    grew = 0  # chunks after the first that raised the maximum
    for start in range(0, len(s), chunk):
        s_c, v_c = s[start:start + chunk], v[start:start + chunk]
        m_new = max(m, s_c.max())
        grew += bool(np.isfinite(m) and m_new > m)
        scale = np.exp(m - m_new)  # (1)
        p = np.exp(s_c - m_new)  # (2)
        l = l * scale + p.sum()
        acc = acc * scale + p @ v_c  # (3)
        m = m_new
    return acc / l, grew  # (4)
# lab:end attention-row
# lab:notes attention-row
# (1) The rescale factor exp(m_old - m_new): 1 when the max did not move, smaller when it grew.
# (2) Unnormalized probabilities of this chunk, relative to the current maximum.
# (3) The output is accumulated unnormalized and rescaled exactly like `l`.
# (4) One division at the end; no score is ever revisited.
#
# lab:explain 108-120 One pass over keys and values
# Each step updates the triple (m, l, acc). Both carry the same factor, so `acc / l` is the softmax-
# weighted average of the values seen so far. `grew` counts how often that factor is not 1.


def figures():
    """The data of the figure declared above, computed with the lab's own functions."""
    s = np.random.default_rng(0).standard_normal(N) * 3.0  # the scores main() draws first
    # running: (m, l) after each chunk, folded with `merge` as in online_softmax, and the factor
    # exp(m_old - m_new) that the merge applied to the old sum (1 when the maximum did not move)
    rows = []
    for chunk in (7, 32, 128):
        state = (-np.inf, 0.0)
        for start in range(0, N, chunk):
            m_old = state[0]
            state = merge(state, chunk_stats(s[start:start + chunk]))
            seen = min(start + chunk, N)
            rows += [(chunk, seen, float(state[0]), "running max m"), (chunk, seen, float(state[1]), "running sum l")]
            if start:  # the first chunk merges into the empty state: there is no old sum to rescale
                rows.append((chunk, seen, float(np.exp(m_old - state[0])), "rescale factor exp(m_old - m_new)"))
    return {"running": dict(zip(("chunk", "keys", "value", "series"), map(list, zip(*rows))))}


def main():
    rng = np.random.default_rng(0)
    s = rng.standard_normal(N) * 3.0
    v = rng.standard_normal((N, D))
    p_full = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    print(f"row of {N} scores, values ({N}, {D})")
    print("chunk   chunks   max grew   equal to full softmax")
    for chunk in (1, 7, 128, N):
        out, grew = online_attention_row(s, v, chunk)
        err_p = np.abs(online_softmax(s, chunk) - p_full).max()
        err_o = np.abs(out - p_full @ v).max()
        assert err_p < 1e-14 and err_o < 1e-14, "chunked softmax is exact"
        print(f"{chunk:5d}   {-(-N // chunk):6d}   {grew:8d}   yes: probabilities and output within 1e-14")

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
