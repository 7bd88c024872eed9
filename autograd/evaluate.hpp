// Internal (not installed): an op's expression evaluated into pooled memory.
#pragma once

#include <xtensor/xarray.hpp>
#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/buffer_pool.hpp>

namespace tapegrad::detail {

/// An xtensor expression evaluated into a take_buffer(op, its shape) array: how an op whose value
/// (or intermediate) is an expression gets its memory, pooled and with take_buffer's errors.
template <class T, class E>
xt::xarray<T> evaluate(const char* op, const E& expr) {
    xt::xarray<T> out = take_buffer<T>(op, Shape(expr.shape().begin(), expr.shape().end()));
    xt::noalias(out) = expr;
    return out;
}

}  // namespace tapegrad::detail
