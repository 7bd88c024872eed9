#include <tapegrad/ops/softmax.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/reduce_kernel.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>
#include <tapegrad/ops/simd.hpp>
#include <tapegrad/ops/tangent.hpp>

namespace tapegrad {

namespace {

/// x with each slice along the dim shifted by its maximum (kept with size 1 in `shift`), and
/// the sum of the exponentials of the shifted slice; every exponent is then <= 0, so nothing
/// overflows. An infinite maximum shifts by 0 instead (PyTorch's logsumexp rule), so a slice
/// of -inf keeps logsumexp = -inf and one holding +inf gives +inf, not NaN from inf - inf.
template <class T>
struct Shifted {
    detail::Scratch<T> shifted;  // x - shift
    detail::Scratch<T> shift;    // the maximum per slice, dim kept with size 1
    detail::Scratch<T> sum_exp;  // sum of e^shifted per slice, same shape as shift
};

template <class T>
Shifted<T> shift_by_max(const char* op, const Tensor<T>& x, std::size_t dim) {
    DimMask reduced(x.ndim(), false);
    reduced[dim] = true;
    detail::Scratch<T> m = reduce_dims<T>(op, x.value(), reduced, -std::numeric_limits<T>::infinity(), nan_max<T>);
    for (auto& v : *m) v = std::isinf(v) ? T(0) : v;
    detail::Scratch<T> shifted = detail::evaluate<T>(op, x.value() - *m);
    const detail::Scratch<T> e = detail::evaluate<T>(op, xt::exp(*shifted));
    detail::Scratch<T> s = reduce_dims<T>(op, *e, reduced, T(0), [](T acc, T v) { return acc + v; });
    return {std::move(shifted), std::move(m), std::move(s)};
}

/// softmax (or log_softmax) of one row of n, in three vectorised passes instead of shift_by_max's
/// broadcast expressions: the maximum, e^(x - shift) into y with its sum (added in double), then
/// the normalisation. The shift rule is shift_by_max's, and the results round as its:
/// e^(x - shift) / s and (x - shift) - log s. x and y may be the same row (softmax only). `safe`:
/// a row of -inf (sum 0) gives 0s instead of 0/0 (attention's rows with every key masked).
template <class T>
void softmax_row(const T* x, T* y, std::size_t n, bool log, bool safe) {
    T shift = simd::max_of(x, n);
    if (std::isinf(shift)) shift = T(0);
    simd::exp_shifted(x, shift, y, n);
    const T s = static_cast<T>(simd::fold_sum(y, n, [](auto v) { return v; }));
    if (safe && s == T(0)) {
        std::fill(y, y + n, T(0));
    } else if (log) {
        const T log_s = std::log(s);
        for (std::size_t i = 0; i < n; ++i) y[i] = (x[i] - shift) - log_s;
    } else {
        for (std::size_t i = 0; i < n; ++i) y[i] /= s;
    }
}

/// softmax(x) or log_softmax(x) along dim d: the row kernel when d is the last dim (attention's
/// and the classifiers' case), else shift_by_max's expressions.
template <class T>
xt::xarray<T> softmax_value(const char* op, const Tensor<T>& x, std::size_t d, bool log) {
    if (d + 1 == x.ndim()) {
        xt::xarray<T> y = detail::take_buffer_like<T>(op, x.value());
        const std::size_t n = x.shape().back();
        const std::size_t rows = n == 0 ? 0 : x.numel() / n;
        for (std::size_t r = 0; r < rows; ++r) softmax_row(x.value().data() + r * n, y.data() + r * n, n, log, false);
        return y;
    }
    const Shifted<T> s = shift_by_max(op, x, d);
    if (log) return detail::evaluate<T>(op, *s.shifted - xt::log(*s.sum_exp));
    return detail::evaluate<T>(op, xt::exp(*s.shifted) / *s.sum_exp);
}

/// softmax's backward along the last dim as an op of its own (PyTorch's _softmax_backward_data):
/// one vectorised pass per row instead of four broadcasting ops, and still differentiable in y
/// and g, so gradients of gradients flow.
///   z = y (g - Σ g y)     d/dy = grad (g - Σ g y) - g Σ grad y     d/dg = y (grad - Σ grad y)
///   tangent: dz = dy (g - Σ g y) - y Σ g dy + y (dg - Σ dg y)
template <class T>
Tensor<T> softmax_backward(const Tensor<T>& y, const Tensor<T>& g) {
    xt::xarray<T> z = detail::take_buffer_like<T>("softmax_backward", y.value());
    const std::size_t n = y.shape().back();
    const std::size_t rows = n == 0 ? 0 : y.numel() / n;
    const T* yr = y.value().data();
    const T* gr = g.value().data();
    T* zr = z.data();
    for (std::size_t r = 0; r < rows; ++r, yr += n, gr += n, zr += n) {
        const T s = static_cast<T>(simd::fold_sum(gr, yr, n, [](auto a, auto b) { return a * b; }));
        for (std::size_t i = 0; i < n; ++i) zr[i] = yr[i] * (gr[i] - s);
    }
    return record<T>(
        "softmax_backward", {y, g}, std::move(z),
        [](const Backward<T>& ctx) -> Grads<T> {
            const auto& y_ = ctx.input(0);
            const auto& g_ = ctx.input(1);
            const auto& u = ctx.grad();
            return {ctx.needs(0) ? mul(u, g_ - sum(mul(g_, y_), {-1}, true)) - mul(g_, sum(mul(u, y_), {-1}, true))
                                 : Tensor<T>(),
                    ctx.needs(1) ? softmax_backward(y_, u) : Tensor<T>()};
        },
        [](const Forward<T>& ctx) {
            const auto& y_ = ctx.input(0);
            const auto& g_ = ctx.input(1);
            const Tensor<T> by_y = ctx.has(0) ? mul(ctx.tangent(0), g_ - sum(mul(g_, y_), {-1}, true)) -
                                                    mul(y_, sum(mul(g_, ctx.tangent(0)), {-1}, true))
                                              : Tensor<T>();
            // z is linear in g: its tangent in g is the op itself.
            return detail::add_tangents(by_y, ctx.has(1) ? softmax_backward(y_, ctx.tangent(1)) : Tensor<T>());
        });
}

template <class T>
std::size_t checked_dim(const char* op, const Tensor<T>& x, std::int64_t dim) {
    check_defined(op, "x", x);
    return normalize_dim(op, "x", dim, x.shape());
}

}  // namespace

namespace detail {

template <class T>
Tensor<T> safe_softmax(const Tensor<T>& x, const Mask* keep, bool is_causal) {
    xt::xarray<T> y = take_buffer_like<T>("softmax", x.value());
    const std::size_t n = x.ndim() == 0 ? 1 : x.shape().back();
    const std::size_t l_len = x.ndim() < 2 ? 1 : x.shape()[x.ndim() - 2];
    const std::size_t rows = n == 0 ? 0 : x.numel() / n;
    constexpr T neg_inf = -std::numeric_limits<T>::infinity();
    for (std::size_t r = 0; r < rows; ++r) {
        const T* xr = x.value().data() + r * n;
        T* yr = y.data() + r * n;
        if (keep) {
            const bool* kr = keep->begin() + r * n;
            for (std::size_t j = 0; j < n; ++j) yr[j] = kr[j] ? xr[j] : neg_inf;
        } else if (is_causal) {
            const std::size_t kept = std::min(n, r % l_len + 1);  // key j <= query i
            std::copy(xr, xr + kept, yr);
            std::fill(yr + kept, yr + n, neg_inf);
        }
        softmax_row(keep || is_causal ? yr : xr, yr, n, false, true);
    }
    // The Jacobian is softmax's, symmetric (0 at the masked entries, where y = 0): the same product.
    return record<T>(
        "softmax", {x}, std::move(y),
        [](const Backward<T>& ctx) -> Grads<T> { return {softmax_backward(ctx.output(), ctx.grad())}; },
        [](const Forward<T>& ctx) { return softmax_backward(ctx.output(), ctx.tangent(0)); });
}

}  // namespace detail

template <class T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t dim) {
    const std::size_t d = checked_dim("softmax", x, dim);
    xt::xarray<T> y = softmax_value("softmax", x, d, false);
    // y (v - sum(v y, dim)) for v = grad or tangent: the Jacobian diag(y) - y y^T is symmetric.
    auto times_jacobian = [d](const Tensor<T>& y_, const Tensor<T>& v) {
        if (d + 1 == y_.ndim()) return softmax_backward(y_, v);
        return mul(y_, v - sum(mul(v, y_), {static_cast<std::int64_t>(d)}, true));
    };
    return record<T>(
        "softmax", {x}, std::move(y),
        [times_jacobian](const Backward<T>& ctx) -> Grads<T> { return {times_jacobian(ctx.output(), ctx.grad())}; },
        [times_jacobian](const Forward<T>& ctx) { return times_jacobian(ctx.output(), ctx.tangent(0)); });
}

template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t dim) {
    const std::size_t d = checked_dim("log_softmax", x, dim);
    xt::xarray<T> y = softmax_value("log_softmax", x, d, true);
    const auto sd = static_cast<std::int64_t>(d);
    return record<T>(
        "log_softmax", {x}, std::move(y),
        [sd](const Backward<T>& ctx) -> Grads<T> {
            const auto& g = ctx.grad();
            return {g - mul(softmax(ctx.input(0), sd), sum(g, {sd}, true))};
        },
        [sd](const Forward<T>& ctx) {
            const auto& v = ctx.tangent(0);
            return v - sum(mul(softmax(ctx.input(0), sd), v), {sd}, true);
        });
}

template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, std::int64_t dim, bool keepdim) {
    const std::size_t d = checked_dim("logsumexp", x, dim);
    const Shifted<T> s = shift_by_max("logsumexp", x, d);
    xt::xarray<T> out = detail::evaluate<T>("logsumexp", *s.shift + xt::log(*s.sum_exp));
    const Shape kept(out.shape().begin(), out.shape().end());
    if (!keepdim) {
        Shape dropped = kept;
        dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(d));
        out.reshape(dropped);
    }
    return record<T>(
        "logsumexp", {x}, std::move(out),
        [d, kept](const Backward<T>& ctx) -> Grads<T> {
            const Tensor<T> g = ctx.grad().shape() == kept ? ctx.grad() : reshape(ctx.grad(), kept);
            return {mul(g, softmax(ctx.input(0), static_cast<std::int64_t>(d)))};
        },
        [d, keepdim](const Forward<T>& ctx) {
            const auto sd = static_cast<std::int64_t>(d);
            return sum(mul(softmax(ctx.input(0), sd), ctx.tangent(0)), {sd}, keepdim);
        });
}

#define TAPEGRAD_INSTANTIATE(T)                                                   \
    template Tensor<T> detail::safe_softmax(const Tensor<T>&, const Mask*, bool); \
    template Tensor<T> softmax(const Tensor<T>&, std::int64_t);                   \
    template Tensor<T> log_softmax(const Tensor<T>&, std::int64_t);               \
    template Tensor<T> logsumexp(const Tensor<T>&, std::int64_t, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
