// The classification losses of ops/loss.hpp: cross_entropy and nll_loss with class-index targets
// (fused kernels, one pass per row, closed-form backward), and cross_entropy with probability
// targets (composed from ops).
#include <tapegrad/ops/loss.hpp>

#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/reduce_kernel.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>
#include <tapegrad/ops/simd.hpp>
#include <tapegrad/ops/softmax.hpp>

namespace tapegrad {

namespace {

template <class V>
using Pooled = std::vector<V, detail::PoolAllocator<V>>;

/// How the classification losses see their scores: `samples` x `classes` x `inner` ([N, C] has
/// inner 1, [N, C, d1, ...] inner d1 * ..., an unbatched [C] is one sample). Element (n, c, k) is
/// at (n classes + c) inner + k; its target at position n inner + k.
struct ClassLayout {
    std::size_t samples = 1;
    std::size_t classes = 0;
    std::size_t inner = 1;
};

/// The class dim: 1, or 0 for an unbatched [C].
std::size_t class_dim_of(const Shape& scores) {
    return scores.size() == 1 ? 0 : 1;
}

/// The layout of `scores` (at least 1-d); ShapeError unless the targets' shape is the scores' shape
/// without the class dim.
ClassLayout class_layout(const char* op, const char* arg, const Shape& scores, const Shape& targets) {
    if (scores.empty()) fail<ShapeError>("{}: {} is 0-d; expected [C], [N, C] or [N, C, d1, ...]", op, arg);
    const std::size_t class_dim = class_dim_of(scores);
    Shape expected = scores;
    expected.erase(expected.begin() + static_cast<std::ptrdiff_t>(class_dim));
    if (targets != expected) {
        fail<ShapeError>("{}: {} has shape {}, but targets have shape {}; expected {} (its shape without class dim {})",
                         op, arg, shape_str(scores), shape_str(targets), shape_str(expected), class_dim);
    }
    ClassLayout layout{.samples = class_dim == 0 ? 1 : scores[0], .classes = scores[class_dim]};
    for (std::size_t d = 2; d < scores.size(); ++d) layout.inner *= scores[d];
    return layout;
}

/// ShapeError unless the class weights (when given) are one per class.
template <class T>
void check_class_weight(const char* op, const Tensor<T>& weight, std::size_t classes) {
    if (weight.defined() && (weight.ndim() != 1 || weight.numel() != classes)) {
        fail<ShapeError>("{}: weight has shape {}; expected [{}], one per class", op, shape_str(weight.shape()),
                         classes);
    }
}

void check_smoothing(const char* op, double label_smoothing) {
    if (!(label_smoothing >= 0 && label_smoothing <= 1)) {
        fail<ValueError>("{}: label_smoothing {} must be in [0, 1]", op, label_smoothing);
    }
}

/// What cross_entropy and nll_loss with class-index targets keep for their backward, in pooled
/// storage (a training step calls no malloc): the targets, the class weights, and `scale`, the
/// factor d/dlogits carries (1 / the Mean denominator, else 1).
template <class T>
struct ClassTargets {
    ClassLayout layout;
    Pooled<std::int64_t> labels;
    Pooled<T> weight;  // empty: every class weighs 1
    std::int64_t ignore_index = -100;
    T smoothing = 0;
    T weight_sum = 0;  // sum_c w_c
    T scale = 1;

    T w(std::size_t c) const { return weight.empty() ? T(1) : weight[c]; }
    bool ignored(std::size_t position) const { return labels[position] == ignore_index; }
};

/// Checks scores, targets and options (see cross_entropy's errors) and gathers what the kernels need.
template <class T>
ClassTargets<T> class_targets(const char* op, const char* arg, const Tensor<T>& scores, const Labels& targets,
                              const Tensor<T>& weight, std::int64_t ignore_index, double smoothing,
                              Reduction reduction) {
    detail::check_reduction(op, reduction);
    check_defined(op, arg, scores);
    const ClassLayout layout = class_layout(op, arg, scores.shape(), targets.shape());
    check_class_weight(op, weight, layout.classes);
    if (weight.defined() && weight.requires_grad() && is_grad_enabled()) {
        fail<ValueError>(
            "{}: weight requires grad, but class weights are constants with class-index targets (as in "
            "PyTorch, whose backward refuses them); pass weight.detach()",
            op);
    }
    check_smoothing(op, smoothing);
    ClassTargets<T> c{.layout = layout,
                      .labels = Pooled<std::int64_t>(targets.begin(), targets.end()),
                      .weight = {},
                      .ignore_index = ignore_index,
                      .smoothing = static_cast<T>(smoothing),
                      .weight_sum = static_cast<T>(layout.classes)};
    if (weight.defined()) {
        c.weight.assign(weight.value().begin(), weight.value().end());
        c.weight_sum = std::accumulate(c.weight.begin(), c.weight.end(), T(0));
    }
    const auto classes = static_cast<std::int64_t>(layout.classes);
    double denominator = 0;  // Mean's: the weights of the targets that count (their number without weights)
    for (std::size_t p = 0; p < c.labels.size(); ++p) {
        const std::int64_t t = c.labels[p];
        if (t == ignore_index) continue;
        if (t < 0 || t >= classes) {
            fail<IndexError>("{}: target {} at position {} is not a class index in [0, {}), nor ignore_index {}", op, t,
                             p, classes, ignore_index);
        }
        denominator += c.w(static_cast<std::size_t>(t));
    }
    // inf when nothing counts: the loss is then 0 * inf = NaN, PyTorch's 0 / 0.
    if (reduction == Reduction::Mean) c.scale = static_cast<T>(1 / denominator);
    return c;
}

/// The losses per position as they are (None), or their sum times scale as a 0-d array (the
/// losses' buffer then goes back to the pool).
template <class T>
xt::xarray<T> reduce_losses(const char* op, xt::xarray<T>& losses, Reduction reduction, T scale) {
    if (reduction == Reduction::None) return std::move(losses);
    xt::xarray<T> out = detail::take_buffer<T>(op, Shape{});
    out() = std::accumulate(losses.begin(), losses.end(), T(0)) * scale;
    detail::give_buffer(losses);
    return out;
}

/// An incoming gradient per target position (None: the targets' shape) as [N, 1, d1, ...], so that
/// it scales each position's classes; a 0-d one as it is.
template <class T>
Tensor<T> per_position(const Tensor<T>& grad) {
    return grad.ndim() == 0 ? grad : unsqueeze(grad, 1);
}

/// One position's cross-entropy: softmax(z) into p (z and p contiguous, one per class), and the
/// loss of target t (0 when ignored). The maximum is subtracted first (an infinite maximum shifts
/// by 0, as in softmax.cpp), so no exponential overflows; -log_softmax(z)_j = log_sum - (z_j - m).
template <class T>
T xent_row(const T* z, T* p, std::int64_t t, const ClassTargets<T>& c) {
    const std::size_t classes = c.layout.classes;
    T m = -std::numeric_limits<T>::infinity();
    for (std::size_t j = 0; j < classes; ++j) m = nan_max(m, z[j]);
    if (std::isinf(m)) m = 0;
    simd::exp_shifted(z, m, p, classes);
    T sum_exp = 0;
    for (std::size_t j = 0; j < classes; ++j) sum_exp += p[j];
    for (std::size_t j = 0; j < classes; ++j) p[j] /= sum_exp;
    if (t == c.ignore_index) return T(0);
    const T log_sum = std::log(sum_exp);
    const auto ti = static_cast<std::size_t>(t);
    T loss = (T(1) - c.smoothing) * c.w(ti) * (log_sum - (z[ti] - m));
    if (c.smoothing != 0) {  // + e/C sum_j w_j (-log_softmax(z)_j)
        T weighted_z = 0;
        for (std::size_t j = 0; j < classes; ++j) weighted_z += c.w(j) * (z[j] - m);
        loss += c.smoothing / static_cast<T>(classes) * (c.weight_sum * log_sum - weighted_z);
    }
    return loss;
}

/// Each target position's loss (the targets' shape) and the softmax probabilities the backward needs.
template <class T>
struct XentForward {
    xt::xarray<T> losses;
    xt::xarray<T> probs;
};

template <class T>
XentForward<T> xent_forward(const xt::xarray<T>& z, const Shape& targets_shape, const ClassTargets<T>& c) {
    const auto [samples, classes, inner] = c.layout;
    xt::xarray<T> probs = detail::take_buffer_like("cross_entropy", z);
    xt::xarray<T> losses = detail::take_buffer<T>("cross_entropy", targets_shape);
    if (inner == 1) {
        for (std::size_t n = 0; n < samples; ++n) {
            losses.data()[n] = xent_row(z.data() + n * classes, probs.data() + n * classes, c.labels[n], c);
        }
        return {std::move(losses), std::move(probs)};
    }
    // [N, C, d1, ...]: a position's classes lie `inner` apart; each row is gathered and scattered.
    detail::Scratch<T> rows(detail::take_buffer<T>("cross_entropy", {2, classes}));
    T* zr = (*rows).data();
    T* pr = zr + classes;
    for (std::size_t n = 0; n < samples; ++n) {
        for (std::size_t k = 0; k < inner; ++k) {
            const std::size_t first = n * classes * inner + k;
            for (std::size_t j = 0; j < classes; ++j) zr[j] = z.data()[first + j * inner];
            losses.data()[n * inner + k] = xent_row(zr, pr, c.labels[n * inner + k], c);
            for (std::size_t j = 0; j < classes; ++j) probs.data()[first + j * inner] = pr[j];
        }
    }
    return {std::move(losses), std::move(probs)};
}

/// d/dlogits = (s softmax - T) * factor in one pass (the closed form in loss.hpp), factor = grad *
/// scale, one per position (None) or one for all; 0 at ignored targets. kPlain: [N, C] without
/// class weights (a training step's case), where the strides and weights are known at compile time.
template <bool kPlain, class T>
void xent_grad_into(T* out, const T* probs, const ClassTargets<T>& c, const xt::xarray<T>& grad) {
    const auto [samples, classes, layout_inner] = c.layout;
    const std::size_t inner = kPlain ? 1 : layout_inner;
    const T uniform = c.smoothing / static_cast<T>(classes);
    for (std::size_t n = 0; n < samples; ++n) {
        for (std::size_t k = 0; k < inner; ++k) {
            const std::size_t position = n * inner + k;
            T* o = out + n * classes * inner + k;
            const T* p = probs + n * classes * inner + k;
            if (c.ignored(position)) {
                for (std::size_t j = 0; j < classes; ++j) o[j * inner] = 0;
                continue;
            }
            const auto t = static_cast<std::size_t>(c.labels[position]);
            const T factor = grad.data()[grad.size() == 1 ? 0 : position] * c.scale;
            const T on_target = (T(1) - c.smoothing) * (kPlain ? T(1) : c.w(t)) * factor;
            const T s = on_target + uniform * c.weight_sum * factor;
            const T u = uniform * factor;
            for (std::size_t j = 0; j < classes; ++j) o[j * inner] = p[j * inner] * s - u * (kPlain ? T(1) : c.w(j));
            o[t * inner] -= on_target;
        }
    }
}

template <class T>
xt::xarray<T> xent_grad(const xt::xarray<T>& probs, const ClassTargets<T>& c, const xt::xarray<T>& grad) {
    xt::xarray<T> out = detail::take_buffer_like("cross_entropy", probs);
    if (c.layout.inner == 1 && c.weight.empty()) {
        xent_grad_into<true>(out.data(), probs.data(), c, grad);
    } else {
        xent_grad_into<false>(out.data(), probs.data(), c, grad);
    }
    return out;
}

/// The closed form's constants, for a backward under create_graph: s (the logits' shape with class
/// dim 1) and T (the logits' shape), the scale folded in; 0 at ignored targets.
template <class T>
std::pair<Tensor<T>, Tensor<T>> xent_constants(const Shape& shape, const ClassTargets<T>& c) {
    const auto [samples, classes, inner] = c.layout;
    Shape s_shape = shape;
    s_shape[class_dim_of(shape)] = 1;
    xt::xarray<T> s = detail::take_buffer<T>("cross_entropy", s_shape);
    xt::xarray<T> target = detail::take_buffer<T>("cross_entropy", shape);
    const T uniform = c.smoothing / static_cast<T>(classes) * c.scale;
    for (std::size_t position = 0; position < samples * inner; ++position) {
        T* row = target.data() + (position / inner) * classes * inner + position % inner;
        if (c.ignored(position)) {
            s.data()[position] = 0;
            for (std::size_t j = 0; j < classes; ++j) row[j * inner] = 0;
            continue;
        }
        const auto t = static_cast<std::size_t>(c.labels[position]);
        const T on_target = (T(1) - c.smoothing) * c.w(t) * c.scale;
        s.data()[position] = on_target + uniform * c.weight_sum;
        for (std::size_t j = 0; j < classes; ++j) row[j * inner] = uniform * c.w(j);
        row[t * inner] += on_target;
    }
    return {Tensor<T>(std::move(s)), Tensor<T>(std::move(target))};
}

}  // namespace

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Labels& targets, const CrossEntropyOptions<T>& options) {
    ClassTargets<T> c = class_targets("cross_entropy", "logits", logits, targets, options.weight, options.ignore_index,
                                      options.label_smoothing, options.reduction);
    XentForward<T> f = xent_forward(logits.value(), targets.shape(), c);
    xt::xarray<T> loss = reduce_losses("cross_entropy", f.losses, options.reduction, c.scale);
    // Without create_graph d/dlogits is computed straight from the saved probabilities; with it, from
    // ops, so that it can be differentiated again. The rule keeps the probabilities as a tensor (its
    // buffer goes back to the pool with it) and the targets in pooled storage: no malloc per step.
    // The tangent rule's constants, made only in a dual level (c moves into the backward rule).
    std::pair<Tensor<T>, Tensor<T>> constants;
    if (detail::dual_level_open()) constants = xent_constants(logits.shape(), c);
    auto tangent = [constants, reduction = options.reduction](const Forward<T>& ctx) {
        const Tensor<T>& z = ctx.input(0);
        const auto class_dim = static_cast<std::int64_t>(class_dim_of(z.shape()));
        const Tensor<T> per = sum(mul(mul(softmax(z, class_dim), constants.first) - constants.second, ctx.tangent(0)),
                                  {class_dim}, false);
        return reduction == Reduction::None ? per : sum(per);
    };
    auto rule = [c = std::move(c), probs = Tensor<T>(std::move(f.probs))](const Backward<T>& ctx) -> Grads<T> {
        if (!is_grad_enabled()) return {Tensor<T>(xent_grad(probs.value(), c, ctx.grad().value()))};
        const Tensor<T>& z = ctx.input(0);
        const auto [s, target] = xent_constants(z.shape(), c);
        const auto class_dim = static_cast<std::int64_t>(class_dim_of(z.shape()));
        return {mul(per_position(ctx.grad()), mul(softmax(z, class_dim), s) - target)};
    };
    return record<T>("cross_entropy", {logits}, std::move(loss), std::move(rule), tangent);
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Labels& targets, Reduction reduction, double label_smoothing) {
    return cross_entropy(logits, targets,
                         CrossEntropyOptions<T>{.label_smoothing = label_smoothing, .reduction = reduction});
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& target, const CrossEntropyOptions<T>& options) {
    const char* op = "cross_entropy";
    detail::check_reduction(op, options.reduction);
    check_same_shape(op, "logits", logits, "target", target);
    if (logits.ndim() == 0) fail<ShapeError>("{}: logits is 0-d; expected [C], [N, C] or [N, C, d1, ...]", op);
    check_smoothing(op, options.label_smoothing);
    if (options.ignore_index >= 0) {
        fail<ValueError>("{}: ignore_index is {}, but with probability targets it must be negative (PyTorch's check)",
                         op, options.ignore_index);
    }
    const std::size_t class_dim = class_dim_of(logits.shape());
    const std::size_t classes = logits.shape()[class_dim];
    check_class_weight(op, options.weight, classes);
    const auto e = static_cast<T>(options.label_smoothing);
    Tensor<T> y = e > 0 ? target * (T(1) - e) + e / static_cast<T>(classes) : target;
    if (options.weight.defined()) {
        Shape weight_shape(logits.ndim(), 1);
        weight_shape[class_dim] = classes;
        y = mul(y, reshape(options.weight, weight_shape));
    }
    const auto dim = static_cast<std::int64_t>(class_dim);
    const Tensor<T> per_sample = -tapegrad::sum(mul(y, log_softmax(logits, dim)), {dim});
    if (options.reduction == Reduction::None) return per_sample;
    return options.reduction == Reduction::Mean ? tapegrad::mean(per_sample)
                                                : tapegrad::sum(per_sample);  // mean of none: NaN
}

template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& target, Reduction reduction) {
    return cross_entropy(logits, target, CrossEntropyOptions<T>{.reduction = reduction});
}

template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Labels& targets, const NLLLossOptions<T>& options) {
    const ClassTargets<T> c = class_targets("nll_loss", "log_probs", log_probs, targets, options.weight,
                                            options.ignore_index, 0.0, options.reduction);
    const auto [samples, classes, inner] = c.layout;
    // d/dlog_probs, fixed by the targets: -w_t scale at each target that counts (times each
    // position's grad for None), 0 elsewhere.
    xt::xarray<T> slope = detail::take_buffer<T>("nll_loss", log_probs.shape());
    slope.fill(T(0));
    xt::xarray<T> losses = detail::take_buffer<T>("nll_loss", targets.shape());
    for (std::size_t position = 0; position < samples * inner; ++position) {
        losses.data()[position] = 0;
        if (c.ignored(position)) continue;
        const auto t = static_cast<std::size_t>(c.labels[position]);
        const std::size_t at = ((position / inner) * classes + t) * inner + position % inner;
        losses.data()[position] = -c.w(t) * log_probs.value().data()[at];
        slope.data()[at] = -c.w(t) * c.scale;
    }
    const Tensor<T> slopes(std::move(slope));
    auto rule = [slopes](const Backward<T>& ctx) -> Grads<T> { return {mul(per_position(ctx.grad()), slopes)}; };
    // The loss is linear in log_probs: the tangent is the slope-weighted sum, per position (None) or
    // of everything.
    auto tangent = [slopes, reduction = options.reduction](const Forward<T>& ctx) {
        const Tensor<T> weighted = mul(slopes, ctx.tangent(0));
        if (reduction != Reduction::None) return sum(weighted);
        return sum(weighted, {static_cast<std::int64_t>(class_dim_of(weighted.shape()))}, false);
    };
    return record<T>("nll_loss", {log_probs}, reduce_losses("nll_loss", losses, options.reduction, c.scale),
                     std::move(rule), tangent);
}

template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Labels& targets, Reduction reduction) {
    return nll_loss(log_probs, targets, NLLLossOptions<T>{.reduction = reduction});
}

#define TAPEGRAD_INSTANTIATE(T)                                                                          \
    template Tensor<T> cross_entropy(const Tensor<T>&, const Labels&, const CrossEntropyOptions<T>&);    \
    template Tensor<T> cross_entropy(const Tensor<T>&, const Labels&, Reduction, double);                \
    template Tensor<T> cross_entropy(const Tensor<T>&, const Tensor<T>&, const CrossEntropyOptions<T>&); \
    template Tensor<T> cross_entropy(const Tensor<T>&, const Tensor<T>&, Reduction);                     \
    template Tensor<T> nll_loss(const Tensor<T>&, const Labels&, const NLLLossOptions<T>&);              \
    template Tensor<T> nll_loss(const Tensor<T>&, const Labels&, Reduction);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
