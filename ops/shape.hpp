/// \file
/// Shape ops: views of the same numbers in another arrangement (each returns a copy).
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/ops/check.hpp>

namespace tapegrad {

/// Same elements in row-major order, new shape (same element count).   d/dx = reshape(grad, x.shape)
/// tangent: dy = reshape(dx, shape)
template <class T>
Tensor<T> reshape(const Tensor<T>& x, const Shape& shape);

/// PyTorch's reshape: `reshape(x, {-1, 28, 28})`, one dimension may be -1, inferred from x's
/// element count. Two -1s, another negative size, or no fit is a ShapeError naming reshape and
/// both shapes. A braced list of integers of one type comes here; a Shape goes to the overload above.
template <class T, std::integral I>
Tensor<T> reshape(const Tensor<T>& x, std::initializer_list<I> shape) {
    check_defined("reshape", "x", x);
    xt::svector<std::int64_t, 4> dims;
    for (const I d : shape) {
        if (std::cmp_greater(d, INT64_MAX)) fail<ShapeError>("reshape: size {} is too large for a dimension", d);
        dims.push_back(static_cast<std::int64_t>(d));
    }
    return reshape(x, infer_shape("reshape", std::span<const std::int64_t>(dims.data(), dims.size()), x.shape()));
}

/// The same from a vector of signed sizes.
template <class T, class A>
Tensor<T> reshape(const Tensor<T>& x, const std::vector<std::int64_t, A>& shape) {
    check_defined("reshape", "x", x);
    return reshape(x, infer_shape("reshape", std::span<const std::int64_t>(shape.data(), shape.size()), x.shape()));
}

/// Reorders dims: output dim i is input dim dims[i] (torch::permute; negative dims count from the
/// end). dims that are not a permutation of x's dims are a ValueError.
///   d/dx = permute(grad, inverse(dims))      tangent: dy = permute(dx, dims)
template <class T>
Tensor<T> permute(const Tensor<T>& x, const Dims& dims);

/// Swaps dims dim0 and dim1 (torch::transpose; composed with permute). By default the last two,
/// as a matrix transpose.   d/dx = transpose(grad, dim0, dim1)      tangent: dy = transpose(dx, dim0, dim1)
template <class T>
Tensor<T> transpose(const Tensor<T>& x, std::int64_t dim0 = -2, std::int64_t dim1 = -1);

/// Elements start <= i < end along dim, as PyTorch's `x.slice(dim, start, end)` (`x[start:end]`
/// along dim): a negative start or end counts from the end (adds the dim's size), then both are
/// clamped to [0, size], and an end before start gives an empty result. So `slice(x, 0, -1)` drops
/// the last row, `slice(x, 0, 2)` keeps rows from 2 on, and `slice(x, 0, 1, 100)` stops at the last
/// row. A dim out of range is a ValueError naming slice, the dim and x's shape.
///   d/dx = grad placed back at [start, end), zeros elsewhere      tangent: dy = slice(dx, dim, start, end)
template <class T>
Tensor<T> slice(const Tensor<T>& x, std::int64_t dim, std::int64_t start,
                std::int64_t end = std::numeric_limits<std::int64_t>::max());

/// Joins tensors along an existing dim (torch::cat); every other dim must match (else ShapeError).
///   d/dx_k = slice of grad at x_k's rows along dim      tangent: dy = concat of the dx_k (0 for none)
template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& xs, std::int64_t dim = 0);

/// Joins tensors of one shape along a new dim (torch::stack; composed: unsqueeze then concat); dim
/// may be -(ndim + 1)..ndim, as the result has one more dim.   d/dx_k = grad's k-th slice
template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& xs, std::int64_t dim = 0);

/// Inserts a dim of size 1 at dim (torch::unsqueeze; composed with reshape); dim may be
/// -(ndim + 1)..ndim, -1 appending it last.   d/dx = reshape(grad, x.shape)
template <class T>
Tensor<T> unsqueeze(const Tensor<T>& x, std::int64_t dim);

/// Removes dim, which must have size 1 (composed with reshape). Where torch::squeeze(x, dim)
/// returns x unchanged for a dim of another size, this is a ShapeError.   d/dx = reshape(grad, x.shape)
template <class T>
Tensor<T> squeeze(const Tensor<T>& x, std::int64_t dim);

}  // namespace tapegrad
