/// \file
/// What the ops' forward-mode tangent rules share (internal): sums of tangents where an input
/// without one stands for zero, and the rules of elementwise ops with one input.
#pragma once

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/ops/arithmetic.hpp>

namespace tapegrad::detail {

/// a + b, where an undefined tensor (an input without a tangent) is zero; undefined when both are.
template <class T>
Tensor<T> add_tangents(const Tensor<T>& a, const Tensor<T>& b) {
    if (!a.defined()) return b;
    if (!b.defined()) return a;
    return add(a, b);
}

/// The backward rule g d(x, y) of an elementwise op with one input x and output y, whose derivative
/// d (a callable of x and y returning a tensor) is written once for both rules.
template <class T, class D>
auto elementwise_backward(D d) {
    return [d](const Backward<T>& ctx) -> Grads<T> { return {mul(ctx.grad(), d(ctx.input(0), ctx.output()))}; };
}

/// The matching tangent rule: dy = d(x, y) dx (the Jacobian is diagonal: the same product).
template <class T, class D>
auto elementwise_tangent(D d) {
    return [d](const Forward<T>& ctx) -> Tensor<T> { return mul(ctx.tangent(0), d(ctx.input(0), ctx.output())); };
}

}  // namespace tapegrad::detail
