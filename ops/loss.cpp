#include <tapegrad/ops/loss.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>

#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/reduce_kernel.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>
#include <tapegrad/ops/simd.hpp>
#include <tapegrad/ops/softmax.hpp>

namespace tapegrad {

namespace {

/// The mean or the sum of every element (a 0-d tensor).
template <class T>
Tensor<T> reduce_all(const Tensor<T>& terms, Reduction reduction) {
    if (reduction == Reduction::None) return terms;
    return reduction == Reduction::Mean ? mean(terms) : sum(terms);
}

/// Per-sample terms (shape [batch]) reduced: their sum, divided by the batch size for Mean (NaN for
/// an empty batch, as PyTorch's mean of nothing), or themselves for None.
template <class T>
Tensor<T> reduce_samples(const Tensor<T>& per_sample, Reduction reduction) {
    if (reduction == Reduction::None) return per_sample;
    return reduction == Reduction::Mean ? mean(per_sample) : sum(per_sample);
}

/// What a per-sample loss's scalar result is divided by: the batch size for Mean (NaN for an empty
/// batch), else 1.
template <class T>
T batch_scale(Reduction reduction, std::size_t batch) {
    if (reduction != Reduction::Mean) return T(1);
    return batch == 0 ? std::numeric_limits<T>::quiet_NaN() : T(1) / static_cast<T>(batch);
}

/// grad as a column [batch, 1] when the loss kept one value per sample (None), so that it scales
/// each row of a [batch, classes] gradient; the 0-d grad of a reduced loss as it is.
template <class T>
Tensor<T> per_row(const Tensor<T>& grad) {
    return grad.ndim() == 1 ? reshape(grad, {static_cast<std::int64_t>(grad.numel()), std::int64_t{1}}) : grad;
}

/// Scores are batch x classes and there is one label in [0, classes) per row.
template <class T>
void check_labels(const char* op, const char* arg, const Tensor<T>& scores, const Labels& targets) {
    check_ndim(op, arg, scores, 2);
    const std::size_t batch = scores.shape()[0];
    const auto classes = static_cast<std::int64_t>(scores.shape()[1]);
    if (targets.ndim() != 1 || targets.numel() != batch) {
        fail<ShapeError>("{}: {} has shape {} (batch {}), but targets have shape {}; expected [{}], one per row", op,
                         arg, shape_str(scores.shape()), batch, shape_str(targets.shape()), batch);
    }
    for (std::size_t i = 0; i < batch; ++i) {
        if (targets[i] < 0 || targets[i] >= classes) {
            fail<IndexError>("{}: target {} at row {} is not a class index in [0, {})", op, targets[i], i, classes);
        }
    }
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

using PooledLabels = std::vector<std::int64_t, detail::PoolAllocator<std::int64_t>>;

/// Cross-entropy with labels computed in one pass per row: each row's loss, and the softmax
/// probabilities the backward needs. The row maximum is subtracted first (an infinite maximum
/// shifts by 0, as in softmax.cpp), so no exponential overflows.
template <class T>
struct XentForward {
    xt::xarray<T> rows;  // [batch]
    xt::xarray<T> probs;
};

template <class T>
XentForward<T> xent_forward(const xt::xarray<T>& z, const Labels& targets, T smoothing) {
    const std::size_t batch = z.shape()[0];
    const std::size_t classes = z.shape()[1];
    xt::xarray<T> probs = detail::take_buffer_like("cross_entropy", z);
    xt::xarray<T> rows = detail::take_buffer<T>("cross_entropy", {batch});
    for (std::size_t i = 0; i < batch; ++i) {
        const T* row = z.data() + i * classes;
        T* p = probs.data() + i * classes;
        T m = -std::numeric_limits<T>::infinity();
        for (std::size_t j = 0; j < classes; ++j) m = nan_max(m, row[j]);
        if (std::isinf(m)) m = 0;
        simd::exp_shifted(row, m, p, classes);
        T sum_exp = 0;
        T sum_z = 0;
        for (std::size_t j = 0; j < classes; ++j) {
            sum_exp += p[j];
            sum_z += row[j] - m;
        }
        const T log_sum = std::log(sum_exp);
        for (std::size_t j = 0; j < classes; ++j) p[j] /= sum_exp;
        const auto t = static_cast<std::size_t>(targets[i]);
        // -log_softmax at the target, mixed with the mean of -log_softmax over classes.
        const T nll = log_sum - (row[t] - m);
        T loss = (T(1) - smoothing) * nll;
        if (smoothing != 0) loss += smoothing * (log_sum - sum_z / static_cast<T>(classes));
        rows(i) = loss;
    }
    return {std::move(rows), std::move(probs)};
}

/// The target distribution (1 - e) onehot + e / classes.
template <class T>
xt::xarray<T> xent_target(const Shape& shape, std::span<const std::int64_t> targets, T smoothing) {
    xt::xarray<T> target = detail::take_buffer<T>("cross_entropy", shape);
    target.fill(smoothing / static_cast<T>(shape[1]));
    for (std::size_t i = 0; i < shape[0]; ++i) {
        target.data()[i * shape[1] + static_cast<std::size_t>(targets[i])] += T(1) - smoothing;
    }
    return target;
}

/// (probs - target distribution) * factor, in one pass; the factor is grad * scale, one per row
/// (Reduction::None) or one for all.
template <class T>
xt::xarray<T> xent_grad(const xt::xarray<T>& probs, std::span<const std::int64_t> targets, T smoothing,
                        const xt::xarray<T>& grad, T scale) {
    const std::size_t classes = probs.shape()[1];
    const T uniform = smoothing / static_cast<T>(classes);
    xt::xarray<T> out = detail::take_buffer_like("cross_entropy", probs);
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const T factor = grad.data()[grad.size() == 1 ? 0 : i] * scale;
        T* o = out.data() + i * classes;
        const T* p = probs.data() + i * classes;
        for (std::size_t j = 0; j < classes; ++j) o[j] = (p[j] - uniform) * factor;
        o[static_cast<std::size_t>(targets[i])] -= (T(1) - smoothing) * factor;
    }
    return out;
}

}  // namespace

template <class T>
Tensor<T> mse_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction) {
    check_same_shape("mse_loss", "pred", pred, "target", target);
    return reduce_all(square(pred - target), reduction);
}

template <class T>
Tensor<T> half_sum_squares(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction) {
    check_same_shape("half_sum_squares", "pred", pred, "target", target);
    const Tensor<T> terms = square(pred - target) * T(0.5);
    if (pred.ndim() == 0) return terms;  // one sample: its cost, whatever the reduction
    Dims features;
    for (std::size_t d = 1; d < pred.ndim(); ++d) features.push_back(static_cast<std::int64_t>(d));
    return reduce_samples(features.empty() ? terms : tapegrad::sum(terms, features), reduction);  // not xt::sum by ADL
}

template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Labels& targets, Reduction reduction) {
    check_labels("nll_loss", "log_probs", log_probs, targets);
    const std::size_t batch = log_probs.shape()[0];
    const std::size_t classes = log_probs.shape()[1];
    // d/dlog_probs, fixed by the labels: -scale at each target (times each row's grad for None).
    const T scale = batch_scale<T>(reduction, batch);
    xt::xarray<T> weights = detail::take_buffer<T>("nll_loss", log_probs.shape());
    weights.fill(T(0));
    xt::xarray<T> rows = detail::take_buffer<T>("nll_loss", {batch});
    for (std::size_t i = 0; i < batch; ++i) {
        const auto t = static_cast<std::size_t>(targets[i]);
        rows(i) = -log_probs.value().data()[i * classes + t];
        weights.data()[i * classes + t] = -scale;
    }
    auto rule = [w = Tensor<T>(std::move(weights))](const Backward<T>& ctx) -> Grads<T> {
        return {mul(per_row(ctx.grad()), w)};
    };
    if (reduction == Reduction::None) return record<T>("nll_loss", {log_probs}, std::move(rows), std::move(rule));
    xt::xarray<T> loss = detail::take_buffer<T>("nll_loss", Shape{});
    loss() = std::accumulate(rows.begin(), rows.end(), T(0)) * scale;
    detail::give_buffer(rows);
    return record<T>("nll_loss", {log_probs}, std::move(loss), std::move(rule));
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Labels& targets, Reduction reduction, double label_smoothing) {
    check_labels("cross_entropy", "logits", logits, targets);
    if (!(label_smoothing >= 0 && label_smoothing <= 1)) {
        fail<ValueError>("cross_entropy: label_smoothing {} must be in [0, 1]", label_smoothing);
    }
    const std::size_t batch = logits.shape()[0];
    const auto e = static_cast<T>(label_smoothing);
    const T scale = batch_scale<T>(reduction, batch);
    XentForward<T> f = xent_forward(logits.value(), targets, e);
    // d/dlogits = (softmax - target distribution) * scale. Without create_graph it is computed
    // straight from the saved probabilities; with it, from ops, so it can be differentiated again.
    // The rule keeps its own copy of the labels in pooled storage, and the probabilities as a tensor
    // (whose buffer goes back to the pool with it): no malloc per step.
    auto rule = [labels = PooledLabels(targets.begin(), targets.end()), e, scale,
                 probs = Tensor<T>(std::move(f.probs))](const Backward<T>& ctx) -> Grads<T> {
        if (!is_grad_enabled()) return {Tensor<T>(xent_grad(probs.value(), labels, e, ctx.grad().value(), scale))};
        const Tensor<T> target(xent_target<T>(ctx.input(0).shape(), labels, e));
        return {mul(per_row(ctx.grad()) * scale, softmax(ctx.input(0), 1) - target)};
    };
    if (reduction == Reduction::None) return record<T>("cross_entropy", {logits}, std::move(f.rows), std::move(rule));
    xt::xarray<T> loss = detail::take_buffer<T>("cross_entropy", Shape{});
    loss() = std::accumulate(f.rows.begin(), f.rows.end(), T(0)) * scale;
    detail::give_buffer(f.rows);
    return record<T>("cross_entropy", {logits}, std::move(loss), std::move(rule));
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& target_probs, Reduction reduction) {
    check_ndim("cross_entropy", "logits", logits, 2);
    check_same_shape("cross_entropy", "logits", logits, "target_probs", target_probs);
    return reduce_samples(-sum(mul(target_probs, log_softmax(logits, 1)), {1}), reduction);
}

template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& p, const Tensor<T>& y, Reduction reduction) {
    check_same_shape("binary_cross_entropy", "p", p, "y", y);
    for (std::size_t i = 0; i < p.numel(); ++i) {
        const T v = p.value().data()[i];
        if (!(v >= T(0) && v <= T(1))) {
            fail<ValueError>("binary_cross_entropy: p (shape {}) must hold probabilities in [0, 1]; element {} is {}",
                             shape_str(p.shape()), i, v);
        }
    }
    auto terms = record<T>("binary_cross_entropy", {p, y}, bce_terms(p.value(), y.value()),
                           [](const Backward<T>& ctx) -> Grads<T> {
                               const auto& g = ctx.grad();
                               const auto& p_ = ctx.input(0);
                               const auto& y_ = ctx.input(1);
                               Tensor<T> dp;
                               Tensor<T> dy;
                               if (ctx.needs(0)) dp = div(mul(g, p_ - y_), clamp(mul(p_, T(1) - p_), T(1e-12)));
                               if (ctx.needs(1)) dy = mul(g, clamp(log(T(1) - p_), T(-100)) - clamp(log(p_), T(-100)));
                               return {dp, dy};
                           });
    return reduce_all(terms, reduction);
}

template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& z, const Tensor<T>& y, Reduction reduction) {
    check_same_shape("binary_cross_entropy_with_logits", "z", z, "y", y);
    // softplus without its threshold: exact for large z too, where the loss of y = 1 is e^-z, not 0.
    return reduce_all(softplus(z, T(1), std::numeric_limits<T>::infinity()) - mul(y, z), reduction);
}

#define TAPEGRAD_INSTANTIATE(T)                                                             \
    template Tensor<T> mse_loss(const Tensor<T>&, const Tensor<T>&, Reduction);             \
    template Tensor<T> half_sum_squares(const Tensor<T>&, const Tensor<T>&, Reduction);     \
    template Tensor<T> cross_entropy(const Tensor<T>&, const Labels&, Reduction, double);   \
    template Tensor<T> cross_entropy(const Tensor<T>&, const Tensor<T>&, Reduction);        \
    template Tensor<T> nll_loss(const Tensor<T>&, const Labels&, Reduction);                \
    template Tensor<T> binary_cross_entropy(const Tensor<T>&, const Tensor<T>&, Reduction); \
    template Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>&, const Tensor<T>&, Reduction);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
