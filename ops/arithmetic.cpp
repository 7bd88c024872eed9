#include "ops/arithmetic.hpp"

#include "autograd/node.hpp"
#include "ops/check.hpp"

namespace tapegrad {

template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
    check_broadcast("add", a, b);
    return record<T>("add", {a, b}, a.value() + b.value(), [](const Backward<T>& ctx) -> Grads<T> {
        return {ctx.grad(), ctx.grad()};
    });
}

template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
    check_broadcast("sub", a, b);
    return record<T>("sub", {a, b}, a.value() - b.value(), [](const Backward<T>& ctx) -> Grads<T> {
        return {ctx.grad(), ctx.needs(1) ? neg(ctx.grad()) : Tensor<T>()};
    });
}

template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
    check_broadcast("mul", a, b);
    return record<T>("mul", {a, b}, a.value() * b.value(), [](const Backward<T>& ctx) -> Grads<T> {
        return {ctx.needs(0) ? mul(ctx.grad(), ctx.input(1)) : Tensor<T>(),
                ctx.needs(1) ? mul(ctx.grad(), ctx.input(0)) : Tensor<T>()};
    });
}

template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
    check_broadcast("div", a, b);
    return record<T>("div", {a, b}, a.value() / b.value(), [](const Backward<T>& ctx) -> Grads<T> {
        const auto& g = ctx.grad();
        const auto& a_ = ctx.input(0);
        const auto& b_ = ctx.input(1);
        return {ctx.needs(0) ? div(g, b_) : Tensor<T>(),
                ctx.needs(1) ? neg(div(mul(g, a_), mul(b_, b_))) : Tensor<T>()};
    });
}

template <class T>
Tensor<T> neg(const Tensor<T>& x) {
    check_defined("neg", "x", x);
    return record<T>("neg", {x}, -x.value(), [](const Backward<T>& ctx) -> Grads<T> { return {neg(ctx.grad())}; });
}

#define TAPEGRAD_INSTANTIATE(T)                                   \
    template Tensor<T> add(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> sub(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> mul(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> div(const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> neg(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
