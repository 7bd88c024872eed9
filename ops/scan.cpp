#include <tapegrad/ops/scan.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/map.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

using detail::AlongDim;

/// out[o, j, i] = fold(out[o, j - 1, i], x[o, j, i]) along dim d (from the last element back when
/// reverse), the first element copied: a loop over the slices' inner dim, unit-stride.
template <class T, class F>
xt::xarray<T> scan_along(const char* op, const Tensor<T>& x, std::size_t d, bool reverse, F fold) {
    const AlongDim a = detail::along_dim(x.shape(), d);
    xt::xarray<T> out = detail::take_buffer<T>(op, x.shape());
    const T* src = x.value().data();
    T* dst = out.data();
    for (std::size_t o = 0; o < a.outer; ++o) {
        for (std::size_t step = 0; step < a.size; ++step) {
            const std::size_t j = reverse ? a.size - 1 - step : step;
            const std::size_t at = (o * a.size + j) * a.inner;
            if (step == 0) {
                std::copy(src + at, src + at + a.inner, dst + at);
                continue;
            }
            const T* prev = reverse ? dst + at + a.inner : dst + at - a.inner;
            for (std::size_t i = 0; i < a.inner; ++i) dst[at + i] = fold(prev[i], src[at + i]);
        }
    }
    return out;
}

/// cumsum from the first element, or from the last (reverse): each one's backward is the other.
template <class T>
Tensor<T> cumsum_along(const Tensor<T>& x, std::size_t d, bool reverse) {
    xt::xarray<T> out = scan_along("cumsum", x, d, reverse, [](T acc, T v) { return acc + v; });
    return record<T>(
        "cumsum", {x}, std::move(out),
        [d, reverse](const Backward<T>& ctx) -> Grads<T> { return {cumsum_along(ctx.grad(), d, !reverse)}; },
        [d, reverse](const Forward<T>& ctx) { return cumsum_along(ctx.tangent(0), d, reverse); });
}

/// log(e^a + e^b) without overflow; -inf is the identity, and two equal infinities give themselves
/// (not inf - inf).
template <class T>
T log_add_exp(T a, T b) {
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    const T low = std::min(a, b), high = std::max(a, b);
    if (low == high && std::isinf(low)) return low;
    return high + std::log1p(std::exp(low - high));
}

/// through(log v+) - through(log v-), v+ and v- the positive and negative parts of v (v = v+ - v-):
/// for sums of e^(...) v computed in log space. Where a part is absent, its log is the lowest finite
/// number (its e^ is 0), built with masks so that no log 0 or 0 * inf appears.
template <class T, class F>
Tensor<T> by_sign(const Tensor<T>& v, F through) {
    auto part = [&](bool positive) {
        const Tensor<T> in = detail::mask("logcumsumexp", v, [positive](T e) { return positive ? e > 0 : e < 0; });
        const Tensor<T> out = T(1) - in;
        return through(log(abs(v) * in + out) + out * std::numeric_limits<T>::lowest());
    };
    return part(true) - part(false);
}

template <class T>
Tensor<T> logcumsumexp_along(const Tensor<T>& x, std::size_t d, bool reverse) {
    xt::xarray<T> out = scan_along("logcumsumexp", x, d, reverse, log_add_exp<T>);
    return record<T>(
        "logcumsumexp", {x}, std::move(out),
        [d, reverse](const Backward<T>& ctx) -> Grads<T> {
            const Tensor<T>& x_ = ctx.input(0);
            const Tensor<T>& y = ctx.output();
            // sum_{j >= k} g_j e^(x_k - y_j) = e^(x_k + log sum_{j >= k} e^(log g_j - y_j)), by sign of g.
            return {by_sign(ctx.grad(), [&](const Tensor<T>& log_g) {
                return exp(logcumsumexp_along(log_g - y, d, !reverse) + x_);
            })};
        },
        [d, reverse](const Forward<T>& ctx) {
            const Tensor<T>& x_ = ctx.input(0);
            const Tensor<T>& y = ctx.output();
            // dy_j = sum_{k <= j} e^(x_k - y_j) dx_k = e^(log sum_{k <= j} e^(x_k + log dx_k) - y_j), by sign of dx.
            return by_sign(ctx.tangent(0), [&](const Tensor<T>& log_dx) {
                return exp(logcumsumexp_along(log_dx + x_, d, reverse) - y);
            });
        });
}

/// cumprod's gradient in one pass per slice, exact with zeros, not recorded (grad mode off):
/// dx_k = y_(k-1) S_k, where y_(k-1) = prod_{i < k} x_i (1 for k = 0) and
/// S_k = sum_{j >= k} g_j prod_{k < i <= j} x_i = g_k + x_(k+1) S_(k+1).
template <class T>
Tensor<T> cumprod_grad(const Tensor<T>& g, const Tensor<T>& x, const Tensor<T>& y, std::size_t d) {
    const AlongDim a = detail::along_dim(x.shape(), d);
    xt::xarray<T> out = detail::take_buffer<T>("cumprod", x.shape());
    detail::Scratch<T> s_buffer = detail::take_buffer<T>("cumprod", {a.inner});
    T* s = (*s_buffer).data();
    const T *gv = g.value().data(), *xv = x.value().data(), *yv = y.value().data();
    T* dst = out.data();
    for (std::size_t o = 0; o < a.outer; ++o) {
        for (std::size_t j = a.size; j-- > 0;) {
            const std::size_t at = (o * a.size + j) * a.inner;
            for (std::size_t i = 0; i < a.inner; ++i) {
                s[i] = j + 1 == a.size ? gv[at + i] : gv[at + i] + xv[at + a.inner + i] * s[i];
                dst[at + i] = j == 0 ? s[i] : yv[at - a.inner + i] * s[i];
            }
        }
    }
    return Tensor<T>(std::move(out));
}

/// cumprod's Jacobian composed of ops (x's dim d of size n > 1, moved last): for each k, the
/// cumulative product of x with x_k replaced by 1, as a [..., k, j] tensor (dy_j / dx_k where
/// j >= k), and the 0/1 mask of j >= k. O(n^2) per slice, as PyTorch's double-backward of cumprod.
template <class T>
std::pair<Tensor<T>, Tensor<T>> cumprod_partials(const Tensor<T>& x, std::size_t d) {
    const std::size_t n = x.shape()[d];
    const auto dim = static_cast<std::int64_t>(d);
    xt::xarray<T> diagonal = xt::xarray<T>::from_shape({n, n}), upper = xt::xarray<T>::from_shape({n, n});
    for (std::size_t k = 0; k < n; ++k) {
        for (std::size_t j = 0; j < n; ++j) {
            diagonal(k, j) = j == k ? T(1) : T(0);
            upper(k, j) = j >= k ? T(1) : T(0);
        }
    }
    const Tensor<T> one_at_k(std::move(diagonal)), from_k(std::move(upper));
    const Tensor<T> omitted = unsqueeze(movedim(x, dim, -1), -2) * (T(1) - one_at_k) + one_at_k;
    return {cumprod(omitted, -1), from_k};
}

/// The gradient composed of ops (grad mode on, create_graph): the partials weighted by g_j for
/// j >= k, summed over j.
template <class T>
Tensor<T> cumprod_grad_composed(const Tensor<T>& g, const Tensor<T>& x, std::size_t d) {
    if (x.shape()[d] <= 1) return g;  // y = x along a dim of one element
    const auto dim = static_cast<std::int64_t>(d);
    const auto [partials, from_k] = cumprod_partials(x, d);
    const Tensor<T> weights = from_k * unsqueeze(movedim(g, dim, -1), -2);
    return movedim(tapegrad::sum(partials * weights, {-1}), -1, dim);
}

/// The tangent, the transpose: the partials weighted by dx_k for k <= j, summed over k.
template <class T>
Tensor<T> cumprod_tangent(const Tensor<T>& dx, const Tensor<T>& x, std::size_t d) {
    if (x.shape()[d] <= 1) return dx;
    const auto dim = static_cast<std::int64_t>(d);
    const auto [partials, from_k] = cumprod_partials(x, d);
    const Tensor<T> weights = from_k * unsqueeze(movedim(dx, dim, -1), -1);
    return movedim(tapegrad::sum(partials * weights, {-2}), -1, dim);
}

}  // namespace

template <class T>
Tensor<T> cumsum(const Tensor<T>& x, std::int64_t dim) {
    return cumsum_along(x, detail::checked_dim("cumsum", x, dim), false);
}

template <class T>
Tensor<T> cumprod(const Tensor<T>& x, std::int64_t dim) {
    const std::size_t d = detail::checked_dim("cumprod", x, dim);
    xt::xarray<T> out = scan_along("cumprod", x, d, false, [](T acc, T v) { return acc * v; });
    return record<T>(
        "cumprod", {x}, std::move(out),
        [d](const Backward<T>& ctx) -> Grads<T> {
            if (!is_grad_enabled()) return {cumprod_grad(ctx.grad(), ctx.input(0), ctx.output(), d)};
            return {cumprod_grad_composed(ctx.grad(), ctx.input(0), d)};
        },
        [d](const Forward<T>& ctx) { return cumprod_tangent(ctx.tangent(0), ctx.input(0), d); });
}

template <class T>
Tensor<T> logcumsumexp(const Tensor<T>& x, std::int64_t dim) {
    return logcumsumexp_along(x, detail::checked_dim("logcumsumexp", x, dim), false);
}

#define TAPEGRAD_INSTANTIATE(T)                                 \
    template Tensor<T> cumsum(const Tensor<T>&, std::int64_t);  \
    template Tensor<T> cumprod(const Tensor<T>&, std::int64_t); \
    template Tensor<T> logcumsumexp(const Tensor<T>&, std::int64_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
