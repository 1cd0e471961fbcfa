"""Lab 10 - Parameter count: where the 124,439,808 parameters of GPT-2 small live.

Lists every weight of a GPT-2 style decoder by name and shape, checks the closed form against
real numpy arrays for a toy config, then applies it to GPT-2 small, GPT-2 XL and GPT-3 175B.
"""
# lab:goal Count a Transformer's parameters tensor by tensor and see which part dominates at each scale.
#
# lab:mental-model
# - A decoder has $L$ blocks of hidden width $h$. One block holds $4h^2$ in attention (Q, K, V, output) and $8h^2$ in the MLP ($h \to 4h \to h$): $12h^2$.
# - Biases and LayerNorms add only $13h$ per block; the token table ($V$ vocabulary entries) and position table ($n_{ctx}$ positions) add $(V + n_{ctx})h$ once.
# - GPT-2 ties the output projection to the token embedding, so the vocabulary is paid for once.
#
# lab:checkpoints
# - What does `closed_form` return for GPT-2 small (L = 12, h = 768, V = 50257, 1024 positions), and how much of it is $12Lh^2$?
#   answer: 124,439,808, the count Hugging Face reports for `gpt2`; $12Lh^2$ alone ($12 \cdot 12 \cdot 768^2$ weights) is the 68.25% in the last column.
#   see: output "GPT-2 small: 124,439,808 parameters"
#   predict: number 2, within 1%
# - Which shapes on lines 80-84 make up a block's $12h^2$ weights, and how do they split between attention and the MLP?
#   answer: $(h, 3h) + (h, h) = 4h^2$ in attention and $(h, 4h) + (4h, h) = 8h^2$ in the MLP: a ratio of 1 : 2, as the 22.78% and 45.54% columns show once the biases are added.
#   see: lines 80-84
# - How does the embeddings' share of the total change from GPT-2 small to GPT-3 175B, and why?
#   answer: From 31.65% to 0.37%. The tables grow as $(V + n_{ctx})h$, linear in $h$; the blocks grow as $12Lh^2$, and GPT-3 has 16x the width and 8x the depth.
#   see: output "GPT-3 175B"
# - How many parameters would GPT-2 small have if its output head were a separate matrix?
#   answer: 163,037,184: one more $V \times h$ table of 38,597,376.
#   see: output "an untied lm_head would make it"
# lab:traps
# - The vocabulary is a negligible part of a language model's parameters.
#   why: In GPT-2 small the token table alone is 38.6M of 124.4M (31.0% in the output); the tables only fade once
#   $12Lh^2$ dominates at large width, 0.37% for GPT-3.
# - The logits need their own $V \times h$ output matrix, so add $Vh$ to the count.
#   why: GPT-2 ties the output projection to `wte` (no `lm_head` entry, line 86): the logits are `x @ wte.T`. Adding
#   $Vh$ counts one tensor twice and gives 163M; check `tie_word_embeddings` in the model's configuration.
# - The $N$ of scaling-law papers is the total parameter count.
#   why: Kaplan et al. leave the embeddings out: $N$ for GPT-2 small is about 85M (printed last), not 124M.
#
# lab:interview
# A GPT block holds four $h \times h$ attention matrices and two $h \times 4h$ MLP matrices: $12h^2$ weights, a
# third in attention and two thirds in the MLP, plus $13h$ of biases and LayerNorms. The token and position
# tables add $(V + n_{ctx})h$ once.
#
# For GPT-2 small ($L = 12$, $h = 768$, $V = 50257$) the total is 124,439,808, and the tables are a third of it;
# for GPT-3 ($h = 12288$) they are under half a percent.
#
# The trade-off is vocabulary against width: a larger vocabulary shortens sequences but costs $Vh$ parameters,
# and tying the output head to the token table pays that cost once.
#
# lab:intuition
# - Count in units of $h^2$: a block is 12 of them (3 for Q, K and V, 1 for the output projection, 4 + 4 for the MLP).
# - Width costs quadratically and vocabulary linearly: doubling $h$ quadruples every block but only doubles the embedding table.

# lab:figure parts
# kind: bar
# title: The embedding tables shrink from a third of GPT-2 small to a sliver of GPT-3 175B
# caption: Each bar is one model's parameters by where they live. The tables (wte and wpe) are 31.65% of
#   GPT-2 small but 0.37% of GPT-3 175B; the blocks split about 1 : 2 between attention and the MLP at every size.
# x: model "model"
# y: share "share of parameters" .2%
# color: part "part"
# lab:figure family
# kind: line
# title: Across the eight GPT-3 sizes, width squared wins over the vocabulary
# caption: The same count applied to the GPT-3 family (Brown et al., 2020, Table 2.1, all with V = 50257 and
#   2048 positions). The tables fall from 32.1% at 125M parameters to 0.37% at 175B, while attention and the
#   MLP approach one third and two thirds.
# x: billions "parameters (billions)" .3g
# y: share "share of parameters" .1%
# color: part "part"
# x-scale: log

import numpy as np

# lab:begin shapes
def gpt2_shapes(V, n_ctx, h, L):
    """Every trainable tensor of a GPT-2 decoder, with Hugging Face's names."""
    shapes = {"wte": (V, h), "wpe": (n_ctx, h)}  # (1)
    for i in range(L):
        p = f"h.{i}."
        shapes.update({p + "ln_1.weight": (h,), p + "ln_1.bias": (h,),  # (2)
                       p + "attn.c_attn.weight": (h, 3 * h), p + "attn.c_attn.bias": (3 * h,),
                       p + "attn.c_proj.weight": (h, h), p + "attn.c_proj.bias": (h,),  # (3)
                       p + "ln_2.weight": (h,), p + "ln_2.bias": (h,),
                       p + "mlp.c_fc.weight": (h, 4 * h), p + "mlp.c_fc.bias": (4 * h,),
                       p + "mlp.c_proj.weight": (4 * h, h), p + "mlp.c_proj.bias": (h,)})  # (4)
    shapes.update({"ln_f.weight": (h,), "ln_f.bias": (h,)})
    return shapes  # (5)


def closed_form(V, n_ctx, h, L):
    return 12 * L * h * h + 13 * L * h + (V + n_ctx) * h + 2 * h  # (6)
# lab:end shapes
# lab:notes shapes
# (1) Token and position tables; `wte` is reused as the output projection (tied weights).
# (2) GPT-2 puts a LayerNorm before each sublayer; each has a scale and a shift of size h.
# (3) Q, K and V are one fused (h, 3h) matrix, plus the (h, h) output projection: $4h^2$.
# (4) The MLP expands to 4h and projects back: $4h^2 + 4h^2 = 8h^2$ weights and $5h$ biases.
# (5) No `lm_head` entry: with tied weights the logits are `x @ wte.T`.
# (6) $12h^2$ weights and $13h$ biases and norms per block, the two tables, and the final LayerNorm.
#
# lab:explain 74-86 The inventory, tensor by tensor
# The dictionary is the model's state: names and shapes, nothing else. Reading the shapes gives
# the count: in a block the matrices $h \times 3h$, $h \times h$, $h \times 4h$ and $4h \times h$
# make $12h^2$, while the eight vectors add $2h + 3h + h + 2h + 4h + h = 13h$.
#
# lab:explain 89-90 The closed form
# Summing the inventory symbolically gives $12Lh^2 + 13Lh + (V + n_{ctx})h + 2h$. The first term
# grows with width squared and depth, the embedding term only linearly in $h$.


def groups(V, n_ctx, h, L):
    s = {k: int(np.prod(v)) for k, v in gpt2_shapes(V, n_ctx, h, L).items()}
    emb = s["wte"] + s["wpe"]
    attn = sum(v for k, v in s.items() if ".attn." in k)
    mlp = sum(v for k, v in s.items() if ".mlp." in k)
    return emb, attn, mlp, sum(s.values()) - emb - attn - mlp, sum(s.values())


def figures():
    """The data of the figures declared above, from the lab's own inventory (`groups` sums `gpt2_shapes`)."""
    printed = {"GPT-2 small": (50257, 1024, 768, 12), "GPT-2 XL": (50257, 1024, 1600, 48),
               "GPT-3 175B": (50257, 2048, 12288, 96)}  # the three models main() prints
    gpt3 = [(768, 12), (1024, 24), (1536, 24), (2048, 24), (2560, 32), (4096, 32), (5140, 40), (12288, 96)]
    names = ("embeddings", "attention", "MLP", "LayerNorms")
    parts = []  # parts: (model, share, part), one stacked bar per printed model
    for model, config in printed.items():
        *counts, total = groups(*config)
        parts += [(model, n / total, part) for part, n in zip(names, counts)]
    family = []  # family: (billions, share, part) for the GPT-3 sizes (h, L); LayerNorms left out
    for h, L in gpt3:
        *counts, total = groups(50257, 2048, h, L)
        family += [(total / 1e9, n / total, part) for part, n in zip(names[:3], counts)]
    return {"parts": dict(zip(("model", "share", "part"), map(list, zip(*parts)))),
            "family": dict(zip(("billions", "share", "part"), map(list, zip(*family))))}


def main():
    rng = np.random.default_rng(0)
    toy = dict(V=97, n_ctx=16, h=8, L=3)
    arrays = {k: rng.standard_normal(v) for k, v in gpt2_shapes(**toy).items()}
    n_toy = sum(a.size for a in arrays.values())
    print(f"toy config {toy}: {n_toy} parameters in real arrays, closed form {closed_form(**toy)}")
    assert n_toy == closed_form(**toy)

    configs = {"GPT-2 small": (50257, 1024, 768, 12), "GPT-2 XL": (50257, 1024, 1600, 48),
               "GPT-3 175B": (50257, 2048, 12288, 96)}
    print(f"\n{'model':12s} {'total':>17s} {'embeddings':>11s} {'attention':>10s} {'MLP':>7s} "
          f"{'LN':>8s} {'12Lh^2':>8s}")
    for name, (V, n_ctx, h, L) in configs.items():
        emb, attn, mlp, rest, total = groups(V, n_ctx, h, L)
        assert total == closed_form(V, n_ctx, h, L) and mlp - 5 * L * h == 2 * (attn - 4 * L * h)
        print(f"{name:12s} {total:17,d} {emb / total:11.2%} {attn / total:10.2%} "
              f"{mlp / total:7.2%} {rest / total:8.3%} {12 * L * h * h / total:8.2%}")

    V, n_ctx, h, L = configs["GPT-2 small"]
    total = closed_form(V, n_ctx, h, L)
    print(f"\nGPT-2 small: {total:,d} parameters; wte alone {V * h:,d} ({V * h / total:.1%}); "
          f"an untied lm_head would make it {total + V * h:,d}")
    print(f"non-embedding parameters (Kaplan's N): {total - (V + n_ctx) * h:,d}")
    assert total == 124_439_808


if __name__ == "__main__":
    main()
