#include <tapegrad/ops/attention.hpp>

#include <cmath>

#include <fmt/format.h>
#include <xtensor/xbroadcast.hpp>

#include <tapegrad/autograd/shape.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/matmul.hpp>
#include <tapegrad/ops/shape.hpp>
#include <tapegrad/ops/softmax.hpp>

namespace tapegrad {

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

Shape batch_of(const Shape& s) {
    return Shape(s.begin(), s.end() - 2);
}

/// Broadcasts batch dims (numpy's rules); nullopt when they do not broadcast.
std::optional<Shape> broadcast_batch(const Shape& a, const Shape& b) {
    const std::size_t n = std::max(a.size(), b.size());
    Shape out(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const std::size_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
        if (da != db && da != 1 && db != 1) return std::nullopt;
        out[i] = da == 1 ? db : da;
    }
    return out;
}

/// The checks of q, k and everything but v, before anything is computed; returns the scores'
/// shape [..., L, S].
template <class T>
Shape check_weights(const char* op, const Tensor<T>& q, const Tensor<T>& k, const AttentionMask<T>& mask,
                    bool is_causal, double dropout_p, std::optional<double> scale) {
    check_defined(op, "q", q);
    check_defined(op, "k", k);
    const auto shapes = [&] {
        return fmt::format("q has shape {}, k has shape {}", shape_str(q.shape()), shape_str(k.shape()));
    };
    if (q.ndim() < 2 || k.ndim() < 2) {
        fail<ShapeError>("{}: {}; each must be at least 2-d ([..., L, E], [..., S, E])", op, shapes());
    }
    if (q.shape().back() != k.shape().back()) {
        fail<ShapeError>("{}: {}; the embedding dims E of q and k differ ({} vs {})", op, shapes(), q.shape().back(),
                         k.shape().back());
    }
    const std::optional<Shape> batch = broadcast_batch(batch_of(q.shape()), batch_of(k.shape()));
    if (!batch) fail<ShapeError>("{}: {}; the batch dims do not broadcast", op, shapes());
    Shape scores = *batch;
    scores.push_back(q.shape()[q.ndim() - 2]);
    scores.push_back(k.shape()[k.ndim() - 2]);
    const Shape* mask_shape = mask.boolean              ? &mask.boolean->shape()
                              : mask.additive.defined() ? &mask.additive.shape()
                                                        : nullptr;
    if (mask_shape && !broadcastable_to(*mask_shape, scores)) {
        fail<ShapeError>("{}: attn_mask has shape {}; it must broadcast to the scores' shape {} ([..., L, S])", op,
                         shape_str(*mask_shape), shape_str(scores));
    }
    if (is_causal && mask_shape) {
        fail<ValueError>("{}: is_causal is set and attn_mask (shape {}) is given; pass one or the other", op,
                         shape_str(*mask_shape));
    }
    if (!(dropout_p >= 0 && dropout_p <= 1))
        fail<ValueError>("{}: dropout_p is {}; expected 0 <= p <= 1", op, dropout_p);
    if (scale && std::isnan(*scale)) fail<ValueError>("{}: scale is NaN", op);
    return scores;
}

/// v against the scores [..., L, S]: at least 2-d, S rows, batch dims that broadcast.
template <class T>
void check_values(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v, const Shape& scores) {
    check_defined(kOp, "v", v);
    const auto shapes = [&] {
        return fmt::format("q has shape {}, k has shape {}, v has shape {}", shape_str(q.shape()), shape_str(k.shape()),
                           shape_str(v.shape()));
    };
    if (v.ndim() < 2) fail<ShapeError>("{}: {}; v must be at least 2-d ([..., S, Ev])", kOp, shapes());
    if (scores.back() != v.shape()[v.ndim() - 2]) {
        fail<ShapeError>("{}: {}; the key lengths S of k and v differ ({} vs {})", kOp, shapes(), scores.back(),
                         v.shape()[v.ndim() - 2]);
    }
    if (!broadcast_batch(batch_of(scores), batch_of(v.shape()))) {
        fail<ShapeError>("{}: {}; the batch dims do not broadcast", kOp, shapes());
    }
}

/// A constant of w's shape: 0 with probability p, else 1/(1 - p) (everything 0 for p = 1).
template <class T>
Tensor<T> dropout_scale(const Shape& shape, double p, Generator& gen) {
    xt::xarray<T> m = xt::xarray<T>::from_shape(shape);
    const T kept = p < 1 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
    for (auto& x : m) x = gen.uniform() < p ? T(0) : kept;
    return Tensor<T>(std::move(m));
}

/// attention_weights under the name of the op that was called, its arguments already checked.
template <class T>
Tensor<T> weights(const Tensor<T>& q, const Tensor<T>& k, const AttentionMask<T>& attn_mask, bool is_causal,
                  double dropout_p, std::optional<double> scale, Generator* gen) {
    const std::size_t e = q.shape().back();
    const double factor = scale ? *scale : e == 0 ? 1.0 : 1.0 / std::sqrt(static_cast<double>(e));
    Tensor<T> s = matmul(factor == 1.0 ? q : q * static_cast<T>(factor), transpose(k, -2, -1));
    if (attn_mask.additive.defined()) s = s + attn_mask.additive;
    // The boolean mask and the causal triangle are applied inside the softmax (no masked copy of
    // the scores is kept for backward), which gives a row with every key masked out, or every
    // score -inf, weights 0 instead of softmax(-inf, ..., -inf) = 0/0.
    const std::optional<Mask> taking_part =
        attn_mask.boolean
            ? std::optional<Mask>(Mask(xt::xarray<bool>(xt::broadcast(attn_mask.boolean->value(), s.shape()))))
            : std::nullopt;
    Tensor<T> w = detail::safe_softmax(s, taking_part ? &*taking_part : nullptr, is_causal);
    if (dropout_p == 0) return w;
    const Tensor<T> keep =
        gen ? dropout_scale<T>(w.shape(), dropout_p, *gen)
            : with_default_generator([&](Generator& g) { return dropout_scale<T>(w.shape(), dropout_p, g); });
    return w * keep;
}

}  // namespace

template <class T>
Tensor<T> attention_weights(const Tensor<T>& q, const Tensor<T>& k,
                            const std::type_identity_t<AttentionMask<T>>& attn_mask, bool is_causal, double dropout_p,
                            std::optional<double> scale, Generator* gen) {
    check_weights("attention_weights", q, k, attn_mask, is_causal, dropout_p, scale);
    return weights(q, k, attn_mask, is_causal, dropout_p, scale, gen);
}

template <class T>
Tensor<T> scaled_dot_product_attention(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                       const std::type_identity_t<AttentionMask<T>>& attn_mask, bool is_causal,
                                       double dropout_p, std::optional<double> scale, Generator* gen) {
    const Shape scores = check_weights(kOp, q, k, attn_mask, is_causal, dropout_p, scale);
    check_values(q, k, v, scores);
    return matmul(weights(q, k, attn_mask, is_causal, dropout_p, scale, gen), v);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                     \
    template Tensor<T> attention_weights(const Tensor<T>&, const Tensor<T>&, const AttentionMask<T>&, bool, double, \
                                         std::optional<double>, Generator*);                                        \
    template Tensor<T> scaled_dot_product_attention(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,           \
                                                    const AttentionMask<T>&, bool, double, std::optional<double>,   \
                                                    Generator*);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
