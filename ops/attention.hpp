/// \file
/// Scaled dot-product attention (torch.nn.functional.scaled_dot_product_attention), composed from
/// matmul, where and softmax so that gradients of gradients work.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// The attention mask of scaled_dot_product_attention: none (the default), boolean or additive,
/// as PyTorch's `attn_mask` argument, which is either a bool or a float tensor.
///   - boolean (a Mask): true = this query may attend to this key (takes part), false = masked out
///     (PyTorch's SDPA convention; nn::MultiheadAttention's boolean masks mean the opposite);
///   - additive (a Tensor of the same dtype): added to the scaled scores before the softmax (-inf
///     masks a pair out); differentiable.
/// Either one broadcasts to the scores' shape [..., L, S].
template <class T>
struct AttentionMask {
    /// No mask.
    AttentionMask() = default;
    /// A boolean mask: true = takes part.
    AttentionMask(Mask keep) : boolean(std::move(keep)) {}  // NOLINT(google-explicit-constructor): passed as a mask
    /// An additive mask (an undefined tensor means no mask).
    AttentionMask(Tensor<T> add) : additive(std::move(add)) {}  // NOLINT(google-explicit-constructor)

    /// The boolean mask, when one was given.
    std::optional<Mask> boolean;
    /// The additive mask; undefined when none was given.
    Tensor<T> additive;

    /// Whether there is a mask of either kind.
    bool empty() const noexcept { return !boolean && !additive.defined(); }
};

/// The attention weights of scaled_dot_product_attention, [..., L, S] for q [..., L, E] and
/// k [..., S, E] (batch dims broadcast):
///   w = dropout(softmax(scale q k^T + mask, -1))
/// with the same arguments and rules as scaled_dot_product_attention (which is matmul(w, v)): what
/// nn::MultiheadAttention returns as its attention weights (PyTorch's `attn_output_weights`, after
/// dropout as there). PyTorch has no such function. Derivatives (P the softmax, m/(1-p) the kept
/// weights' scale):
///   d/dP = grad * m/(1-p)       d/ds = P * (d/dP - sum(d/dP * P, -1))
///   d/dq = scale * d/ds k       d/dk = scale * d/ds^T q       d/d(additive mask) = d/ds
/// Throws as scaled_dot_product_attention does (naming attention_weights), v aside.
template <class T>
Tensor<T> attention_weights(const Tensor<T>& q, const Tensor<T>& k,
                            const std::type_identity_t<AttentionMask<T>>& attn_mask = {}, bool is_causal = false,
                            double dropout_p = 0, std::optional<double> scale = std::nullopt, Generator* gen = nullptr);

/// Attention (torch.nn.functional.scaled_dot_product_attention): for q [..., L, E], k [..., S, E]
/// and v [..., S, Ev] (each at least 2-d; the batch dims before the last two broadcast as
/// numpy's), with scores s = scale q k^T + mask:
///   out = dropout(softmax(s, -1)) v,       [broadcast batch..., L, Ev]
/// - `scale` defaults to 1/sqrt(E) (1 when E = 0, where every score is 0 anyway); q is scaled
///   before the product (L E multiplications instead of L S).
/// - `attn_mask` (AttentionMask): boolean, true = takes part (masked pairs get score -inf), or
///   additive (added to the scores); either must broadcast to [..., L, S] without enlarging it.
/// - `is_causal`: query i attends to keys 0..i (the top-left lower triangle of an L x S matrix, as
///   PyTorch's); combined with an attn_mask it is a ValueError, as in PyTorch.
/// - `dropout_p` in [0, 1]: each attention weight is zeroed with probability p and the rest scaled
///   by 1/(1 - p) (all zero for p = 1), the keep/drop draws taken from `gen` (the default generator
///   when null), one uniform per weight in row-major order. As PyTorch's functional form, dropout
///   applies whenever dropout_p > 0 (there is no training flag here).
/// - A query row whose every key is masked out (all scores -inf) gets weights 0, so its output row
///   is 0 and no gradient flows through it: PyTorch >= 2.5's math path (`_safe_softmax`); earlier
///   2.x versions gave NaN there. tapegrad never returns that NaN.
/// Composed as matmul(attention_weights(q, k, ...), v), the masks applied inside a fused softmax
/// (no masked copy of the scores); derivatives (w the weights after dropout, y before it):
///   d/dv = w^T grad       d/dw = grad v^T       d/ds = y (d/dy - Σ d/dy y), 0 at masked scores
/// (each summed over the batch dims it was broadcast over), all through tapegrad's own ops.
/// Throws ShapeError naming the op, the arguments and their shapes for a q, k or v below 2-d,
/// E of q and k that differ, S of k and v that differ, batch dims that do not broadcast, or a mask
/// that does not broadcast to [..., L, S]; ValueError for an undefined q, k, v, is_causal with a
/// mask, dropout_p outside [0, 1] or a NaN scale.
template <class T>
Tensor<T> scaled_dot_product_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                       const std::type_identity_t<AttentionMask<T>>& attn_mask = {},
                                       bool is_causal = false, double dropout_p = 0,
                                       std::optional<double> scale = std::nullopt, Generator* gen = nullptr);

}  // namespace tapegrad
