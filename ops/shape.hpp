/// \file
/// Shape ops: views of the same numbers in another arrangement (each returns a copy).
#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <utility>
#include <vector>

#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/ops/check.hpp>

namespace tapegrad {

/// Same elements in row-major order, new shape (same element count).   d/dx = reshape(grad, x.shape)
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

/// Reorders axes: output axis i is input axis dims[i] (negative counts from the end, as PyTorch).
///   d/dx = permute(grad, inverse(dims))
template <class T>
Tensor<T> permute(const Tensor<T>& x, const std::vector<std::int64_t>& dims);

/// Swaps two axes (composed with permute).   d/dx = transpose(grad, dim0, dim1)
template <class T>
Tensor<T> transpose(const Tensor<T>& x, std::int64_t dim0 = -2, std::int64_t dim1 = -1);

/// Elements start <= i < stop along axis.   d/dx = grad placed back at [start, stop), zeros elsewhere
template <class T>
Tensor<T> slice(const Tensor<T>& x, std::int64_t axis, std::size_t start, std::size_t stop);

/// Joins tensors along an existing axis.   d/dx_k = slice of grad at x_k's rows along axis
template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& xs, std::int64_t axis = 0);

/// Joins tensors along a new axis (composed: unsqueeze then concat).   d/dx_k = grad's k-th slice
template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& xs, std::int64_t axis = 0);

/// Inserts an axis of size 1 (composed with reshape).
template <class T>
Tensor<T> unsqueeze(const Tensor<T>& x, std::int64_t axis);

/// Removes an axis of size 1 (composed with reshape).
template <class T>
Tensor<T> squeeze(const Tensor<T>& x, std::int64_t axis);

}  // namespace tapegrad
