/// \file
/// Reductions over given dims (negative dims count from the end) or over everything: sums, means
/// and products. Variances and norms are in statistics.hpp, the extrema (max, amax, argmax, ...) in
/// extrema.hpp, the cumulative ones in scan.hpp.
#pragma once

#include <cstdint>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Sum of every element (a 0-d tensor).     d/dx = broadcast of grad      tangent: dy = sum(dx)
template <class T>
Tensor<T> sum(const Tensor<T>& x);

/// Sum over dims (torch::sum(x, dims, keepdim)); keepdim leaves them with size 1. An empty list
/// reduces nothing (numpy's axis=()). A dim out of range or listed twice is a ValueError.
///   d/dx = grad broadcast back over the dims      tangent: dy = sum(dx, dims, keepdim)
template <class T>
Tensor<T> sum(const Tensor<T>& x, const Dims& dims, bool keepdim = false);

/// Mean, composed as sum / count.     d/dx = grad / count, broadcast      tangent: dy = mean(dx)
template <class T>
Tensor<T> mean(const Tensor<T>& x);
/// Mean over dims, keepdim as for sum (torch::mean(x, dims, keepdim)).
///   d/dx = grad / count over the dims, broadcast back      tangent: dy = mean(dx, dims, keepdim)
template <class T>
Tensor<T> mean(const Tensor<T>& x, const Dims& dims, bool keepdim = false);

/// Product of every element (torch::prod(x)), 0-d; 1 for an x with no elements. Composed: x
/// flattened, then prod along dim 0.
///   d/dx_k = grad * prod_{i != k} x_i     (exact with zeros: see prod along a dim)
///   tangent: dy = sum_k prod_{i != k} x_i dx_k
template <class T>
Tensor<T> prod(const Tensor<T>& x);

/// Product along dim (torch::prod(x, dim, keepdim)); keepdim leaves dim with size 1. The gradient
/// is the product of the other elements of the slice, computed as the product of the exclusive
/// cumulative products from the left and from the right, so that it is exact with zeros (no
/// division by x): with no zero it is prod / x_k, with exactly one zero only that element gets a
/// gradient (the product of the others), with two or more zeros it is 0 everywhere. Twice
/// differentiable (the rule is composed of cumprod, slice, concat and flip). A dim out of range
/// (a 0-d x has none) is a ValueError.
///   d/dx_k = grad * (prod_{i < k} x_i) * (prod_{i > k} x_i)
///   tangent: dy = sum_k (prod_{i < k} x_i) (prod_{i > k} x_i) dx_k along dim
template <class T>
Tensor<T> prod(const Tensor<T>& x, std::int64_t dim, bool keepdim = false);

}  // namespace tapegrad
