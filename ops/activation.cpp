#include <tapegrad/ops/activation.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <type_traits>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/map.hpp>
#include <tapegrad/ops/simd.hpp>
#include <tapegrad/ops/tangent.hpp>

namespace tapegrad {

namespace {

/// 1 / (1 + e^-v) without overflow: e^-|v| never overflows, and underflows to 0 for large |v|,
/// giving the exact limits 1 and 0; NaN stays NaN. V is T or an xsimd batch of T.
template <class T, class V = T>
V sigmoid_of(V v) {
    using std::abs, std::exp;
    const V e = exp(-abs(v));
    const V r = T(1) / (T(1) + e);
    if constexpr (std::is_same_v<V, T>) {
        return v >= T(0) ? r : e * r;
    } else {
        return xsimd::select(v >= T(0), r, e * r);
    }
}

/// log(1 + e^v) = max(v, 0) + log1p(e^-|v|), finite for any |v|.
template <class T>
T softplus_of(T v) {
    return (v > T(0) ? v : T(0)) + std::log1p(std::exp(-std::abs(v)));
}

/// PyTorch's elu kernel, which elu, selu and celu share: scale x where x > 0, else
/// scale alpha (e^(x input_scale) - 1). Its derivative is scale where x > 0, else (at x = 0 too)
/// scale alpha input_scale e^(x input_scale) = input_scale (y + scale alpha), written with y so
/// that no e^x of a large positive x (inf, times a zero mask: NaN) is ever computed.
template <class T>
Tensor<T> elu_kernel(const char* op, const Tensor<T>& x, T alpha, T scale, T input_scale) {
    check_defined(op, "x", x);
    auto value =
        detail::map(op, x, [=](T v) { return v > T(0) ? scale * v : scale * alpha * std::expm1(v * input_scale); });
    const auto d = [op, alpha, scale, input_scale](const Tensor<T>& in, const Tensor<T>& y) {
        const Tensor<T> positive = detail::mask(op, in, [](T v) { return v > T(0); });
        const Tensor<T> negative = detail::mask(op, in, [](T v) { return !(v > T(0)); });
        return positive * scale + mul(negative, y + scale * alpha) * input_scale;
    };
    return record<T>(op, {x}, std::move(value), detail::elementwise_backward<T>(d), detail::elementwise_tangent<T>(d));
}

/// Phi(x) + x phi(x), the slope of the exact gelu, as an op of its own (PyTorch's gelu_backward)
/// so that the backward is one vectorised pass, and still differentiable:
///   d/dx = g phi(x) (2 - x^2),   phi(x) = e^(-x^2/2) / sqrt(2 pi)
template <class T>
Tensor<T> gelu_slope(const Tensor<T>& x) {
    xt::xarray<T> out = detail::take_buffer_like<T>("gelu_backward", x.value());
    simd::transform(x.value().data(), out.data(), x.numel(), [](auto v) {
        using std::erf, std::exp;
        return T(0.5) + T(0.5) * erf(v * T(1 / std::numbers::sqrt2)) +
               v * exp(v * v * T(-0.5)) * T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
    });
    constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) {
        const Tensor<T> density = exp(mul(in, in) * T(-0.5)) * T(0.5 * std::numbers::inv_sqrtpi * std::numbers::sqrt2);
        return mul(density, T(2) - mul(in, in));
    };
    return record<T>("gelu_backward", {x}, std::move(out), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

}  // namespace

template <class T>
Tensor<T> relu(const Tensor<T>& x) {
    check_defined("relu", "x", x);
    // Written as !(v <= 0) so that NaN, which fails every comparison, passes through as NaN.
    auto value = detail::map("relu", x, [](T v) { return !(v <= T(0)) ? v : T(0); });
    constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) {
        return detail::mask("relu", in, [](T v) { return v > T(0); });
    };
    return record<T>("relu", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> leaky_relu(const Tensor<T>& x, std::type_identity_t<T> negative_slope) {
    check_defined("leaky_relu", "x", x);
    check_not_nan("leaky_relu", "negative_slope", negative_slope);
    const T slope = negative_slope;
    auto value = detail::map("leaky_relu", x, [slope](T v) { return v > T(0) ? v : slope * v; });
    const auto d = [slope](const Tensor<T>& in, const Tensor<T>&) {
        return Tensor<T>(detail::map("leaky_relu", in, [slope](T v) { return v > T(0) ? T(1) : slope; }));
    };
    return record<T>("leaky_relu", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> sigmoid(const Tensor<T>& x) {
    check_defined("sigmoid", "x", x);
    xt::xarray<T> value = detail::take_buffer_like<T>("sigmoid", x.value());
    simd::transform(x.value().data(), value.data(), x.numel(), [](auto v) { return sigmoid_of<T>(v); });
    constexpr auto d = [](const Tensor<T>&, const Tensor<T>& y) { return mul(y, T(1) - y); };
    return record<T>("sigmoid", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> tanh(const Tensor<T>& x) {
    check_defined("tanh", "x", x);
    xt::xarray<T> value = detail::take_buffer_like<T>("tanh", x.value());
    simd::transform(x.value().data(), value.data(), x.numel(), [](auto v) {
        using std::tanh;
        return tanh(v);
    });
    constexpr auto d = [](const Tensor<T>&, const Tensor<T>& y) { return T(1) - mul(y, y); };
    return record<T>("tanh", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> softplus(const Tensor<T>& x, std::type_identity_t<T> beta, std::type_identity_t<T> threshold) {
    check_defined("softplus", "x", x);
    check_not_nan("softplus", "beta", beta);
    check_not_nan("softplus", "threshold", threshold);
    if (beta == T(0)) fail<ValueError>("softplus: beta is 0; it must not be (1/beta scales the result)");
    const T b = beta;
    const T t = threshold;
    auto linear = [b, t](T v) { return b * v > t; };
    auto value = detail::map("softplus", x, [b, linear](T v) { return linear(v) ? v : softplus_of(b * v) / b; });
    const auto d = [b, linear](const Tensor<T>& in, const Tensor<T>&) {
        Tensor<T> slope = sigmoid(b == T(1) ? in : in * b);
        const auto& v = in.value();
        if (std::any_of(v.begin(), v.end(), linear)) {
            // 1 where beta x > threshold: slope (1 - above) + above.
            const Tensor<T> above = detail::mask("softplus", in, linear);
            slope = slope + mul(above, T(1) - slope);
        }
        return slope;
    };
    return record<T>("softplus", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> gelu(const Tensor<T>& x, GeluApproximate approximate) {
    check_defined("gelu", "x", x);
    switch (approximate) {
        case GeluApproximate::None: {
            // One vectorised pass (xsimd's erf) instead of five ops.
            xt::xarray<T> y = detail::take_buffer_like<T>("gelu", x.value());
            simd::transform(x.value().data(), y.data(), x.numel(), [](auto v) {
                using std::erf;
                return v * (T(0.5) + T(0.5) * erf(v * T(1 / std::numbers::sqrt2)));
            });
            constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) { return gelu_slope(in); };
            return record<T>("gelu", {x}, std::move(y), detail::elementwise_backward<T>(d),
                             detail::elementwise_tangent<T>(d));
        }
        case GeluApproximate::Tanh: {
            const Tensor<T> u = (x + pow(x, T(3)) * T(0.044715)) * T(std::sqrt(2 / std::numbers::pi));
            return mul(x * T(0.5), tanh(u) + T(1));
        }
    }
    fail<ValueError>("gelu: approximate is {}; expected GeluApproximate::None or GeluApproximate::Tanh",
                     static_cast<int>(approximate));
}

template <class T>
Tensor<T> silu(const Tensor<T>& x) {
    check_defined("silu", "x", x);
    auto value = detail::map("silu", x, [](T v) { return v * sigmoid_of<T>(v); });
    constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) {
        const Tensor<T> s = sigmoid(in);
        return mul(s, mul(in, T(1) - s) + T(1));
    };
    return record<T>("silu", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> mish(const Tensor<T>& x) {
    check_defined("mish", "x", x);
    auto value = detail::map("mish", x, [](T v) { return v * std::tanh(softplus_of(v)); });
    constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) {
        const Tensor<T> t = tanh(softplus(in, T(1), std::numeric_limits<T>::infinity()));
        return t + mul(mul(in, sigmoid(in)), T(1) - square(t));
    };
    return record<T>("mish", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> elu(const Tensor<T>& x, std::type_identity_t<T> alpha) {
    check_not_nan("elu", "alpha", alpha);
    return elu_kernel<T>("elu", x, alpha, T(1), T(1));
}

template <class T>
Tensor<T> selu(const Tensor<T>& x) {
    return elu_kernel<T>("selu", x, T(1.6732632423543772848170429916717), T(1.0507009873554804934193349852946), T(1));
}

template <class T>
Tensor<T> celu(const Tensor<T>& x, std::type_identity_t<T> alpha) {
    check_not_nan("celu", "alpha", alpha);
    if (alpha == T(0)) fail<ValueError>("celu: alpha is 0; it must not be (x / alpha is the exponent)");
    return elu_kernel<T>("celu", x, alpha, T(1), T(1) / alpha);
}

template <class T>
Tensor<T> hardtanh(const Tensor<T>& x, std::type_identity_t<T> min_val, std::type_identity_t<T> max_val) {
    check_defined("hardtanh", "x", x);
    if (!(min_val <= max_val)) fail<ValueError>("hardtanh: min_val {} must not exceed max_val {}", min_val, max_val);
    const T lo = min_val;
    const T hi = max_val;
    // NaN fails both comparisons and passes through.
    auto value = detail::map("hardtanh", x, [lo, hi](T v) { return v < lo ? lo : v > hi ? hi : v; });
    const auto d = [lo, hi](const Tensor<T>& in, const Tensor<T>&) {
        return detail::mask("hardtanh", in, [lo, hi](T v) { return lo < v && v < hi; });
    };
    return record<T>("hardtanh", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> hardsigmoid(const Tensor<T>& x) {
    check_defined("hardsigmoid", "x", x);
    auto value = detail::map("hardsigmoid", x, [](T v) { return std::min(std::max(v + T(3), T(0)), T(6)) / T(6); });
    constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) {
        return Tensor<T>(
            detail::map("hardsigmoid", in, [](T v) { return T(-3) < v && v < T(3) ? T(1) / T(6) : T(0); }));
    };
    return record<T>("hardsigmoid", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> hardswish(const Tensor<T>& x) {
    check_defined("hardswish", "x", x);
    auto value = detail::map("hardswish", x, [](T v) { return v * std::min(std::max(v + T(3), T(0)), T(6)) / T(6); });
    constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) {
        const Tensor<T> middle = detail::mask("hardswish", in, [](T v) { return T(-3) <= v && v <= T(3); });
        const Tensor<T> above = detail::mask("hardswish", in, [](T v) { return v > T(3); });
        return mul(middle, in / T(3) + T(0.5)) + above;
    };
    return record<T>("hardswish", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> softsign(const Tensor<T>& x) {
    check_defined("softsign", "x", x);
    auto value = detail::map("softsign", x, [](T v) { return v / (T(1) + std::abs(v)); });
    // The slope is 1 / (1 + |x|)^2: both rules divide by the square.
    constexpr auto denominator = [](const Tensor<T>& in) { return square(abs(in) + T(1)); };
    return record<T>(
        "softsign", {x}, std::move(value),
        [denominator](const Backward<T>& ctx) -> Grads<T> { return {div(ctx.grad(), denominator(ctx.input(0)))}; },
        [denominator](const Forward<T>& ctx) { return div(ctx.tangent(0), denominator(ctx.input(0))); });
}

template <class T>
Tensor<T> logsigmoid(const Tensor<T>& x) {
    check_defined("logsigmoid", "x", x);
    auto value = detail::map("logsigmoid", x, [](T v) { return -softplus_of(-v); });
    constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) { return sigmoid(neg(in)); };
    return record<T>("logsigmoid", {x}, std::move(value), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

#define TAPEGRAD_INSTANTIATE(T)                                 \
    template Tensor<T> relu(const Tensor<T>&);                  \
    template Tensor<T> leaky_relu(const Tensor<T>&, T);         \
    template Tensor<T> sigmoid(const Tensor<T>&);               \
    template Tensor<T> tanh(const Tensor<T>&);                  \
    template Tensor<T> softplus(const Tensor<T>&, T, T);        \
    template Tensor<T> gelu(const Tensor<T>&, GeluApproximate); \
    template Tensor<T> silu(const Tensor<T>&);                  \
    template Tensor<T> mish(const Tensor<T>&);                  \
    template Tensor<T> elu(const Tensor<T>&, T);                \
    template Tensor<T> selu(const Tensor<T>&);                  \
    template Tensor<T> celu(const Tensor<T>&, T);               \
    template Tensor<T> hardtanh(const Tensor<T>&, T, T);        \
    template Tensor<T> hardsigmoid(const Tensor<T>&);           \
    template Tensor<T> hardswish(const Tensor<T>&);             \
    template Tensor<T> softsign(const Tensor<T>&);              \
    template Tensor<T> logsigmoid(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
