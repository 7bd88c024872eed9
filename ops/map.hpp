// Internal (not installed): the elementwise kernels of the ops layer. An op's value computed by a
// scalar function applied to every element (map) or to every broadcast pair of elements (zip),
// into a pooled take_buffer(op, shape) array, so a failed allocation names the op.
#pragma once

#include <cstddef>

#include <xtensor/xarray.hpp>

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

/// f over the broadcast pairs of a (shape sa) and b (shape sb) into o (shape so, their broadcast
/// shape, at least 1-d): an odometer over so's leading dims, the last dim a tight loop in which each
/// operand steps by 1 or stays (broadcast), so a per-row or per-column operand (a bias, a
/// normalisation's weight, a reduction kept with keepdim) costs what equal shapes cost.
template <class T, class F>
void zip_broadcast(const T* p, const Shape& sa, const T* q, const Shape& sb, T* o, const Shape& so, F f) {
    const std::size_t nd = so.size();
    std::size_t total = 1;
    for (const std::size_t d : so) total *= d;
    if (total == 0) return;
    // Each operand's strides along so's dims: 0 where it is broadcast (size 1 or missing).
    auto strides = [nd](const Shape& s) {
        xt::svector<std::size_t, 6> st(nd, 0);
        std::size_t step = 1;
        for (std::size_t i = s.size(); i-- > 0;) {
            st[nd - s.size() + i] = s[i] == 1 ? 0 : step;
            step *= s[i];
        }
        return st;
    };
    const auto st_a = strides(sa), st_b = strides(sb);
    const std::size_t inner = so.back(), a_in = st_a[nd - 1], b_in = st_b[nd - 1];
    xt::svector<std::size_t, 6> index(nd, 0);
    std::size_t ia = 0, ib = 0;
    for (std::size_t done = 0; done < total; done += inner) {
        T* row = o + done;
        if (a_in == 1 && b_in == 1) {
            for (std::size_t j = 0; j < inner; ++j) row[j] = f(p[ia + j], q[ib + j]);
        } else if (a_in == 1) {
            const T v = q[ib];
            for (std::size_t j = 0; j < inner; ++j) row[j] = f(p[ia + j], v);
        } else if (b_in == 1) {
            const T u = p[ia];
            for (std::size_t j = 0; j < inner; ++j) row[j] = f(u, q[ib + j]);
        } else {
            const T w = f(p[ia], q[ib]);
            for (std::size_t j = 0; j < inner; ++j) row[j] = w;
        }
        for (std::size_t d = nd - 1; d-- > 0;) {  // the odometer over the leading dims
            ia += st_a[d];
            ib += st_b[d];
            if (++index[d] < so[d]) break;
            ia -= st_a[d] * so[d];
            ib -= st_b[d] * so[d];
            index[d] = 0;
        }
    }
}

/// f(a, b) elementwise with numpy broadcasting, after check_broadcast (both defined, shapes that
/// broadcast), f a scalar function of two T (it sees NaN as it is). Equal shapes and a 0-d operand
/// (the scalar of `x * 2`) take a plain loop, other broadcasts zip_broadcast.
template <class T, class F>
xt::xarray<T> zip(const char* op, const Tensor<T>& a, const Tensor<T>& b, F f) {
    const Shape shape = check_broadcast(op, a, b);
    const T* p = a.value().data();
    const T* q = b.value().data();
    const bool same = a.shape() == b.shape();
    xt::xarray<T> out = take_buffer<T>(op, shape);
    T* o = out.data();
    const std::size_t n = out.size();
    if (same) {
        for (std::size_t i = 0; i < n; ++i) o[i] = f(p[i], q[i]);
    } else if (b.ndim() == 0) {
        for (std::size_t i = 0; i < n; ++i) o[i] = f(p[i], q[0]);
    } else if (a.ndim() == 0) {
        for (std::size_t i = 0; i < n; ++i) o[i] = f(p[0], q[i]);
    } else {
        zip_broadcast(p, a.shape(), q, b.shape(), o, shape, f);
    }
    return out;
}

/// 1 where pred(x) holds, else 0, as a constant tensor (no gradient): the masks of piecewise
/// derivatives, multiplied into a rule's tapegrad expression so that it stays differentiable.
template <class T, class P>
Tensor<T> mask(const char* op, const Tensor<T>& x, P pred) {
    return Tensor<T>(map(op, x, [pred](T v) { return pred(v) ? T(1) : T(0); }));
}

}  // namespace tapegrad::detail
