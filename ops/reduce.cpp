#include <tapegrad/ops/reduce.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/reduce_kernel.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

/// Which dims of x the op reduces: every listed dim (negative ones count from the end), each once.
template <class T>
DimMask reduced_dims(const char* op, const Tensor<T>& x, const Dims& dims) {
    check_defined(op, "x", x);
    DimMask reduced(x.ndim(), false);
    for (auto dim : dims) {
        const std::size_t d = normalize_dim(op, "x", dim, x.shape());
        if (reduced[d]) {
            fail<ValueError>("{}: dim {} is listed twice in dims [{}] (x has shape {})", op, d, fmt::join(dims, ", "),
                             shape_str(x.shape()));
        }
        reduced[d] = true;
    }
    return reduced;
}

/// The result's shape: reduced dims kept with size 1 (keepdim) or dropped.
Shape reduced_shape(const Shape& shape, const DimMask& reduced, bool keepdim) {
    Shape out;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (!reduced[i]) {
            out.push_back(shape[i]);
        } else if (keepdim) {
            out.push_back(1);
        }
    }
    return out;
}

/// grad (the result's shape) brought back to x's shape: the reduced dims restored as size 1, then broadcast.
template <class T>
Tensor<T> expand_back(const Tensor<T>& grad, const Shape& kept, const Shape& x_shape) {
    const Tensor<T> g = grad.shape() == kept ? grad : reshape(grad, kept);
    return g.shape() == x_shape ? g : broadcast_to(g, x_shape);
}

template <class T>
Tensor<T> sum_over(const Tensor<T>& x, const DimMask& reduced, bool keepdim) {
    xt::xarray<T> out = reduce_dims<T>("sum", x.value(), reduced, T(0), [](T acc, T v) { return acc + v; });
    const Shape kept(out.shape().begin(), out.shape().end());
    out.reshape(reduced_shape(x.shape(), reduced, keepdim));
    return record<T>("sum", {x}, std::move(out), [kept](const Backward<T>& ctx) -> Grads<T> {
        return {expand_back(ctx.grad(), kept, ctx.input(0).shape())};
    });
}

template <class T>
Tensor<T> mean_over(const Tensor<T>& x, const DimMask& reduced, bool keepdim) {
    std::size_t count = 1;
    for (std::size_t i = 0; i < reduced.size(); ++i) count *= reduced[i] ? x.shape()[i] : 1;
    // An empty reduction gives 0 * inf = NaN, numpy's and PyTorch's mean of nothing.
    const T scale = count == 0 ? std::numeric_limits<T>::infinity() : T(1) / static_cast<T>(count);
    return sum_over(x, reduced, keepdim) * scale;
}

/// Each element's share of the gradient: 1/count where it equals its slice's maximum (NaN counts
/// as equal to a NaN maximum, so a NaN slice sends its gradient to its NaNs), else 0.
template <class T>
xt::xarray<T> max_weights(const xt::xarray<T>& x, const xt::xarray<T>& kept_max, const DimMask& reduced) {
    detail::Scratch<T> mask = detail::evaluate<T>(
        "max", xt::where(xt::equal(x, kept_max) || (xt::isnan(x) && xt::isnan(kept_max)), T(1), T(0)));
    const detail::Scratch<T> count = reduce_dims<T>("max", *mask, reduced, T(0), [](T acc, T v) { return acc + v; });
    return detail::evaluate<T>("max", *mask / *count);
}

template <class T>
Tensor<T> max_over(const Tensor<T>& x, const DimMask& reduced, bool keepdim) {
    for (std::size_t i = 0; i < reduced.size(); ++i) {
        if (reduced[i] && x.shape()[i] == 0) {
            fail<ValueError>("max: x has shape {}; cannot take the maximum over dim {} of size 0 (no elements)",
                             shape_str(x.shape()), i);
        }
    }
    xt::xarray<T> out = reduce_dims<T>("max", x.value(), reduced, -std::numeric_limits<T>::infinity(), nan_max<T>);
    const Shape kept(out.shape().begin(), out.shape().end());
    out.reshape(reduced_shape(x.shape(), reduced, keepdim));
    return record<T>("max", {x}, std::move(out), [kept, reduced](const Backward<T>& ctx) -> Grads<T> {
        // The maximum with the reduced dims kept with size 1 (the output's elements, reshaped).
        const auto& y = ctx.output().value();
        detail::Scratch<T> kept_max = detail::take_buffer<T>("max", kept);
        std::copy(y.begin(), y.end(), (*kept_max).begin());
        const Tensor<T> weights(max_weights<T>(ctx.input(0).value(), *kept_max, reduced));
        return {mul(expand_back(ctx.grad(), kept, ctx.input(0).shape()), weights)};
    });
}

template <class T>
DimMask all_dims(const char* op, const Tensor<T>& x) {
    check_defined(op, "x", x);
    return DimMask(x.ndim(), true);
}

}  // namespace

template <class T>
Tensor<T> sum(const Tensor<T>& x) {
    return sum_over(x, all_dims("sum", x), false);
}

template <class T>
Tensor<T> sum(const Tensor<T>& x, const Dims& dims, bool keepdim) {
    return sum_over(x, reduced_dims("sum", x, dims), keepdim);
}

template <class T>
Tensor<T> mean(const Tensor<T>& x) {
    return mean_over(x, all_dims("mean", x), false);
}

template <class T>
Tensor<T> mean(const Tensor<T>& x, const Dims& dims, bool keepdim) {
    return mean_over(x, reduced_dims("mean", x, dims), keepdim);
}

template <class T>
Tensor<T> max(const Tensor<T>& x) {
    return max_over(x, all_dims("max", x), false);
}

template <class T>
Tensor<T> max(const Tensor<T>& x, const Dims& dims, bool keepdim) {
    return max_over(x, reduced_dims("max", x, dims), keepdim);
}

#define TAPEGRAD_INSTANTIATE(T)                                   \
    template Tensor<T> sum(const Tensor<T>&);                     \
    template Tensor<T> sum(const Tensor<T>&, const Dims&, bool);  \
    template Tensor<T> mean(const Tensor<T>&);                    \
    template Tensor<T> mean(const Tensor<T>&, const Dims&, bool); \
    template Tensor<T> max(const Tensor<T>&);                     \
    template Tensor<T> max(const Tensor<T>&, const Dims&, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
