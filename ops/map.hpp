// Internal (not installed): the elementwise kernels of the ops layer. An op's value computed by a
// scalar function applied to every element (map) or to every broadcast pair of elements (zip),
// into a pooled take_buffer(op, shape) array, so a failed allocation names the op.
#pragma once

#include <cstddef>

#include <xtensor/xarray.hpp>
#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/ops/check.hpp>

namespace tapegrad::detail {

/// f applied to every element of x, into a new array of x's shape (a plain loop: f may be any
/// scalar function, and it sees NaN as it is).
template <class T, class F>
xt::xarray<T> map(const char* op, const Tensor<T>& x, F f) {
    xt::xarray<T> out = take_buffer<T>(op, x.shape());
    const T* in = x.value().data();
    T* o = out.data();
    for (std::size_t i = 0, n = out.size(); i < n; ++i) o[i] = f(in[i]);
    return out;
}

/// f(a, b) elementwise with numpy broadcasting, after check_broadcast (both defined, shapes that
/// broadcast). Equal shapes and a 0-d operand (the scalar of `x * 2`) take a plain loop; other
/// broadcasts go through xtensor, whose general machinery costs about 100 ns per call on small
/// tensors, so f must also take xtensor expressions: a generic lambda, whose scalar functions
/// come from `using std::atan2;` and the like, ADL finding xtensor's for arrays.
template <class T, class F>
xt::xarray<T> zip(const char* op, const Tensor<T>& a, const Tensor<T>& b, F f) {
    const Shape shape = check_broadcast(op, a, b);
    const auto& x = a.value();
    const auto& y = b.value();
    const bool same = a.shape() == b.shape();
    xt::xarray<T> out = take_buffer<T>(op, shape);
    if (same || b.ndim() == 0 || a.ndim() == 0) {
        T* o = out.data();
        const T* p = x.data();
        const T* q = y.data();
        const std::size_t n = out.size();
        if (same) {
            for (std::size_t i = 0; i < n; ++i) o[i] = f(p[i], q[i]);
        } else if (b.ndim() == 0) {
            for (std::size_t i = 0; i < n; ++i) o[i] = f(p[i], q[0]);
        } else {
            for (std::size_t i = 0; i < n; ++i) o[i] = f(p[0], q[i]);
        }
        return out;
    }
    xt::noalias(out) = f(x, y);
    return out;
}

/// 1 where pred(x) holds, else 0, as a constant tensor (no gradient): the masks of piecewise
/// derivatives, multiplied into a rule's tapegrad expression so that it stays differentiable.
template <class T, class P>
Tensor<T> mask(const char* op, const Tensor<T>& x, P pred) {
    return Tensor<T>(map(op, x, [pred](T v) { return pred(v) ? T(1) : T(0); }));
}

}  // namespace tapegrad::detail
