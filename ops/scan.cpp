#include <tapegrad/ops/scan.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

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
    return record<T>("cumsum", {x}, std::move(out), [d, reverse](const Backward<T>& ctx) -> Grads<T> {
        return {cumsum_along(ctx.grad(), d, !reverse)};
    });
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

template <class T>
Tensor<T> logcumsumexp_along(const Tensor<T>& x, std::size_t d, bool reverse) {
    xt::xarray<T> out = scan_along("logcumsumexp", x, d, reverse, log_add_exp<T>);
    return record<T>("logcumsumexp", {x}, std::move(out), [d, reverse](const Backward<T>& ctx) -> Grads<T> {
        const Tensor<T>& x_ = ctx.input(0);
        const Tensor<T>& y = ctx.output();
        const Tensor<T>& g = ctx.grad();
        // sum_{j >= k} g_j e^(x_k - y_j) = e^(x_k + log sum_{j >= k} e^(log g_j - y_j)) for g > 0, and
        // the same for -g where g < 0. Where a part is absent, log g is the lowest finite number
        // (its e^ is 0), built with masks so that no log 0 or 0 * inf appears.
        auto part = [&](bool positive) {
            const Tensor<T> in = detail::mask("logcumsumexp", g, [positive](T v) { return positive ? v > 0 : v < 0; });
            const Tensor<T> out_ = T(1) - in;
            const Tensor<T> log_g = log(abs(g) * in + out_) + out_ * std::numeric_limits<T>::lowest();
            return exp(logcumsumexp_along(log_g - y, d, !reverse) + x_);
        };
        return {part(true) - part(false)};
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

/// The same gradient composed of ops (grad mode on, create_graph): for each k, the cumulative
/// product of x with x_k replaced by 1, as a [..., k, j] tensor, weighted by g_j for j >= k and
/// summed over j. O(n^2) per slice, as PyTorch's double-backward of cumprod.
template <class T>
Tensor<T> cumprod_grad_composed(const Tensor<T>& g, const Tensor<T>& x, std::size_t d) {
    const std::size_t n = x.shape()[d];
    if (n <= 1) return g;  // y = x along a dim of one element
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
    const Tensor<T> weights = from_k * unsqueeze(movedim(g, dim, -1), -2);
    return movedim(tapegrad::sum(cumprod(omitted, -1) * weights, {-1}), -1, dim);
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
    return record<T>("cumprod", {x}, std::move(out), [d](const Backward<T>& ctx) -> Grads<T> {
        if (!is_grad_enabled()) return {cumprod_grad(ctx.grad(), ctx.input(0), ctx.output(), d)};
        return {cumprod_grad_composed(ctx.grad(), ctx.input(0), d)};
    });
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
