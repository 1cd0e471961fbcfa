"""Lab 10 - Parameter count: where the 124,439,808 parameters of GPT-2 small live.

Lists every weight of a GPT-2 style decoder by name and shape, checks the closed form against
real numpy arrays for a toy config, then applies it to GPT-2 small, GPT-2 XL and GPT-3 175B.
"""
# lab:goal Count a Transformer's parameters tensor by tensor and see which part dominates at each scale.
#
# lab:mental-model
# - One block holds $4h^2$ in attention (Q, K, V, output) and $8h^2$ in the MLP ($h \to 4h \to h$): $12h^2$.
# - Biases and LayerNorms add only $13h$ per block; the embeddings add $(V + n_{ctx})h$ once.
# - GPT-2 ties the output projection to the token embedding, so the vocabulary is paid for once.
#
# lab:checkpoints
# - What does the closed form give for GPT-2 small (L=12, h=768, V=50257, 1024 positions)?
#   answer: 124,439,808, the count Hugging Face reports for `gpt2`; $12Lh^2$ alone gives 84,934,656.
# - How large is the embedding share in GPT-2 small, and in GPT-3 175B?
#   answer: About 31.6% (token plus position tables) for GPT-2 small, about 0.37% for GPT-3.
# - What is the attention : MLP ratio inside a block?
#   answer: 1 : 2, because the MLP has two $h \times 4h$ matrices and attention four $h \times h$.
#
# lab:traps
# - "The vocabulary is negligible": it is a third of GPT-2 small; $12Lh^2$ only wins once $h$ is large.
# - Counting a tied output head twice turns 124M into 163M; check `tie_word_embeddings` before adding $Vh$.
# - Kaplan et al.'s $N$ excludes embeddings, so their $N$ for GPT-2 small is about 85M, not 124M.
#
# lab:interview
# The state here is the set of weight tensors, and the axis that matters is the hidden width h:
# every matrix inside a block is h x h or h x 4h, so a block holds 12h^2 parameters, a third in
# attention and two thirds in the MLP. The embedding table is V x h, linear in h, so it is a third
# of GPT-2 small (V = 50257, h = 768) but under half a percent of GPT-3 (h = 12288). GPT-2 ties the
# output projection to the token embedding, which saves V x h and is why the total is 124.4M, not
# 163M. The trade-off is between vocabulary and width: a large vocabulary shortens sequences but
# costs parameters, and in a small model it is the largest single tensor.

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
# (2) Pre-norm: each LayerNorm has a scale and a shift of size h.
# (3) Q, K and V are one fused (h, 3h) matrix, plus the (h, h) output projection: $4h^2$.
# (4) The MLP expands to 4h and projects back: $4h^2 + 4h^2 = 8h^2$ weights and $5h$ biases.
# (5) No `lm_head` entry: with tied weights the logits are `x @ wte.T`.
# (6) $12h^2$ weights and $13h$ biases and norms per block, the two tables, and the final LayerNorm.
#
# lab:explain 38-50 The inventory, tensor by tensor
# The dictionary is the model's state: names and shapes, nothing else. Reading the shapes gives
# the count: in a block the matrices $h \times 3h$, $h \times h$, $h \times 4h$ and $4h \times h$
# make $12h^2$, while the eight vectors add $2h + 3h + h + 2h + 4h + h = 13h$.
#
# lab:explain 53-54 The closed form
# Summing the inventory symbolically gives $12Lh^2 + 13Lh + (V + n_{ctx})h + 2h$. The first term
# grows with width squared and depth, the embedding term only linearly in $h$.


def groups(V, n_ctx, h, L):
    s = {k: int(np.prod(v)) for k, v in gpt2_shapes(V, n_ctx, h, L).items()}
    emb = s["wte"] + s["wpe"]
    attn = sum(v for k, v in s.items() if ".attn." in k)
    mlp = sum(v for k, v in s.items() if ".mlp." in k)
    return emb, attn, mlp, sum(s.values()) - emb - attn - mlp, sum(s.values())


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
