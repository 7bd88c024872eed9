/// \file
/// MultiheadAttention (torch.nn.MultiheadAttention) and causal_mask
/// (torch.nn.Transformer.generate_square_subsequent_mask).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/dense.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/attention.hpp>

namespace tapegrad::nn {

/// An L x L additive mask: 0 on and below the diagonal, -inf above it, so query i attends to keys
/// 0..i (torch.nn.Transformer.generate_square_subsequent_mask(L)). A constant (no gradient). For
/// MultiheadAttention's attn_mask and the Transformer layers.
template <class T = float>
Tensor<T> causal_mask(std::size_t length);

/// The optional arguments of MultiheadAttention::forward, as PyTorch's keyword arguments:
/// `mha.forward(x, x, x, {.key_padding_mask = pad, .need_weights = false})`.
template <class T = float>
struct MultiheadAttentionArgs {
    /// [N, S] (or [S] for unbatched inputs), true = this key is padding and is IGNORED (PyTorch's
    /// boolean key_padding_mask; the opposite of scaled_dot_product_attention's boolean mask).
    std::optional<Mask> key_padding_mask = std::nullopt;
    /// Whether to return the attention weights as well.
    bool need_weights = true;
    /// [L, S] or [N * num_heads, L, S] ([num_heads, L, S] unbatched): a boolean Mask, true = NOT
    /// allowed to attend (PyTorch's MultiheadAttention convention, the opposite of
    /// scaled_dot_product_attention's), or an additive float Tensor (added to the scores; -inf
    /// masks out; differentiable).
    AttentionMask<T> attn_mask = {};
    /// Return the weights averaged over the heads ([N, L, S]) rather than per head ([N, H, L, S]).
    bool average_attn_weights = true;
    /// Without attn_mask: apply the causal mask (query i attends to keys 0..i). PyTorch takes it
    /// only as a hint that attn_mask is causal and throws without attn_mask; tapegrad applies it.
    /// With attn_mask: a hint, as PyTorch's (attn_mask is used as given).
    bool is_causal = false;
    /// Where the dropout draws come from (training mode with dropout > 0): the default generator
    /// when null.
    Generator* gen = nullptr;
};

/// What MultiheadAttention::forward returns: (attn_output, attn_output_weights) as PyTorch's.
template <class T = float>
struct MultiheadAttentionOutput {
    /// [L, N, E] ([N, L, E] with batch_first, [L, E] unbatched).
    Tensor<T> output;
    /// [N, L, S] averaged over heads or [N, H, L, S] per head (no N unbatched), after dropout as
    /// PyTorch's; undefined when need_weights is false.
    Tensor<T> weights;
};

/// Multi-head attention (torch.nn.MultiheadAttention): the query, key and value are projected
/// (q = query W_q^T + b_q, ...), split into num_heads heads of embed_dim / num_heads features,
/// each head computes scaled_dot_product_attention (scale 1/sqrt(head_dim), dropout on the weights
/// in training mode), the heads are joined and projected by out_proj.
///
/// Parameters (PyTorch's state_dict keys and initialisation): with kdim = vdim = embed_dim,
/// `in_proj_weight` [3E, E] (xavier_uniform_: U(-a, a), a = sqrt(6 / (E + 3E))); otherwise
/// `q_proj_weight` [E, E], `k_proj_weight` [E, kdim], `v_proj_weight` [E, vdim] (each
/// xavier_uniform_); `in_proj_bias` [3E] (zeros) with bias; the child `out_proj`, a Dense(E, E)
/// (`out_proj.weight` as Linear's default, `out_proj.bias` zeros). PyTorch's add_bias_kv and
/// add_zero_attn are not provided.
template <class T = float>
class MultiheadAttention : public Module<T> {
public:
    /// embed_dim E and num_heads H, both positive with E divisible by H (else ValueError); dropout
    /// in [0, 1) (else ValueError); kdim / vdim the key and value features (default E). The
    /// parameters are drawn from `gen`.
    MultiheadAttention(std::size_t embed_dim, std::size_t num_heads, Generator& gen, double dropout = 0,
                       bool bias = true, bool batch_first = false, std::optional<std::size_t> kdim = std::nullopt,
                       std::optional<std::size_t> vdim = std::nullopt);

    /// Attention of query [L, N, E] over key [S, N, kdim] and value [S, N, vdim] ([N, L, E], ...
    /// with batch_first; [L, E], [S, kdim], [S, vdim] unbatched), with the optional arguments of
    /// `args`. ShapeError naming the module, the argument and the shapes for inputs of another rank
    /// or size, or masks of another shape.
    MultiheadAttentionOutput<T> forward(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value,
                                        const MultiheadAttentionArgs<T>& args = {});
    std::string name() const override { return "MultiheadAttention"; }
    /// "embed_dim=256, num_heads=8, dropout=0.1, batch_first" and so on.
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

    /// The packed [3E, E] input projection; undefined when kdim or vdim differ from E.
    const Tensor<T>& in_proj_weight() const noexcept { return in_proj_weight_; }
    /// [3E]; undefined without bias.
    const Tensor<T>& in_proj_bias() const noexcept { return in_proj_bias_; }
    /// The output projection.
    Dense<T>& out_proj() const noexcept { return *out_proj_; }
    /// E.
    std::size_t embed_dim() const noexcept { return embed_dim_; }
    /// H.
    std::size_t num_heads() const noexcept { return num_heads_; }

private:
    std::size_t embed_dim_;
    std::size_t num_heads_;
    double dropout_;
    bool batch_first_;
    std::size_t kdim_;
    std::size_t vdim_;
    Tensor<T> in_proj_weight_;
    Tensor<T> q_proj_weight_;
    Tensor<T> k_proj_weight_;
    Tensor<T> v_proj_weight_;
    Tensor<T> in_proj_bias_;
    std::shared_ptr<Dense<T>> out_proj_;

    /// The three projections, [N, L or S, E] each.
    std::array<Tensor<T>, 3> project(const Tensor<T>& query, const Tensor<T>& key, const Tensor<T>& value) const;
    /// attn_mask and key_padding_mask as one scaled_dot_product_attention mask over [N, H, L, S].
    AttentionMask<T> merged_mask(const MultiheadAttentionArgs<T>& args, std::size_t n, std::size_t l_len,
                                 std::size_t s_len, bool unbatched) const;
};

}  // namespace tapegrad::nn
