#include <tapegrad/ops/loss.hpp>

#include <cmath>
#include <limits>

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/map.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/tangent.hpp>

// The elementwise and per-sample losses, composed from ops (so every gradient of any order comes
// from theirs). cross_entropy and nll_loss, with their fused kernels, are in loss_class.cpp.

namespace tapegrad {

void detail::check_reduction(const char* op, Reduction reduction) {
    if (reduction == Reduction::BatchMean) {
        fail<ValueError>("{}: Reduction::BatchMean is only for kl_div; use Mean, Sum or None", op);
    }
}

namespace {

using detail::check_reduction;

/// The terms themselves (None), their sum, or their mean (NaN for none, as PyTorch's mean of nothing).
template <class T>
Tensor<T> reduce_terms(const Tensor<T>& terms, Reduction reduction) {
    if (reduction == Reduction::None) return terms;
    return reduction == Reduction::Mean ? tapegrad::mean(terms) : tapegrad::sum(terms);
}

/// An optional weight (undefined: none) must broadcast to the shape of the terms it scales, as a
/// PyTorch weight multiplied in place into them must: ShapeError naming both shapes.
template <class T>
void check_broadcasts_to(const char* op, const char* arg, const Tensor<T>& weight, const char* to, const Shape& shape) {
    if (!weight.defined()) return;
    const Shape& w = weight.shape();
    bool fits = w.size() <= shape.size();
    for (std::size_t i = 0; fits && i < w.size(); ++i) {
        const std::size_t target = shape[shape.size() - w.size() + i];
        fits = w[i] == 1 || w[i] == target;
    }
    if (!fits) {
        fail<ShapeError>("{}: {} has shape {}, which does not broadcast to {}'s shape {}", op, arg, shape_str(w), to,
                         shape_str(shape));
    }
}

/// terms * weight, or the terms without a weight.
template <class T>
Tensor<T> weighted(const Tensor<T>& terms, const Tensor<T>& weight) {
    return weight.defined() ? mul(terms, weight) : terms;
}

/// -(y max(log p, -100) + (1 - y) max(log(1 - p), -100)) per element (PyTorch's clamp).
template <class T>
xt::xarray<T> bce_terms(const xt::xarray<T>& p, const xt::xarray<T>& y) {
    xt::xarray<T> out = detail::take_buffer_like("binary_cross_entropy", p);
    for (std::size_t i = 0, n = out.size(); i < n; ++i) {
        const T log_p = std::max(std::log(p.data()[i]), T(-100));
        const T log_q = std::max(std::log1p(-p.data()[i]), T(-100));
        out.data()[i] = -(y.data()[i] * log_p + (T(1) - y.data()[i]) * log_q);
    }
    return out;
}

/// q (d - q/2) with q = clamp(d, -delta, delta): d^2/2 inside [-delta, delta], delta (|d| - delta/2)
/// outside; its derivative clamp(d, -delta, delta) comes out of the composition exactly.
template <class T>
Tensor<T> huber_terms(const Tensor<T>& d, T delta) {
    const Tensor<T> q = clamp(d, -delta, delta);
    return mul(q, d - q * T(0.5));
}

}  // namespace

template <class T>
Tensor<T> mse_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction) {
    check_reduction("mse_loss", reduction);
    check_same_shape("mse_loss", "pred", pred, "target", target);
    return reduce_terms(square(pred - target), reduction);
}

template <class T>
Tensor<T> half_sum_squares(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction) {
    check_reduction("half_sum_squares", reduction);
    check_same_shape("half_sum_squares", "pred", pred, "target", target);
    const Tensor<T> terms = square(pred - target) * T(0.5);
    if (pred.ndim() == 0) return terms;  // one sample: its cost, whatever the reduction
    Dims features;
    for (std::size_t d = 1; d < pred.ndim(); ++d) features.push_back(static_cast<std::int64_t>(d));
    return reduce_terms(features.empty() ? terms : tapegrad::sum(terms, features), reduction);
}

template <class T>
Tensor<T> l1_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction) {
    check_reduction("l1_loss", reduction);
    check_same_shape("l1_loss", "pred", pred, "target", target);
    return reduce_terms(abs(pred - target), reduction);
}

template <class T>
Tensor<T> smooth_l1_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction, double beta) {
    check_reduction("smooth_l1_loss", reduction);
    check_same_shape("smooth_l1_loss", "pred", pred, "target", target);
    if (!(beta >= 0)) fail<ValueError>("smooth_l1_loss: beta is {}; it must be >= 0 (0 is l1_loss)", beta);
    const Tensor<T> d = pred - target;
    // beta = 0 is the limit, l1 (PyTorch's special case), not 0/0.
    return reduce_terms(beta == 0 ? abs(d) : huber_terms(d, static_cast<T>(beta)) / static_cast<T>(beta), reduction);
}

template <class T>
Tensor<T> huber_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction, double delta) {
    check_reduction("huber_loss", reduction);
    check_same_shape("huber_loss", "pred", pred, "target", target);
    if (!(delta > 0)) fail<ValueError>("huber_loss: delta is {}; it must be > 0", delta);
    return reduce_terms(huber_terms(pred - target, static_cast<T>(delta)), reduction);
}

template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& p, const Tensor<T>& y, const Tensor<T>& weight, Reduction reduction) {
    check_reduction("binary_cross_entropy", reduction);
    check_same_shape("binary_cross_entropy", "p", p, "y", y);
    check_broadcasts_to("binary_cross_entropy", "weight", weight, "p", p.shape());
    for (std::size_t i = 0; i < p.numel(); ++i) {
        const T v = p.value().data()[i];
        if (!(v >= T(0) && v <= T(1))) {
            fail<ValueError>("binary_cross_entropy: p (shape {}) must hold probabilities in [0, 1]; element {} is {}",
                             shape_str(p.shape()), i, v);
        }
    }
    // The terms' derivatives in p and in y applied to v (a gradient or a tangent: both Jacobians are
    // diagonal).
    constexpr auto by_p = [](const Tensor<T>& v, const Tensor<T>& p_, const Tensor<T>& y_) {
        return div(mul(v, p_ - y_), clamp(mul(p_, T(1) - p_), T(1e-12)));
    };
    constexpr auto by_y = [](const Tensor<T>& v, const Tensor<T>& p_) {
        return mul(v, clamp(log(T(1) - p_), T(-100)) - clamp(log(p_), T(-100)));
    };
    auto terms = record<T>(
        "binary_cross_entropy", {p, y}, bce_terms(p.value(), y.value()),
        [by_p, by_y](const Backward<T>& ctx) -> Grads<T> {
            const auto& g = ctx.grad();
            const auto& p_ = ctx.input(0);
            const auto& y_ = ctx.input(1);
            return {ctx.needs(0) ? by_p(g, p_, y_) : Tensor<T>(), ctx.needs(1) ? by_y(g, p_) : Tensor<T>()};
        },
        [by_p, by_y](const Forward<T>& ctx) {
            const auto& p_ = ctx.input(0);
            const auto& y_ = ctx.input(1);
            return detail::add_tangents(ctx.has(0) ? by_p(ctx.tangent(0), p_, y_) : Tensor<T>(),
                                        ctx.has(1) ? by_y(ctx.tangent(1), p_) : Tensor<T>());
        });
    return reduce_terms(weighted(terms, weight), reduction);
}

template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& p, const Tensor<T>& y, Reduction reduction) {
    return binary_cross_entropy(p, y, Tensor<T>(), reduction);
}

template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& z, const Tensor<T>& y, const Tensor<T>& weight,
                                           const Tensor<T>& pos_weight, Reduction reduction) {
    const char* op = "binary_cross_entropy_with_logits";
    check_reduction(op, reduction);
    check_same_shape(op, "z", z, "y", y);
    check_broadcasts_to(op, "weight", weight, "z", z.shape());
    check_broadcasts_to(op, "pos_weight", pos_weight, "z", z.shape());
    // softplus without its threshold, exact for any z: (1 - y) z + softplus(-z) = softplus(z) - y z,
    // where the loss of a large z with y = 1 is e^-z, not 0. pos_weight adds (pw - 1) y softplus(-z).
    constexpr T exact = std::numeric_limits<T>::infinity();
    Tensor<T> terms = softplus(z, T(1), exact) - mul(y, z);
    if (pos_weight.defined()) terms = terms + mul(mul(pos_weight - T(1), y), softplus(-z, T(1), exact));
    return reduce_terms(weighted(terms, weight), reduction);
}

template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& z, const Tensor<T>& y, Reduction reduction) {
    return binary_cross_entropy_with_logits(z, y, Tensor<T>(), Tensor<T>(), reduction);
}

template <class T>
Tensor<T> kl_div(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction, bool log_target) {
    check_same_shape("kl_div", "input", input, "target", target);
    Tensor<T> terms;
    if (log_target) {
        terms = mul(exp(target), target - input);
    } else {
        for (std::size_t i = 0; i < target.numel(); ++i) {
            const T v = target.value().data()[i];
            if (v < 0) {
                fail<ValueError>(
                    "kl_div: target (shape {}) holds probabilities, but element {} is {}; pass "
                    "log_target = true for log-probabilities",
                    shape_str(target.shape()), i, v);
            }
        }
        // t log t with 0 log 0 = 0: log(t + [t = 0]) is 0 there, so the term and its derivative
        // log(t + [t = 0]) + t / (t + [t = 0]), log t + 1 but 0 where t = 0, stay finite.
        const Tensor<T> at_zero = detail::mask("kl_div", target, [](T v) { return v == 0; });
        terms = mul(target, log(target + at_zero)) - mul(target, input);
    }
    if (reduction != Reduction::BatchMean) return reduce_terms(terms, reduction);
    // PyTorch's 'batchmean': the sum over the batch size (NaN for an empty batch), a 0-d input's sum.
    return input.ndim() == 0 ? terms : tapegrad::sum(terms) / static_cast<T>(input.shape()[0]);
}

template <class T>
Tensor<T> cosine_embedding_loss(const Tensor<T>& x1, const Tensor<T>& x2, const Tensor<T>& y, double margin,
                                Reduction reduction) {
    const char* op = "cosine_embedding_loss";
    check_reduction(op, reduction);
    check_same_shape(op, "x1", x1, "x2", x2);
    check_defined(op, "y", y);
    check_not_nan(op, "margin", margin);
    const bool batched = y.ndim() == 1 && x1.ndim() == 2 && y.shape()[0] == x1.shape()[0];
    if (!batched && !(y.ndim() == 0 && x1.ndim() == 1)) {
        fail<ShapeError>("{}: x1 and x2 have shape {} and y has shape {}; expected [N, D] with [N], or [D] with []", op,
                         shape_str(x1.shape()), shape_str(y.shape()));
    }
    for (std::size_t i = 0; i < y.numel(); ++i) {
        const T v = y.value().data()[i];
        if (v != 1 && v != -1) fail<ValueError>("{}: y must hold 1 or -1, but element {} is {}", op, i, v);
    }
    const Dims features = {-1};
    const T eps = T(1e-12);  // PyTorch's, added to each squared norm
    const Tensor<T> norms = (tapegrad::sum(square(x1), features) + eps) * (tapegrad::sum(square(x2), features) + eps);
    const Tensor<T> cos = tapegrad::sum(mul(x1, x2), features) / sqrt(norms);
    const Tensor<T> similar = detail::mask(op, y, [](T v) { return v == 1; });
    const Tensor<T> dissimilar = detail::mask(op, y, [](T v) { return v == -1; });
    return reduce_terms(mul(similar, T(1) - cos) + mul(dissimilar, clamp(cos - static_cast<T>(margin), T(0))),
                        reduction);
}

template <class T>
Tensor<T> margin_ranking_loss(const Tensor<T>& x1, const Tensor<T>& x2, const Tensor<T>& y, double margin,
                              Reduction reduction) {
    const char* op = "margin_ranking_loss";
    check_reduction(op, reduction);
    check_same_shape(op, "x1", x1, "x2", x2);
    check_same_shape(op, "x1", x1, "y", y);
    check_not_nan(op, "margin", margin);
    return reduce_terms(clamp(static_cast<T>(margin) - mul(y, x1 - x2), T(0)), reduction);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                        \
    template Tensor<T> mse_loss(const Tensor<T>&, const Tensor<T>&, Reduction);                                        \
    template Tensor<T> half_sum_squares(const Tensor<T>&, const Tensor<T>&, Reduction);                                \
    template Tensor<T> l1_loss(const Tensor<T>&, const Tensor<T>&, Reduction);                                         \
    template Tensor<T> smooth_l1_loss(const Tensor<T>&, const Tensor<T>&, Reduction, double);                          \
    template Tensor<T> huber_loss(const Tensor<T>&, const Tensor<T>&, Reduction, double);                              \
    template Tensor<T> binary_cross_entropy(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Reduction);          \
    template Tensor<T> binary_cross_entropy(const Tensor<T>&, const Tensor<T>&, Reduction);                            \
    template Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,          \
                                                        const Tensor<T>&, Reduction);                                  \
    template Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>&, const Tensor<T>&, Reduction);                \
    template Tensor<T> kl_div(const Tensor<T>&, const Tensor<T>&, Reduction, bool);                                    \
    template Tensor<T> cosine_embedding_loss(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, double, Reduction); \
    template Tensor<T> margin_ranking_loss(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, double, Reduction);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
