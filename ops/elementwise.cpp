#include <tapegrad/ops/elementwise.hpp>

#include <algorithm>
#include <cmath>
#include <numbers>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/map.hpp>
#include <tapegrad/ops/simd.hpp>
#include <tapegrad/ops/tangent.hpp>

namespace tapegrad {

template <class T>
Tensor<T> exp(const Tensor<T>& x) {
    check_defined("exp", "x", x);
    xt::xarray<T> out = detail::take_buffer<T>("exp", x.shape());
    simd::exp_shifted(x.value().data(), T(0), out.data(), out.size());
    constexpr auto d = [](const Tensor<T>&, const Tensor<T>& y) { return y; };
    return record<T>("exp", {x}, std::move(out), detail::elementwise_backward<T>(d), detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> log(const Tensor<T>& x) {
    check_defined("log", "x", x);
    return record<T>(
        "log", {x}, detail::evaluate<T>("log", xt::log(x.value())),
        [](const Backward<T>& ctx) -> Grads<T> { return {div(ctx.grad(), ctx.input(0))}; },
        [](const Forward<T>& ctx) { return div(ctx.tangent(0), ctx.input(0)); });
}

template <class T>
Tensor<T> sqrt(const Tensor<T>& x) {
    check_defined("sqrt", "x", x);
    return record<T>(
        "sqrt", {x}, detail::evaluate<T>("sqrt", xt::sqrt(x.value())),
        [](const Backward<T>& ctx) -> Grads<T> { return {div(ctx.grad(), ctx.output() * T(2))}; },
        [](const Forward<T>& ctx) { return div(ctx.tangent(0), ctx.output() * T(2)); });
}

template <class T>
Tensor<T> pow(const Tensor<T>& x, std::type_identity_t<T> p) {
    check_defined("pow", "x", x);
    check_not_nan("pow", "exponent p", p);
    return record<T>(
        "pow", {x}, detail::evaluate<T>("pow", xt::pow(x.value(), p)),
        [p](const Backward<T>& ctx) -> Grads<T> {
            // x^0 is constant: a zero gradient, not 0 * x^-1 (NaN at 0). So every derivative of an
            // integer power n >= 0 ends in this branch and is finite and exact at 0, as PyTorch's.
            if (p == 0) return {zeros_like(ctx.input(0))};
            return {mul(ctx.grad(), pow(ctx.input(0), p - 1) * p)};
        },
        [p](const Forward<T>& ctx) {
            return p == 0 ? Tensor<T>() : mul(ctx.tangent(0), pow(ctx.input(0), p - 1) * p);
        });
}

template <class T>
Tensor<T> abs(const Tensor<T>& x) {
    check_defined("abs", "x", x);
    constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) {
        const auto& v = in.value();
        return Tensor<T>(xt::xarray<T>(xt::where(v > T(0), T(1), xt::where(v < T(0), T(-1), T(0)))));
    };
    return record<T>("abs", {x}, detail::evaluate<T>("abs", xt::abs(x.value())), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
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
    const auto d = [low, high](const Tensor<T>& in, const Tensor<T>&) {
        const auto& v = in.value();
        return Tensor<T>(xt::xarray<T>(xt::where(v >= low && v <= high, T(1), T(0))));
    };
    return record<T>("clamp", {x}, std::move(out), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

template <class T>
Tensor<T> erf(const Tensor<T>& x) {
    check_defined("erf", "x", x);
    constexpr auto d = [](const Tensor<T>& in, const Tensor<T>&) {
        return exp(neg(square(in))) * T(2 / std::sqrt(std::numbers::pi));
    };
    return record<T>("erf", {x}, detail::evaluate<T>("erf", xt::erf(x.value())), detail::elementwise_backward<T>(d),
                     detail::elementwise_tangent<T>(d));
}

namespace {

/// A unary op whose value is f(x) elementwise and whose derivative is applied by chain(g, x, y) =
/// g f'(x) (y the output): the Jacobian is diagonal, so the backward rule chains the gradient and
/// the tangent rule the tangent through the same product (or quotient, where f' is 1 / something).
template <class T, class F, class C>
Tensor<T> unary(const char* op, const Tensor<T>& x, F f, C chain) {
    check_defined(op, "x", x);
    return record<T>(
        op, {x}, detail::map(op, x, f),
        [chain](const Backward<T>& ctx) -> Grads<T> { return {chain(ctx.grad(), ctx.input(0), ctx.output())}; },
        [chain](const Forward<T>& ctx) { return chain(ctx.tangent(0), ctx.input(0), ctx.output()); });
}

/// A piecewise constant op (floor, ceil, round, sign): zero gradient, as PyTorch's, which still
/// gives x a gradient (of zeros) rather than none; and a zero (undefined) tangent.
template <class T, class F>
Tensor<T> step(const char* op, const Tensor<T>& x, F f) {
    check_defined(op, "x", x);
    return record<T>(
        op, {x}, detail::map(op, x, f), [](const Backward<T>& ctx) -> Grads<T> { return {zeros_like(ctx.input(0))}; },
        [](const Forward<T>&) { return Tensor<T>(); });
}

}  // namespace

template <class T>
Tensor<T> log1p(const Tensor<T>& x) {
    return unary(
        "log1p", x, [](T v) { return std::log1p(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return div(g, x_ + T(1)); });
}

template <class T>
Tensor<T> expm1(const Tensor<T>& x) {
    return unary(
        "expm1", x, [](T v) { return std::expm1(v); },
        [](const Tensor<T>& g, const Tensor<T>&, const Tensor<T>& y) { return mul(g, y + T(1)); });
}

template <class T>
Tensor<T> log2(const Tensor<T>& x) {
    return unary(
        "log2", x, [](T v) { return std::log2(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return div(g, x_ * T(std::numbers::ln2)); });
}

template <class T>
Tensor<T> log10(const Tensor<T>& x) {
    return unary(
        "log10", x, [](T v) { return std::log10(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return div(g, x_ * T(std::numbers::ln10)); });
}

template <class T>
Tensor<T> exp2(const Tensor<T>& x) {
    return unary(
        "exp2", x, [](T v) { return std::exp2(v); },
        [](const Tensor<T>& g, const Tensor<T>&, const Tensor<T>& y) { return mul(g, y * T(std::numbers::ln2)); });
}

template <class T>
Tensor<T> reciprocal(const Tensor<T>& x) {
    return unary(
        "reciprocal", x, [](T v) { return T(1) / v; },
        [](const Tensor<T>& g, const Tensor<T>&, const Tensor<T>& y) { return neg(mul(g, square(y))); });
}

template <class T>
Tensor<T> rsqrt(const Tensor<T>& x) {
    return unary(
        "rsqrt", x, [](T v) { return T(1) / std::sqrt(v); },
        [](const Tensor<T>& g, const Tensor<T>&, const Tensor<T>& y) { return mul(g, pow(y, T(3)) * T(-0.5)); });
}

template <class T>
Tensor<T> sin(const Tensor<T>& x) {
    return unary(
        "sin", x, [](T v) { return std::sin(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return mul(g, cos(x_)); });
}

template <class T>
Tensor<T> cos(const Tensor<T>& x) {
    return unary(
        "cos", x, [](T v) { return std::cos(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return neg(mul(g, sin(x_))); });
}

template <class T>
Tensor<T> tan(const Tensor<T>& x) {
    return unary(
        "tan", x, [](T v) { return std::tan(v); },
        [](const Tensor<T>& g, const Tensor<T>&, const Tensor<T>& y) { return mul(g, square(y) + T(1)); });
}

template <class T>
Tensor<T> asin(const Tensor<T>& x) {
    return unary(
        "asin", x, [](T v) { return std::asin(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return div(g, sqrt(T(1) - square(x_))); });
}

template <class T>
Tensor<T> acos(const Tensor<T>& x) {
    return unary(
        "acos", x, [](T v) { return std::acos(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return neg(div(g, sqrt(T(1) - square(x_)))); });
}

template <class T>
Tensor<T> atan(const Tensor<T>& x) {
    return unary(
        "atan", x, [](T v) { return std::atan(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return div(g, square(x_) + T(1)); });
}

template <class T>
Tensor<T> atan2(const Tensor<T>& a, const Tensor<T>& b) {
    auto value = detail::zip("atan2", a, b, [](T p, T q) { return std::atan2(p, q); });
    return record<T>(
        "atan2", {a, b}, std::move(value),
        [](const Backward<T>& ctx) -> Grads<T> {
            const auto& a_ = ctx.input(0);
            const auto& b_ = ctx.input(1);
            const Tensor<T> g = div(ctx.grad(), square(a_) + square(b_));
            return {ctx.needs(0) ? mul(g, b_) : Tensor<T>(), ctx.needs(1) ? neg(mul(g, a_)) : Tensor<T>()};
        },
        [](const Forward<T>& ctx) {
            const auto& a_ = ctx.input(0);
            const auto& b_ = ctx.input(1);
            const Tensor<T> top = detail::add_tangents(ctx.has(0) ? mul(ctx.tangent(0), b_) : Tensor<T>(),
                                                       ctx.has(1) ? neg(mul(ctx.tangent(1), a_)) : Tensor<T>());
            return div(top, square(a_) + square(b_));
        });
}

template <class T>
Tensor<T> sinh(const Tensor<T>& x) {
    return unary(
        "sinh", x, [](T v) { return std::sinh(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return mul(g, cosh(x_)); });
}

template <class T>
Tensor<T> cosh(const Tensor<T>& x) {
    return unary(
        "cosh", x, [](T v) { return std::cosh(v); },
        [](const Tensor<T>& g, const Tensor<T>& x_, const Tensor<T>&) { return mul(g, sinh(x_)); });
}

template <class T>
Tensor<T> hypot(const Tensor<T>& a, const Tensor<T>& b) {
    auto value = detail::zip("hypot", a, b, [](T p, T q) { return std::hypot(p, q); });
    return record<T>(
        "hypot", {a, b}, std::move(value),
        [](const Backward<T>& ctx) -> Grads<T> {
            const Tensor<T> g = div(ctx.grad(), ctx.output());
            return {ctx.needs(0) ? mul(g, ctx.input(0)) : Tensor<T>(),
                    ctx.needs(1) ? mul(g, ctx.input(1)) : Tensor<T>()};
        },
        [](const Forward<T>& ctx) {
            const Tensor<T> top = detail::add_tangents(ctx.has(0) ? mul(ctx.tangent(0), ctx.input(0)) : Tensor<T>(),
                                                       ctx.has(1) ? mul(ctx.tangent(1), ctx.input(1)) : Tensor<T>());
            return div(top, ctx.output());
        });
}

namespace {

/// d b^e / d b = e b^(e-1), with b^(e-1) taken as b^0 = 1 where e = 0 (the product is 0 there, not
/// 0 * inf).
template <class T>
Tensor<T> pow_base_slope(const Tensor<T>& b, const Tensor<T>& e) {
    const auto& ev = e.value();
    Tensor<T> e_minus_1 = e - T(1);
    if (std::find(ev.begin(), ev.end(), T(0)) != ev.end()) {
        e_minus_1 = e_minus_1 + detail::mask("pow", e, [](T v) { return v == T(0); });
    }
    return mul(e, pow(b, e_minus_1));
}

/// d b^e / d e = y ln b, with ln b taken as ln 1 = 0 where b = 0 and e >= 0 (where y = b^e is 0 or 1).
template <class T>
Tensor<T> pow_exponent_slope(const Tensor<T>& b, const Tensor<T>& e, const Tensor<T>& y) {
    const auto& bv = b.value();
    const auto& ev = e.value();
    const bool zero_base = std::find(bv.begin(), bv.end(), T(0)) != bv.end();
    const Tensor<T> log_base =
        zero_base ? log(b + Tensor<T>(xt::xarray<T>(xt::where(xt::equal(bv, T(0)) && ev >= T(0), T(1), T(0)))))
                  : log(b);
    return mul(y, log_base);
}

}  // namespace

template <class T>
Tensor<T> pow(const Tensor<T>& base, const Tensor<T>& exponent) {
    auto value = detail::zip("pow", base, exponent, [](T p, T q) { return std::pow(p, q); });
    return record<T>(
        "pow", {base, exponent}, std::move(value),
        [](const Backward<T>& ctx) -> Grads<T> {
            const auto& b = ctx.input(0);
            const auto& e = ctx.input(1);
            return {ctx.needs(0) ? mul(ctx.grad(), pow_base_slope(b, e)) : Tensor<T>(),
                    ctx.needs(1) ? mul(ctx.grad(), pow_exponent_slope(b, e, ctx.output())) : Tensor<T>()};
        },
        [](const Forward<T>& ctx) {
            const auto& b = ctx.input(0);
            const auto& e = ctx.input(1);
            return detail::add_tangents(
                ctx.has(0) ? mul(ctx.tangent(0), pow_base_slope(b, e)) : Tensor<T>(),
                ctx.has(1) ? mul(ctx.tangent(1), pow_exponent_slope(b, e, ctx.output())) : Tensor<T>());
        });
}

template <class T>
Tensor<T> sign(const Tensor<T>& x) {
    return step("sign", x, [](T v) { return v > T(0) ? T(1) : v < T(0) ? T(-1) : v == T(0) ? T(0) : v; });
}

template <class T>
Tensor<T> floor(const Tensor<T>& x) {
    return step("floor", x, [](T v) { return std::floor(v); });
}

template <class T>
Tensor<T> ceil(const Tensor<T>& x) {
    return step("ceil", x, [](T v) { return std::ceil(v); });
}

template <class T>
Tensor<T> round(const Tensor<T>& x) {
    // nearbyint rounds in the current rounding mode, round-to-nearest-even unless a program changed it.
    return step("round", x, [](T v) { return std::nearbyint(v); });
}

#define TAPEGRAD_INSTANTIATE(T)                                   \
    template Tensor<T> exp(const Tensor<T>&);                     \
    template Tensor<T> log(const Tensor<T>&);                     \
    template Tensor<T> sqrt(const Tensor<T>&);                    \
    template Tensor<T> pow(const Tensor<T>&, T);                  \
    template Tensor<T> abs(const Tensor<T>&);                     \
    template Tensor<T> square(const Tensor<T>&);                  \
    template Tensor<T> clamp(const Tensor<T>&, T, T);             \
    template Tensor<T> erf(const Tensor<T>&);                     \
    template Tensor<T> log1p(const Tensor<T>&);                   \
    template Tensor<T> expm1(const Tensor<T>&);                   \
    template Tensor<T> log2(const Tensor<T>&);                    \
    template Tensor<T> log10(const Tensor<T>&);                   \
    template Tensor<T> exp2(const Tensor<T>&);                    \
    template Tensor<T> reciprocal(const Tensor<T>&);              \
    template Tensor<T> rsqrt(const Tensor<T>&);                   \
    template Tensor<T> sin(const Tensor<T>&);                     \
    template Tensor<T> cos(const Tensor<T>&);                     \
    template Tensor<T> tan(const Tensor<T>&);                     \
    template Tensor<T> asin(const Tensor<T>&);                    \
    template Tensor<T> acos(const Tensor<T>&);                    \
    template Tensor<T> atan(const Tensor<T>&);                    \
    template Tensor<T> atan2(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> sinh(const Tensor<T>&);                    \
    template Tensor<T> cosh(const Tensor<T>&);                    \
    template Tensor<T> hypot(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> pow(const Tensor<T>&, const Tensor<T>&);   \
    template Tensor<T> sign(const Tensor<T>&);                    \
    template Tensor<T> floor(const Tensor<T>&);                   \
    template Tensor<T> ceil(const Tensor<T>&);                    \
    template Tensor<T> round(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
