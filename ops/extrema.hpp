/// \file
/// Extrema: the largest and smallest elements, over everything or over dims, with or without
/// where they are. NaN counts as larger and as smaller than every number (it wins both max and
/// min, as in PyTorch), and the first NaN is where it is. Negative dims count from the end.
#pragma once

#include <cstdint>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// What max and min along a dim, sort and topk return: the values (differentiable) and where along
/// the dim each one was taken from (PyTorch's `(values, indices)` named tuple). Unpacks with a
/// structured binding: `auto [values, indices] = max(x, 1);`.
template <class T>
struct ValuesAndIndices {
    /// The selected elements; their gradient goes back to the elements they came from.
    Tensor<T> values;
    /// For each value, its index along the dim in x (int64, same shape as values).
    Indices indices;
};

/// The largest element (torch::max(x)), 0-d. On ties the gradient is split evenly among the
/// maximal elements (as PyTorch's), so it stays a true subgradient and sums to grad. A NaN
/// anywhere makes the result NaN, and the gradient goes to the NaNs. An x with no elements is
/// a ValueError.
///   d/dx = grad * [x == max] / count(x == max)
///   tangent: dy = mean of dx over the elements equal to max
template <class T>
Tensor<T> max(const Tensor<T>& x);

/// The smallest element (torch::min(x)), 0-d; ties, NaN and empty x as for max.
///   d/dx = grad * [x == min] / count(x == min)
///   tangent: dy = mean of dx over the elements equal to min
template <class T>
Tensor<T> min(const Tensor<T>& x);

/// Largest elements over dims (torch::amax(x, dims, keepdim)); keepdim leaves them with size 1.
/// Ties share the gradient evenly, as max(x). An empty list reduces nothing (as sum's, numpy's
/// axis=(); PyTorch's amax reduces everything then). A dim out of range or listed twice, or a
/// reduced dim of size 0, is a ValueError.
///   d/dx = grad * [x == amax] / count(x == amax), each over its slice, broadcast back
///   tangent: dy = mean of dx over each slice's elements equal to amax
template <class T>
Tensor<T> amax(const Tensor<T>& x, const Dims& dims, bool keepdim = false);

/// Smallest elements over dims (torch::amin(x, dims, keepdim)); as amax otherwise.
///   d/dx = grad * [x == amin] / count(x == amin), each over its slice, broadcast back
///   tangent: dy = mean of dx over each slice's elements equal to amin
template <class T>
Tensor<T> amin(const Tensor<T>& x, const Dims& dims, bool keepdim = false);

/// The largest element along dim and its index (torch::max(x, dim, keepdim)): the first one on
/// ties, the first NaN if there is one. Unlike amax, the whole gradient goes to the returned index
/// (as PyTorch's). keepdim leaves dim with size 1 in both. A dim out of range (a 0-d x has none)
/// or of size 0 is a ValueError.
///   d/dx = grad placed at indices along dim, 0 elsewhere
///   tangent: values: dy = dx taken at indices along dim
template <class T>
ValuesAndIndices<T> max(const Tensor<T>& x, std::int64_t dim, bool keepdim = false);

/// The smallest element along dim and its index (torch::min(x, dim, keepdim)); as max along a dim.
///   d/dx = grad placed at indices along dim, 0 elsewhere
///   tangent: values: dy = dx taken at indices along dim
template <class T>
ValuesAndIndices<T> min(const Tensor<T>& x, std::int64_t dim, bool keepdim = false);

/// The index of the largest element of x flattened in row-major order (torch::argmax(x)), 0-d:
/// the first one on ties, the first NaN if there is one. Empty x is a ValueError. No gradient.
template <class T>
Indices argmax(const Tensor<T>& x);

/// The index along dim of the largest element of each slice (torch::argmax(x, dim, keepdim)): the
/// indices of max(x, dim, keepdim). A dim out of range or of size 0 is a ValueError.
template <class T>
Indices argmax(const Tensor<T>& x, std::int64_t dim, bool keepdim = false);

/// The index of the smallest element of x flattened (torch::argmin(x)), 0-d; as argmax(x).
template <class T>
Indices argmin(const Tensor<T>& x);

/// The index along dim of the smallest element of each slice (torch::argmin(x, dim, keepdim)).
template <class T>
Indices argmin(const Tensor<T>& x, std::int64_t dim, bool keepdim = false);

}  // namespace tapegrad
