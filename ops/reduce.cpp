#include <tapegrad/ops/reduce.hpp>

#include <cmath>
#include <limits>

#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/reduce_kernel.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/scan.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

using detail::expand_back;
using detail::reduced_shape;

template <class T>
Tensor<T> sum_over(const Tensor<T>& x, const DimMask& reduced, bool keepdim) {
    xt::xarray<T> out = reduce_dims<T>("sum", x.value(), reduced, T(0), [](T acc, T v) { return acc + v; });
    const Shape kept(out.shape().begin(), out.shape().end());
    out.reshape(reduced_shape(x.shape(), reduced, keepdim));
    return record<T>(
        "sum", {x}, std::move(out),
        [kept](const Backward<T>& ctx) -> Grads<T> { return {expand_back(ctx.grad(), kept, ctx.input(0).shape())}; },
        [reduced, keepdim](const Forward<T>& ctx) { return sum_over(ctx.tangent(0), reduced, keepdim); });
}

template <class T>
Tensor<T> mean_over(const Tensor<T>& x, const DimMask& reduced, bool keepdim) {
    const std::size_t count = detail::reduced_count(x.shape(), reduced);
    // An empty reduction gives 0 * inf = NaN, numpy's and PyTorch's mean of nothing.
    const T scale = count == 0 ? std::numeric_limits<T>::infinity() : T(1) / static_cast<T>(count);
    return sum_over(x, reduced, keepdim) * scale;
}

/// The product of the elements before (from_right: after) each element along dim d, 1 for the
/// first (last): cumprod of x shifted by one, so no element is divided out and zeros stay exact.
template <class T>
Tensor<T> exclusive_cumprod(const Tensor<T>& x, std::size_t d, bool from_right) {
    const auto dim = static_cast<std::int64_t>(d);
    const auto n = static_cast<std::int64_t>(x.shape()[d]);
    if (n == 0) return x;
    Shape edge = x.shape();
    edge[d] = 1;
    const Tensor<T> one = ones<T>(edge);
    if (!from_right) return cumprod(concat(std::vector<Tensor<T>>{one, slice(x, dim, 0, n - 1)}, dim), dim);
    return flip(cumprod(flip(concat(std::vector<Tensor<T>>{slice(x, dim, 1), one}, dim), {dim}), dim), {dim});
}

/// Only dim d of x reduced.
template <class T>
DimMask reduced_of(const Tensor<T>& x, std::size_t d) {
    DimMask reduced(x.ndim(), false);
    reduced[d] = true;
    return reduced;
}

template <class T>
Tensor<T> prod_along(const Tensor<T>& x, std::size_t d, bool keepdim) {
    const DimMask reduced = reduced_of(x, d);
    xt::xarray<T> out = reduce_dims<T>("prod", x.value(), reduced, T(1), [](T acc, T v) { return acc * v; });
    const Shape kept(out.shape().begin(), out.shape().end());
    out.reshape(reduced_shape(x.shape(), reduced, keepdim));
    // Each element's derivative: the product of the others in its slice.
    const auto others = [d](const Tensor<T>& in) {
        return mul(exclusive_cumprod(in, d, false), exclusive_cumprod(in, d, true));
    };
    return record<T>(
        "prod", {x}, std::move(out),
        [kept, others](const Backward<T>& ctx) -> Grads<T> {
            const Tensor<T>& x_ = ctx.input(0);
            return {mul(expand_back(ctx.grad(), kept, x_.shape()), others(x_))};
        },
        [d, keepdim, others](const Forward<T>& ctx) {
            return sum_over(mul(ctx.tangent(0), others(ctx.input(0))), reduced_of(ctx.input(0), d), keepdim);
        });
}

}  // namespace

template <class T>
Tensor<T> sum(const Tensor<T>& x) {
    return sum_over(x, detail::all_dims("sum", x), false);
}

template <class T>
Tensor<T> sum(const Tensor<T>& x, const Dims& dims, bool keepdim) {
    return sum_over(x, detail::reduced_dims("sum", x, dims), keepdim);
}

template <class T>
Tensor<T> mean(const Tensor<T>& x) {
    return mean_over(x, detail::all_dims("mean", x), false);
}

template <class T>
Tensor<T> mean(const Tensor<T>& x, const Dims& dims, bool keepdim) {
    return mean_over(x, detail::reduced_dims("mean", x, dims), keepdim);
}

template <class T>
Tensor<T> prod(const Tensor<T>& x) {
    check_defined("prod", "x", x);
    const Tensor<T> flat = x.ndim() == 1 ? x : reshape(x, Shape{x.numel()});
    return reshape(prod_along(flat, 0, false), Shape{});
}

template <class T>
Tensor<T> prod(const Tensor<T>& x, std::int64_t dim, bool keepdim) {
    return prod_along(x, detail::checked_dim("prod", x, dim), keepdim);
}

#define TAPEGRAD_INSTANTIATE(T)                                   \
    template Tensor<T> sum(const Tensor<T>&);                     \
    template Tensor<T> sum(const Tensor<T>&, const Dims&, bool);  \
    template Tensor<T> mean(const Tensor<T>&);                    \
    template Tensor<T> mean(const Tensor<T>&, const Dims&, bool); \
    template Tensor<T> prod(const Tensor<T>&);                    \
    template Tensor<T> prod(const Tensor<T>&, std::int64_t, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
