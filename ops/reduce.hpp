/// \file
/// Reductions over given dims (negative dims count from the end) or over everything.
#pragma once

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Sum of every element (a 0-d tensor).     d/dx = broadcast of grad
template <class T>
Tensor<T> sum(const Tensor<T>& x);

/// Sum over dims (torch::sum(x, dims, keepdim)); keepdim leaves them with size 1. An empty list
/// reduces nothing (numpy's axis=()). A dim out of range or listed twice is a ValueError.
///   d/dx = grad broadcast back over the dims
template <class T>
Tensor<T> sum(const Tensor<T>& x, const Dims& dims, bool keepdim = false);

/// Mean, composed as sum / count.     d/dx = grad / count, broadcast
template <class T>
Tensor<T> mean(const Tensor<T>& x);
/// Mean over dims, keepdim as for sum (torch::mean(x, dims, keepdim)).
///   d/dx = grad / count over the dims, broadcast back
template <class T>
Tensor<T> mean(const Tensor<T>& x, const Dims& dims, bool keepdim = false);

/// Maximum. On ties the gradient is split evenly among the maximal elements (as PyTorch's
/// amax), so it stays a true subgradient and sums to grad.
///   d/dx = grad * [x == max] / count(x == max)
template <class T>
Tensor<T> max(const Tensor<T>& x);
/// Maximum over dims, keepdim as for sum (torch::amax(x, dims, keepdim)); ties share the
/// gradient as above. A reduced dim of size 0 is a ValueError.
template <class T>
Tensor<T> max(const Tensor<T>& x, const Dims& dims, bool keepdim = false);

}  // namespace tapegrad
