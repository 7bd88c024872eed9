#include <tapegrad/ops/elementwise.hpp>

#include <cmath>
#include <numbers>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/simd.hpp>

namespace tapegrad {

template <class T>
Tensor<T> exp(const Tensor<T>& x) {
    check_defined("exp", "x", x);
    xt::xarray<T> out = detail::take_buffer<T>("exp", x.shape());
    simd::exp_shifted(x.value().data(), T(0), out.data(), out.size());
    return record<T>("exp", {x}, std::move(out),
                     [](const Backward<T>& ctx) -> Grads<T> { return {mul(ctx.grad(), ctx.output())}; });
}

template <class T>
Tensor<T> log(const Tensor<T>& x) {
    check_defined("log", "x", x);
    return record<T>("log", {x}, detail::evaluate<T>("log", xt::log(x.value())),
                     [](const Backward<T>& ctx) -> Grads<T> { return {div(ctx.grad(), ctx.input(0))}; });
}

template <class T>
Tensor<T> sqrt(const Tensor<T>& x) {
    check_defined("sqrt", "x", x);
    return record<T>("sqrt", {x}, detail::evaluate<T>("sqrt", xt::sqrt(x.value())),
                     [](const Backward<T>& ctx) -> Grads<T> { return {div(ctx.grad(), ctx.output() * T(2))}; });
}

template <class T>
Tensor<T> pow(const Tensor<T>& x, std::type_identity_t<T> p) {
    check_defined("pow", "x", x);
    check_not_nan("pow", "exponent p", p);
    return record<T>("pow", {x}, detail::evaluate<T>("pow", xt::pow(x.value(), p)),
                     [p](const Backward<T>& ctx) -> Grads<T> {
                         // x^0 is constant: a zero gradient, not 0 * x^-1 (NaN at 0). So every derivative of an
                         // integer power n >= 0 ends in this branch and is finite and exact at 0, as PyTorch's.
                         if (p == 0) return {zeros_like(ctx.input(0))};
                         return {mul(ctx.grad(), pow(ctx.input(0), p - 1) * p)};
                     });
}

template <class T>
Tensor<T> abs(const Tensor<T>& x) {
    check_defined("abs", "x", x);
    return record<T>("abs", {x}, detail::evaluate<T>("abs", xt::abs(x.value())),
                     [](const Backward<T>& ctx) -> Grads<T> {
                         const auto& v = ctx.input(0).value();
                         Tensor<T> sign(xt::xarray<T>(xt::where(v > T(0), T(1), xt::where(v < T(0), T(-1), T(0)))));
                         return {mul(ctx.grad(), sign)};
                     });
}

template <class T>
Tensor<T> square(const Tensor<T>& x) {
    check_defined("square", "x", x);
    return mul(x, x);
}

template <class T>
Tensor<T> clamp(const Tensor<T>& x, std::type_identity_t<T> low, std::type_identity_t<T> high) {
    check_defined("clamp", "x", x);
    if (!(low <= high)) fail<ValueError>("clamp: low {} must not exceed high {}", low, high);
    // std::min/max keep NaN (comparisons with NaN are false), so a NaN input stays NaN.
    xt::xarray<T> out = detail::evaluate<T>("clamp", x.value());
    for (auto& v : out) v = std::min(std::max(v, low), high);
    return record<T>("clamp", {x}, std::move(out), [low, high](const Backward<T>& ctx) -> Grads<T> {
        const auto& v = ctx.input(0).value();
        Tensor<T> inside(xt::xarray<T>(xt::where(v >= low && v <= high, T(1), T(0))));
        return {mul(ctx.grad(), inside)};
    });
}

template <class T>
Tensor<T> erf(const Tensor<T>& x) {
    check_defined("erf", "x", x);
    return record<T>("erf", {x}, detail::evaluate<T>("erf", xt::erf(x.value())),
                     [](const Backward<T>& ctx) -> Grads<T> {
                         const auto& x_ = ctx.input(0);
                         return {mul(ctx.grad(), exp(neg(square(x_))) * T(2 / std::sqrt(std::numbers::pi)))};
                     });
}

#define TAPEGRAD_INSTANTIATE(T)                       \
    template Tensor<T> exp(const Tensor<T>&);         \
    template Tensor<T> log(const Tensor<T>&);         \
    template Tensor<T> sqrt(const Tensor<T>&);        \
    template Tensor<T> pow(const Tensor<T>&, T);      \
    template Tensor<T> abs(const Tensor<T>&);         \
    template Tensor<T> square(const Tensor<T>&);      \
    template Tensor<T> clamp(const Tensor<T>&, T, T); \
    template Tensor<T> erf(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
