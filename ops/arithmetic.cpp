#include <tapegrad/ops/arithmetic.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/map.hpp>
#include <tapegrad/ops/tangent.hpp>

namespace tapegrad {

namespace {

constexpr auto plus = [](auto x, auto y) { return x + y; };
constexpr auto minus = [](auto x, auto y) { return x - y; };
constexpr auto times = [](auto x, auto y) { return x * y; };
constexpr auto divide = [](auto x, auto y) { return x / y; };

}  // namespace

template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
    return record<T>(
        "add", {a, b}, detail::zip("add", a, b, plus),
        [](const Backward<T>& ctx) -> Grads<T> {
            return {ctx.grad(), ctx.grad()};
        },
        [](const Forward<T>& ctx) { return detail::add_tangents(ctx.tangent(0), ctx.tangent(1)); });
}

template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
    return record<T>(
        "sub", {a, b}, detail::zip("sub", a, b, minus),
        [](const Backward<T>& ctx) -> Grads<T> {
            return {ctx.grad(), ctx.needs(1) ? neg(ctx.grad()) : Tensor<T>()};
        },
        [](const Forward<T>& ctx) {
            return ctx.has(1) ? detail::add_tangents(ctx.tangent(0), neg(ctx.tangent(1))) : ctx.tangent(0);
        });
}

template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
    return record<T>(
        "mul", {a, b}, detail::zip("mul", a, b, times),
        [](const Backward<T>& ctx) -> Grads<T> {
            return {ctx.needs(0) ? mul(ctx.grad(), ctx.input(1)) : Tensor<T>(),
                    ctx.needs(1) ? mul(ctx.grad(), ctx.input(0)) : Tensor<T>()};
        },
        [](const Forward<T>& ctx) {
            return detail::add_tangents(ctx.has(0) ? mul(ctx.tangent(0), ctx.input(1)) : Tensor<T>(),
                                        ctx.has(1) ? mul(ctx.input(0), ctx.tangent(1)) : Tensor<T>());
        });
}

template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
    return record<T>(
        "div", {a, b}, detail::zip("div", a, b, divide),
        [](const Backward<T>& ctx) -> Grads<T> {
            const auto& g = ctx.grad();
            const auto& a_ = ctx.input(0);
            const auto& b_ = ctx.input(1);
            return {ctx.needs(0) ? div(g, b_) : Tensor<T>(),
                    ctx.needs(1) ? neg(div(mul(g, a_), mul(b_, b_))) : Tensor<T>()};
        },
        [](const Forward<T>& ctx) {
            // (da - y db) / b, with y = a / b the output.
            const Tensor<T> top = ctx.has(1)
                                      ? detail::add_tangents(ctx.tangent(0), neg(mul(ctx.output(), ctx.tangent(1))))
                                      : ctx.tangent(0);
            return div(top, ctx.input(1));
        });
}

template <class T>
Tensor<T> neg(const Tensor<T>& x) {
    check_defined("neg", "x", x);
    return record<T>(
        "neg", {x}, detail::evaluate<T>("neg", -x.value()),
        [](const Backward<T>& ctx) -> Grads<T> { return {neg(ctx.grad())}; },
        [](const Forward<T>& ctx) { return neg(ctx.tangent(0)); });
}

#define TAPEGRAD_INSTANTIATE(T)                                 \
    template Tensor<T> add(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> sub(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> mul(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> div(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> neg(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
