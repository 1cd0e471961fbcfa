"""Lab 12 - Memory anatomy: the training-memory budget of a GPT-3-like model.

Model state (weights, gradients, Adam moments) costs a fixed number of bytes per parameter;
activations cost bytes per token and layer. Lists every tensor a layer saves for backward
(Korthikanti et al., 2022), checks the sum against sbh(34 + 5as/h), and prices GPT-3 175B.
"""
# lab:goal Split the training-memory budget into model state and activations, and see what each scales with.
#
# lab:mental-model
# - Model state depends on the parameter count only: 16 B/param for mixed-precision Adam in the ZeRO accounting.
# - Activations are the tensors the forward pass keeps because backward reads them: $sbh(34 + 5as/h)$ bytes per layer with 16-bit values (s tokens per sequence, b sequences per micro-batch, h hidden width, a heads).
# - Every activation term has the factor $sb$, the tokens in the micro-batch; the attention-score term has $s$ a second time.
#
# lab:checkpoints
# - What do the saved tensors of one GPT-3 layer (s = 2048, b = 1, h = 12288, a = 96) add up to, and how much of it is in the (s, s) score tensors?
#   answer: 2.87 GB per layer, 70% of it in the three (b, a, s, s) tensors; 275 GB for 96 layers, on top of 2.79 TB of model state.
#   see: output "2.87 GB per layer"
#   predict: number 3, within 10%
# - By how much does activation memory grow when b doubles, and when s doubles?
#   answer: b: exactly 2x. s: 3.40x, because the score term (70% of the total) grows 4x and the rest 2x: $0.3 \times 2 + 0.7 \times 4 = 3.4$.
#   see: output "s= 4096 b=1"
# - Why does the list keep both the softmax output and the dropout output, two (b, a, s, s) tensors of the same size?
#   answer: Backward reads them at different steps. The product with V needs its left operand, the dropout output, to form the gradient of V; the softmax gradient is computed from the softmax's own output; the 1-byte mask routes the gradient through dropout.
#   see: lines 92-93
# - How much does ZeRO-3 over 64 data-parallel GPUs leave on each GPU?
#   answer: 43.7 GB of model state (2.79 TB / 64), but all 275 GB of activations: each rank runs the whole model on its own micro-batch.
#   see: output "ZeRO-3 over 64 data-parallel GPUs"
# lab:traps
# - ZeRO shards activations the way it shards the model state.
#   why: ZeRO-DP stages 1-3 partition optimizer state, gradients and weights across data-parallel ranks; under pure
#   data parallelism each rank keeps its own micro-batch's activations, all 275 GB (last output line). ZeRO's other
#   part, ZeRO-R, does partition activation checkpoints, but across model-parallel ranks (GPUs that split one copy of
#   the model between them), and can offload them to CPU.
# - Mixed precision halves the model state.
#   why: The 16-bit weights and gradients come with an fp32 master copy and fp32 Adam moments: 16, 18 or 20 B/param
#   (lines 80-84 and the first output lines), against 16 for fp32 training.
# - $sbh(34 + 5as/h)$ is the activation memory of any Transformer.
#   why: It assumes 16-bit activations, 1-byte dropout masks, a GELU MLP and an attention that stores the (s, s)
#   scores. A fused kernel such as FlashAttention stores none of the $5as^2b$ term, 70% of the total here.
#
# lab:interview
# Training memory has two parts. Model state is per parameter: bf16 weights and gradients, an fp32 master copy
# and two fp32 Adam moments make 16 bytes, 2.79 TB for GPT-3 175B.
#
# Activations are per token: each layer keeps what backward reads, $sbh(34 + 5as/h)$ bytes, 2.87 GB per layer and
# 275 GB in all at s = 2048 and b = 1, with the $s^2$ term 70% of it.
#
# ZeRO-DP shards the state across data-parallel ranks but leaves each rank's activations whole; those shrink with
# recomputation, tensor or sequence parallelism, or a fused attention kernel.
#
# lab:intuition
# - State is a bill per parameter, activations a bill per token: 16 B for every weight, and for GPT-3 at s = 2048 about 1.4 MB per token per layer.
# - The forward pass leaves notes for backward: every matmul input, softmax output and dropout mask that backward will read is kept until its layer's backward runs.
# - The scores are an s x s table per head: double the context and that table quadruples, which is why s = 8192 needs 12x the memory of s = 2048.

# lab:figure terms
# kind: area
# title: Past s = 870 the s x s score tensors hold most of a layer's activations
# caption: One GPT-3 layer (b = 1), stacked: 34sbh bytes in the tensors of width h or 4h and 5as²b in the
#   three s x s tensors. The two are equal at s = 34h/(5a) = 870; the scores are 70% at s = 2048 and 90% at 8192.
# x: s "sequence length s (tokens)" ,d
# y: gb "GB per layer" .3f
# color: term "stored tensors"
# lab:figure inventory
# kind: point
# title: Move the context length and watch three tensors outgrow all the others
# caption: What one GPT-3 layer keeps for backward (b = 1, log scale): doubling s doubles each token-sized tensor and
#   quadruples the three s x s ones. At s = 256 the GELU and fc2 inputs (25.2 MB each) are the largest, at s = 512 a
#   softmax output matches them (50.3 MB), and at s = 8192 it is 12,884.9 MB, 16 times a GELU input.
# x: tensor "tensor kept for backward"
# y: mb "MB" ,.1f
# y-scale: log
# color: grows "grows with"
# control: s "sequence length s" ,d
# default: 2048
# says: At s = {{s}} a softmax output takes {{mb|tensor=softmax output}} MB, the fc2 input {{mb|tensor=fc2 input}} MB.
import numpy as np

# lab:begin budget
STATE = {"fp32 training": {"weights": 4, "grads": 4, "adam m": 4, "adam v": 4},
         "mixed, ZeRO paper": {"weights": 2, "grads": 2, "master": 4, "adam m": 4, "adam v": 4},  # (1)
         "mixed, fp32 grads only": {"weights": 2, "grads": 4, "master": 4, "adam m": 4, "adam v": 4},
         "mixed, + fp32 grad copy": {"weights": 2, "grads": 2, "grads fp32": 4, "master": 4,
                                     "adam m": 4, "adam v": 4}}  # (2)


def saved_for_backward(s, b, h, a):
    """(tensor, shape, dtype) kept by one GPT layer: LayerNorm before each sublayer, GELU MLP, dropout."""
    f16, u8 = np.float16, np.uint8
    return [("ln_1 input", (b, s, h), f16), ("QKV input", (b, s, h), f16),
            ("Q and K", (2, b, s, h), f16), ("V", (b, s, h), f16),  # (3)
            ("softmax output", (b, a, s, s), f16), ("softmax dropout mask", (b, a, s, s), u8),
            ("dropout output", (b, a, s, s), f16),  # (4)
            ("out-proj input", (b, s, h), f16), ("attn dropout mask", (b, s, h), u8),
            ("ln_2 input", (b, s, h), f16), ("fc1 input", (b, s, h), f16),
            ("GELU input", (b, s, 4 * h), f16), ("fc2 input", (b, s, 4 * h), f16),  # (5)
            ("mlp dropout mask", (b, s, h), u8)]


def layer_bytes(s, b, h, a):
    return s * b * h * (34 + 5 * a * s / h)  # (6)
# lab:end budget
# lab:notes budget
# (1) 2 + 2 + 12: bf16 weights and gradients, fp32 master weights and Adam moments (Rajbhandari et al.).
# (2) The same with an extra fp32 gradient buffer: 20 B/param; keeping only fp32 gradients gives 18.
# (3) Linear in tokens: 2 bytes per element of a (b, s, h) tensor, $2sbh$ each, $4sbh$ for Q and K.
# (4) Three (b, a, s, s) tensors, $2 + 1 + 2 = 5$ bytes per score: the $5as^2b$ term. Storing the dropout output is the paper's accounting; it could be rebuilt from the other two.
# (5) The MLP's 4h-wide tensors: $8sbh$ each, the largest linear terms.
# (6) Korthikanti et al. (2022), Eq. 1: 16-bit activations, 1-byte masks, no parallelism.
#
# lab:explain 80-84 Bytes per parameter
# Four ways to count Adam's state. All mixed-precision variants need at least as much as fp32
# training, because the fp32 master weights come on top of the 16-bit working copy.
#
# lab:explain 87-97 The tensors one layer keeps for backward
# Each entry is something backward reads: matmul inputs (to form weight gradients), LayerNorm and GELU
# inputs, softmax outputs and dropout masks. The attention probabilities appear twice because two
# backward steps read them: the product with V needs the dropout output to form the gradient of V, and
# the gradient of a softmax is computed from the softmax's own output.
# Shapes with (s, h) scale with tokens; the three (a, s, s) tensors with tokens times sequence length.
#
# lab:explain 100-101 The closed form
# Summing the list gives $34sbh + 5as^2b$ bytes, written $sbh(34 + 5as/h)$.


def figures():
    """The data of the figures declared above: GPT-3 layers (b = 1), from the lab's own inventory."""
    h, a, b = 12288, 96, 1
    names = {False: "34sbh: tensors of width h or 4h", True: "5as²b: the three s x s tensors"}
    terms, inventory = [], []
    for s in range(256, 8193, 256):  # terms: the layer's bytes, split by whether a shape ends in (s, s)
        kept = [(int(np.prod(sh)) * np.dtype(dt).itemsize, sh[-2:] == (s, s))
                for _, sh, dt in saved_for_backward(s, b, h, a)]
        terms += [(s, sum(n for n, sq in kept if sq == square) / 1e9, names[square]) for square in (False, True)]
    for s in (256, 512, 1024, 2048, 4096, 8192):  # inventory: every tensor, for each value of the control
        inventory += [(s, name, int(np.prod(sh)) * np.dtype(dt).itemsize / 1e6,
                       "s²b (scores)" if sh[-2:] == (s, s) else "sb (tokens)")
                      for name, sh, dt in saved_for_backward(s, b, h, a)]
    return {"terms": dict(zip(("s", "gb", "term"), map(list, zip(*terms)))),
            "inventory": dict(zip(("s", "tensor", "mb", "grows"), map(list, zip(*inventory))))}


def main():
    L, h, a, s, b, V, dp = 96, 12288, 96, 2048, 1, 50257, 64
    psi = 12 * L * h * h + 13 * L * h + (V + s) * h + 2 * h  # GPT-3 175B, lab 10's closed form
    print(f"GPT-3: {psi / 1e9:.1f}B parameters")
    for name, parts in STATE.items():
        per = sum(parts.values())
        print(f"  {name:24s} {per:2d} B/param -> {per * psi / 1e12:.2f} TB")
    assert [sum(p.values()) for p in STATE.values()] == [16, 16, 18, 20]

    rng = np.random.default_rng(0)
    for _ in range(3):  # the list sums to the formula for any shape: check with real arrays
        ts, tb, th = (int(v) for v in rng.integers(1, 9, 3) * [16, 1, 8])
        tiny = sum(np.empty(sh, dt).nbytes for _, sh, dt in saved_for_backward(ts, tb, th, 4))
        assert np.isclose(tiny, layer_bytes(ts, tb, th, 4), rtol=1e-12)

    inventory = saved_for_backward(s, b, h, a)
    per_layer = sum(int(np.prod(sh)) * np.dtype(dt).itemsize for _, sh, dt in inventory)
    scores = sum(int(np.prod(sh)) * np.dtype(dt).itemsize for _, sh, dt in inventory if sh[-2:] == (s, s))
    print(f"\nactivations, s={s} b={b}: {per_layer / 1e9:.2f} GB per layer "
          f"({scores / per_layer:.0%} in the s x s tensors), {L * per_layer / 1e9:.0f} GB for {L} layers")
    assert per_layer == layer_bytes(s, b, h, a) and round(L * per_layer / 1e9) == 275
    print(f"  the s x s tensors outweigh the rest past s = 34h/(5a) = {34 * h / (5 * a):.0f}")

    for s2, b2 in ((2048, 2), (4096, 1), (8192, 1)):
        r = layer_bytes(s2, b2, h, a) / layer_bytes(s, b, h, a)
        print(f"  s={s2:5d} b={b2}: {L * layer_bytes(s2, b2, h, a) / 1e9:6.0f} GB ({r:.2f}x)")

    z3, act_per_gpu = 16 * psi / dp, L * per_layer  # each rank runs the whole model on its own micro-batch
    print(f"\nZeRO-3 over {dp} data-parallel GPUs: state {16 * psi / 1e12:.2f} TB -> {z3 / 1e9:.1f} GB per GPU; "
          f"activations per GPU still {act_per_gpu / 1e9:.0f} GB")
    assert act_per_gpu > z3, "after ZeRO-3 the activations, not the state, dominate"


if __name__ == "__main__":
    main()
