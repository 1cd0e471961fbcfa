"""Lab 13 - Recompute & gradient accumulation: two ways to buy memory without changing the math.

Recompute stores only each block's input and reruns its forward during backward (more FLOPs);
accumulation splits a batch into micro-batches and sums their gradients (more time). Both give
the same gradients as the plain step; the script checks that and prices recompute for GPT-3.
"""
# lab:goal Trade compute (recompute) or time (accumulation) for activation memory, and check that the gradients stay the same.
#
# lab:mental-model
# - Without recompute, backward reads every tensor the forward saved. Full recompute keeps only each block's input and reruns the block's forward just before its backward; selective recompute reruns only the attention-score part, large to store but cheap to compute.
# - Full recompute runs each forward twice: about $8N$ FLOPs per token instead of $6N$.
# - Gradient accumulation runs k micro-batches of B/k examples one after another, adds their gradients, then takes one optimizer step for the global batch of B.
#
# lab:checkpoints
# - How many bytes does the toy keep for backward with and without recompute, and why is the ratio 5?
#   answer: 491,520 B against 98,304 B. Per block the plain step keeps `x` (64 x 32) and `hidden` (64 rows, four times as wide), five times the input alone.
#   see: output "kept 491,520 B -> 98,304 B"
#   predict: number 2, within 5%
# - What does full recompute do to GPT-3's stored activations (s = 2048, b = 1), and what does it need on top while a layer is recomputed?
#   answer: 275 GB become 4.8 GB ($2sbh$ per layer instead of $sbh(34 + 5as/h)$), plus one layer's full set, 2.87 GB, during that layer's backward.
#   see: output "GPT-3 recompute full"
# - Are the gradients with recompute only close to the plain ones, or equal?
#   answer: Equal bit for bit here: line 107 reruns the same numpy operations on the same stored input, and nothing is random. In a framework that needs deterministic kernels and the RNG state restored, so that dropout draws the same masks.
#   see: output "gradients bitwise equal: True"
# - Why does line 118 divide each micro-batch gradient by k?
#   answer: Each micro-batch gradient is of its own mean loss over B/k examples; the full-batch mean is the average of the k micro-batch means. Without the 1/k the gradient is k times too large.
#   see: line 118
# lab:traps
# - Gradient accumulation changes the optimizer math.
#   why: The optimizer steps once per global batch on the summed gradient, which equals the full-batch gradient to
#   rounding (max diff < 1e-12 in the output). Only operations that mix examples inside a batch, such as batch
#   normalization, would notice the split.
# - Dividing each micro-batch loss by k is always right.
#   why: Only for equal micro-batches: with 10/22/16/16 examples and loss / 4 the gradient is off by 1.1e-01 in the
#   output. Weight each micro-batch by its share of the examples (or of the tokens, for a per-token loss).
# - Recompute is free memory.
#   why: It adds one forward per step, about a third more FLOPs (x1.333 in the output). At a fixed batch and layout
#   that slows the step and lowers MFU; it pays off when the freed memory allows a larger micro-batch or less
#   model parallelism.
#
# lab:interview
# Both techniques shrink the activations the forward pass keeps for backward. Full recompute keeps only each
# block's input and reruns its forward just before its backward: for GPT-3 at s = 2048 stored activations fall
# from 275 GB to 4.8 GB, for about $8N$ instead of $6N$ FLOPs per token.
#
# Gradient accumulation splits a global batch of B into k micro-batches of B/k, sums their gradients of loss / k
# and steps once, so peak activations shrink by k at the same FLOPs, spent in k smaller passes.
#
# Neither changes the gradient: recompute is bit-identical in a deterministic implementation with the RNG state
# restored, and accumulation matches to rounding when the micro-batches are equal.
#
# lab:intuition
# - Full recompute keeps one bookmark per layer, its input ($2sbh$ bytes), and rereads the layer from that bookmark when backward reaches it.
# - Accumulation pays in installments: the same FLOPs and the same gradient in k smaller payments, with only one micro-batch's activations alive at a time.
# - Selective recompute aims at what is big to store but cheap to redo: the s x s attention tensors, 70% of GPT-3's activations for 0.9% more FLOPs of a training step. The paper's 2.7% (Appendix A) is the same recomputed work counted against one forward pass instead of a forward and a backward, which cost three forward passes.

# lab:figure trade
# kind: point
# title: Selective recompute frees most of the memory for almost no FLOPs; full recompute costs a third more
# caption: GPT-3 (96 layers, b = 1): activations kept for backward (log scale) against a layer's matmul FLOPs per
#   token, relative to no recompute. At s = 2048 selective keeps 82.1 of 275.4 GB for 0.9% more FLOPs and full keeps
#   4.8 GB for a third more (x1.333); the longer the context, the more selective saves, and the more it costs.
# x: flops "FLOPs per token, relative to no recompute" .3f
# y: gb "stored activations (GB)" .1f
# y-scale: log
# color: choice "recompute"
# control: s "sequence length s" ,d
# default: 2048
# says: At s = {{s}} selective recompute keeps {{gb|choice=selective}} of {{gb|choice=none}} GB for {{flops|choice=selective}} times the FLOPs; full recompute keeps {{gb|choice=full}} GB for {{flops|choice=full}} times.
# lab:figure accumulation
# kind: line
# title: Accumulation divides what backward keeps by k, and recompute divides it by 5 on top
# caption: The toy's bytes kept for backward while one micro-batch runs, for its batch of 64 split into k equal
#   micro-batches: 491,520 B at k = 1 and 30,720 B at k = 16, or 98,304 B and 6,144 B with recompute. The
#   step's FLOPs are the same for every k.
# x: k "micro-batches k" d
# y: kept "bytes kept for backward" ,d
# color: mode "mode"
# x-scale: log
# y-scale: log
import numpy as np

flops = {"n": 0}


def mm(a, b):
    flops["n"] += 2 * a.shape[0] * a.shape[1] * b.shape[1]
    return a @ b


# lab:begin recompute
def block_forward(x, w1, w2):
    hidden = np.tanh(mm(x, w1))
    return x + mm(hidden, w2), (x, hidden)  # (1)


def grads(ws, x, recompute=False):
    """Gradients of 0.5 * mean over rows of |out|^2, and the bytes kept for backward."""
    stash, kept = [], 0
    for w1, w2 in ws:
        y, saved = block_forward(x, w1, w2)
        stash.append((x,) if recompute else saved)  # (2)
        kept += sum(t.nbytes for t in stash[-1])
        x = y
    dy, out = x / len(x), []
    for (w1, w2), item in zip(ws[::-1], stash[::-1]):
        x, hidden = block_forward(item[0], w1, w2)[1] if recompute else item  # (3)
        du = mm(dy, w2.T) * (1 - hidden**2)
        out.append((mm(x.T, du), mm(hidden.T, dy)))
        dy = dy + mm(du, w1.T)  # (4)
    return out[::-1], kept


def accumulated(ws, x, sizes):
    total = [[0.0, 0.0] for _ in ws]
    for chunk in np.split(x, np.cumsum(sizes)[:-1]):
        for t, g in zip(total, grads(ws, chunk)[0]):
            t[0], t[1] = t[0] + g[0] / len(sizes), t[1] + g[1] / len(sizes)  # (5)
    return total
# lab:end recompute
# lab:notes recompute
# (1) A residual block; backward needs its input `x` and the 4h-wide `hidden`.
# (2) The only difference: keep both tensors, or only the block input.
# (3) Recompute reruns this block's forward right before its backward, then drops the result.
# (4) The residual path: the input gradient is the output gradient plus the branch's.
# (5) Each micro-batch gradient is of its mean loss divided by k, so the sum is the full-batch mean.
#
# lab:explain 92-94 The block and what it saves
# Backward of `hidden @ w2` needs `hidden`; backward of `x @ w1` needs `x`. These are the saved
# activations, and `hidden` is four times wider than `x`.
#
# lab:explain 97-111 Recompute: keep less, run the forward again
# With `recompute=True` the stash holds one (rows, h) tensor per block. The backward loop rebuilds
# `hidden` from it with the same weights, so every later operation sees the same numbers. That makes the
# gradients bit-identical here; a framework needs deterministic kernels and must restore the random
# state before the rerun, or dropout would draw different masks (PyTorch's checkpoint restores it by default).
#
# lab:explain 114-119 Gradient accumulation
# The batch is cut along its first axis and processed chunk by chunk; only one chunk's
# activations exist at a time. The optimizer would step once, after the loop.


def toy_setup(B=64, h=32, L=6):
    """The toy of main(): L residual blocks of width h, and a batch of B rows."""
    rng = np.random.default_rng(0)
    ws = [(rng.standard_normal((h, 4 * h)) / h**0.5, rng.standard_normal((4 * h, h)) / (2 * h))
          for _ in range(L)]
    return ws, rng.standard_normal((B, h))


def recompute_options(s, b, h, a):
    """Per GPT layer: bytes kept for backward and matmul FLOPs per token, for each recompute choice."""
    sbh, weights, scores = s * b * h, 6 * 12 * h * h, 12 * s * h  # training FLOPs of weights and QK^T, AV
    return {"none": (sbh * (34 + 5 * a * s / h), weights + scores),
            "selective": (34 * sbh, weights + scores + scores / 3),  # reruns the forward of QK^T and AV
            "full": (2 * sbh, (weights + scores) * 4 / 3)}  # keeps the layer input, reruns its whole forward


def figures():
    """The data of the figures declared above, from the lab's own functions."""
    trade = [(s, flops / options["none"][1], 96 * kept / 1e9, name)  # trade: GPT-3's 96 layers, b = 1
             for s in (1024, 2048, 4096, 8192) for options in [recompute_options(s, 1, 12288, 96)]
             for name, (kept, flops) in options.items()]
    ws, x = toy_setup()
    accumulation = [(k, grads(ws, x[:len(x) // k], recompute)[1], "recompute" if recompute else "plain")
                    for recompute in (False, True) for k in (1, 2, 4, 8, 16)]  # one micro-batch of B/k rows
    return {"trade": dict(zip(("s", "flops", "gb", "choice"), map(list, zip(*trade)))),
            "accumulation": dict(zip(("k", "kept", "mode"), map(list, zip(*accumulation))))}


def main():
    ws, x = toy_setup()
    L = len(ws)

    flops["n"] = 0
    plain, kept_plain = grads(ws, x)
    f_plain, flops["n"] = flops["n"], 0
    again, kept_rc = grads(ws, x, recompute=True)
    same = all(np.array_equal(a, b) for p, q in zip(plain, again) for a, b in zip(p, q))
    print(f"toy, {L} blocks: kept {kept_plain:,d} B -> {kept_rc:,d} B with recompute, FLOPs "
          f"x{flops['n'] / f_plain:.3f}, gradients bitwise equal: {same}")
    assert same and flops["n"] * 6 == f_plain * 8

    acc = accumulated(ws, x, [16] * 4)
    err = max(np.abs(a - b).max() for p, q in zip(plain, acc) for a, b in zip(p, q))
    bad = accumulated(ws, x, [10, 22, 16, 16])
    err_bad = max(np.abs(a - b).max() for p, q in zip(plain, bad) for a, b in zip(p, q))
    print(f"4 x 16 accumulated vs batch 64: max diff < 1e-12: {err < 1e-12}; "
          f"unequal 10/22/16/16 with loss / 4: max diff {err_bad:.1e}")
    assert err < 1e-12 and err_bad > 1e-6

    Lg, hg, a, s, b = 96, 12288, 96, 2048, 1  # GPT-3, as in lab 12
    sbh = s * b * hg
    options = recompute_options(s, b, hg, a)
    for name, (per_layer, _) in options.items():
        print(f"GPT-3 recompute {name:9s}: {Lg * per_layer / 1e9:6.1f} GB stored activations")
    print(f"full recompute also holds one layer's {sbh * (34 + 5 * a * s / hg) / 1e9:.2f} GB "
          f"during its backward and costs 8N instead of 6N FLOPs per token")
    assert round(Lg * 2 * sbh / 1e9, 1) == 4.8 and np.isclose(options["full"][1] * 6, options["none"][1] * 8)


if __name__ == "__main__":
    main()
