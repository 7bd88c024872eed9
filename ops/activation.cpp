#include <tapegrad/ops/activation.hpp>

#include <cmath>
#include <numbers>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/elementwise.hpp>

namespace tapegrad {

namespace {

/// f applied to every element of x, into a new array.
template <class T, class F>
xt::xarray<T> map(const Tensor<T>& x, F f) {
    xt::xarray<T> out = detail::take_buffer<T>("activation", x.shape());
    const T* in = x.value().data();
    for (std::size_t i = 0, n = out.size(); i < n; ++i) out.data()[i] = f(in[i]);
    return out;
}

}  // namespace

template <class T>
Tensor<T> relu(const Tensor<T>& x) {
    check_defined("relu", "x", x);
    // Written as !(v <= 0) so that NaN, which fails every comparison, passes through as NaN.
    auto value = map(x, [](T v) { return !(v <= T(0)) ? v : T(0); });
    return record<T>("relu", {x}, std::move(value), [](const Backward<T>& ctx) -> Grads<T> {
        const Tensor<T> positive(map(ctx.input(0), [](T v) { return v > T(0) ? T(1) : T(0); }));
        return {mul(ctx.grad(), positive)};
    });
}

template <class T>
Tensor<T> leaky_relu(const Tensor<T>& x, std::type_identity_t<T> negative_slope) {
    check_defined("leaky_relu", "x", x);
    check_not_nan("leaky_relu", "negative_slope", negative_slope);
    const T slope = negative_slope;
    auto value = map(x, [slope](T v) { return v > T(0) ? v : slope * v; });
    return record<T>("leaky_relu", {x}, std::move(value), [slope](const Backward<T>& ctx) -> Grads<T> {
        const Tensor<T> factor(map(ctx.input(0), [slope](T v) { return v > T(0) ? T(1) : slope; }));
        return {mul(ctx.grad(), factor)};
    });
}

template <class T>
Tensor<T> sigmoid(const Tensor<T>& x) {
    check_defined("sigmoid", "x", x);
    // e^-|x| never overflows; it underflows to 0 for large |x|, giving the exact limits 1 and 0.
    auto value = map(x, [](T v) {
        if (v >= T(0)) return T(1) / (T(1) + std::exp(-v));
        const T e = std::exp(v);  // also the NaN branch: NaN stays NaN
        return e / (T(1) + e);
    });
    return record<T>("sigmoid", {x}, std::move(value), [](const Backward<T>& ctx) -> Grads<T> {
        const auto& y = ctx.output();
        return {mul(ctx.grad(), mul(y, T(1) - y))};
    });
}

template <class T>
Tensor<T> tanh(const Tensor<T>& x) {
    check_defined("tanh", "x", x);
    return record<T>("tanh", {x}, detail::evaluate<T>("tanh", xt::tanh(x.value())),
                     [](const Backward<T>& ctx) -> Grads<T> {
                         const auto& y = ctx.output();
                         return {mul(ctx.grad(), T(1) - mul(y, y))};
                     });
}

template <class T>
Tensor<T> softplus(const Tensor<T>& x) {
    check_defined("softplus", "x", x);
    auto value = map(x, [](T v) { return (v > T(0) ? v : T(0)) + std::log1p(std::exp(-std::abs(v))); });
    return record<T>("softplus", {x}, std::move(value),
                     [](const Backward<T>& ctx) -> Grads<T> { return {mul(ctx.grad(), sigmoid(ctx.input(0)))}; });
}

template <class T>
Tensor<T> gelu(const Tensor<T>& x) {
    check_defined("gelu", "x", x);
    const T inv_sqrt2 = T(1 / std::numbers::sqrt2);
    return mul(x * T(0.5), erf(x * inv_sqrt2) + T(1));
}

#define TAPEGRAD_INSTANTIATE(T)                         \
    template Tensor<T> relu(const Tensor<T>&);          \
    template Tensor<T> leaky_relu(const Tensor<T>&, T); \
    template Tensor<T> sigmoid(const Tensor<T>&);       \
    template Tensor<T> tanh(const Tensor<T>&);          \
    template Tensor<T> softplus(const Tensor<T>&);      \
    template Tensor<T> gelu(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
