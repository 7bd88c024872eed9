#include <tapegrad/ops/extrema.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <tapegrad/autograd/evaluate.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/reduce_kernel.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/reduction.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

/// The smaller of a running minimum and v, where NaN wins: nan_max's mirror.
template <class T>
constexpr T nan_min(T acc, T v) {
    return (acc <= v || std::isnan(acc)) ? acc : v;
}

template <class T>
void check_not_empty(const char* op, const Tensor<T>& x, const DimMask& reduced) {
    for (std::size_t i = 0; i < reduced.size(); ++i) {
        if (reduced[i] && x.shape()[i] == 0) {
            fail<ValueError>("{}: x has shape {}; dim {} has size 0, so there is no element to take", op,
                             shape_str(x.shape()), i);
        }
    }
}

/// Each element's share of the gradient: 1/count where it equals its slice's extreme (NaN counts
/// as equal to a NaN extreme, so a NaN slice sends its gradient to its NaNs), else 0.
template <class T>
xt::xarray<T> tie_weights(const char* op, const xt::xarray<T>& x, const xt::xarray<T>& kept, const DimMask& reduced) {
    detail::Scratch<T> mask =
        detail::evaluate<T>(op, xt::where(xt::equal(x, kept) || (xt::isnan(x) && xt::isnan(kept)), T(1), T(0)));
    const detail::Scratch<T> count = reduce_dims<T>(op, *mask, reduced, T(0), [](T acc, T v) { return acc + v; });
    return detail::evaluate<T>(op, *mask / *count);
}

/// amax (largest) or amin over the reduced dims; ties share the gradient.
template <class T>
Tensor<T> extreme_over(const char* op, bool largest, const Tensor<T>& x, const DimMask& reduced, bool keepdim) {
    check_not_empty(op, x, reduced);
    constexpr T inf = std::numeric_limits<T>::infinity();
    xt::xarray<T> out = largest ? reduce_dims<T>(op, x.value(), reduced, -inf, nan_max<T>)
                                : reduce_dims<T>(op, x.value(), reduced, inf, nan_min<T>);
    const Shape kept(out.shape().begin(), out.shape().end());
    out.reshape(detail::reduced_shape(x.shape(), reduced, keepdim));
    // Each element's share (tie_weights), from the extreme with the reduced dims kept with size 1
    // (the output's elements, reshaped).
    const auto weights = [op, kept, reduced](const Tensor<T>& in, const Tensor<T>& extreme) {
        const auto& y = extreme.value();
        detail::Scratch<T> kept_extreme = detail::take_buffer<T>(op, kept);
        std::copy(y.begin(), y.end(), (*kept_extreme).begin());
        return Tensor<T>(tie_weights<T>(op, in.value(), *kept_extreme, reduced));
    };
    Dims dims;
    for (std::size_t i = 0; i < reduced.size(); ++i) {
        if (reduced[i]) dims.push_back(static_cast<std::int64_t>(i));
    }
    return record<T>(
        op, {x}, std::move(out),
        [kept, weights](const Backward<T>& ctx) -> Grads<T> {
            return {
                mul(detail::expand_back(ctx.grad(), kept, ctx.input(0).shape()), weights(ctx.input(0), ctx.output()))};
        },
        [dims, keepdim, weights](const Forward<T>& ctx) {
            // The weighted sum of the tangent over the reduced dims: the tangent at the extreme, or
            // the mean of the tied ones'.
            return tapegrad::sum(mul(ctx.tangent(0), weights(ctx.input(0), ctx.output())), dims, keepdim);
        });
}

/// Whether v takes the place of the best so far: it is larger (smaller), or the first NaN. Ties keep
/// the earlier element, so the first occurrence wins.
template <class T>
bool beats(T v, T best, bool largest) {
    if (std::isnan(best)) return false;
    return std::isnan(v) || (largest ? v > best : v < best);
}

/// out[o, i] = the index j of the extreme of x[o, :, i] in the [outer, size, inner] view (size > 0).
template <class T>
void arg_extreme(const char* op, const T* x, const detail::AlongDim& a, bool largest, std::int64_t* out) {
    detail::Scratch<T> best_buffer = detail::take_buffer<T>(op, {a.inner});
    T* best = (*best_buffer).data();
    for (std::size_t o = 0; o < a.outer; ++o) {
        const T* slab = x + o * a.size * a.inner;
        std::int64_t* at = out + o * a.inner;
        std::copy(slab, slab + a.inner, best);
        std::fill(at, at + a.inner, 0);
        for (std::size_t j = 1; j < a.size; ++j) {
            const T* row = slab + j * a.inner;
            for (std::size_t i = 0; i < a.inner; ++i) {
                if (beats(row[i], best[i], largest)) {
                    best[i] = row[i];
                    at[i] = static_cast<std::int64_t>(j);
                }
            }
        }
    }
}

/// The index along dim d of each slice's extreme, in x's shape with d of size 1.
template <class T>
Indices arg_extreme_along(const char* op, const Tensor<T>& x, std::size_t d, bool largest) {
    DimMask reduced(x.ndim(), false);
    reduced[d] = true;
    check_not_empty(op, x, reduced);
    Shape kept = x.shape();
    kept[d] = 1;
    Indices index(xt::xarray<std::int64_t>::from_shape(kept));
    arg_extreme(op, x.value().data(), detail::along_dim(x.shape(), d), largest, index.mutable_value().data());
    return index;
}

template <class T>
Indices arg_extreme_all(const char* op, const Tensor<T>& x, bool largest) {
    check_not_empty(op, x, detail::all_dims(op, x));
    Indices index = Indices::full({}, 0);
    arg_extreme(op, x.value().data(), detail::AlongDim{1, x.numel(), 1}, largest, index.mutable_value().data());
    return index;
}

Shape without_dim(Shape shape, std::size_t d) {
    shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(d));
    return shape;
}

template <class T>
Indices arg_along(const char* op, const Tensor<T>& x, std::int64_t dim, bool keepdim, bool largest) {
    const std::size_t d = detail::checked_dim(op, x, dim);
    Indices index = arg_extreme_along(op, x, d, largest);
    if (!keepdim) index.mutable_value().reshape(without_dim(x.shape(), d));
    return index;
}

template <class T>
ValuesAndIndices<T> extreme_along(const char* op, const Tensor<T>& x, std::int64_t dim, bool keepdim, bool largest) {
    const std::size_t d = detail::checked_dim(op, x, dim);
    auto index = std::make_shared<const Indices>(arg_extreme_along(op, x, d, largest));
    Indices indices = *index;
    if (!keepdim) indices.mutable_value().reshape(without_dim(x.shape(), d));
    Tensor<T> values = detail::take_along(op, x, index, d, indices.shape());
    return {std::move(values), std::move(indices)};
}

}  // namespace

template <class T>
Tensor<T> max(const Tensor<T>& x) {
    return extreme_over("max", true, x, detail::all_dims("max", x), false);
}

template <class T>
Tensor<T> min(const Tensor<T>& x) {
    return extreme_over("min", false, x, detail::all_dims("min", x), false);
}

template <class T>
Tensor<T> amax(const Tensor<T>& x, const Dims& dims, bool keepdim) {
    return extreme_over("amax", true, x, detail::reduced_dims("amax", x, dims), keepdim);
}

template <class T>
Tensor<T> amin(const Tensor<T>& x, const Dims& dims, bool keepdim) {
    return extreme_over("amin", false, x, detail::reduced_dims("amin", x, dims), keepdim);
}

template <class T>
ValuesAndIndices<T> max(const Tensor<T>& x, std::int64_t dim, bool keepdim) {
    return extreme_along("max", x, dim, keepdim, true);
}

template <class T>
ValuesAndIndices<T> min(const Tensor<T>& x, std::int64_t dim, bool keepdim) {
    return extreme_along("min", x, dim, keepdim, false);
}

template <class T>
Indices argmax(const Tensor<T>& x) {
    return arg_extreme_all("argmax", x, true);
}

template <class T>
Indices argmax(const Tensor<T>& x, std::int64_t dim, bool keepdim) {
    return arg_along("argmax", x, dim, keepdim, true);
}

template <class T>
Indices argmin(const Tensor<T>& x) {
    return arg_extreme_all("argmin", x, false);
}

template <class T>
Indices argmin(const Tensor<T>& x, std::int64_t dim, bool keepdim) {
    return arg_along("argmin", x, dim, keepdim, false);
}

#define TAPEGRAD_INSTANTIATE(T)                                             \
    template Tensor<T> max(const Tensor<T>&);                               \
    template Tensor<T> min(const Tensor<T>&);                               \
    template Tensor<T> amax(const Tensor<T>&, const Dims&, bool);           \
    template Tensor<T> amin(const Tensor<T>&, const Dims&, bool);           \
    template ValuesAndIndices<T> max(const Tensor<T>&, std::int64_t, bool); \
    template ValuesAndIndices<T> min(const Tensor<T>&, std::int64_t, bool); \
    template Indices argmax(const Tensor<T>&);                              \
    template Indices argmax(const Tensor<T>&, std::int64_t, bool);          \
    template Indices argmin(const Tensor<T>&);                              \
    template Indices argmin(const Tensor<T>&, std::int64_t, bool);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
