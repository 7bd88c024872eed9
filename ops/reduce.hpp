/// \file
/// Reductions over given axes (negative axes count from the end) or over everything.
#pragma once

#include <cstdint>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// The axes a reduction folds; negative ones count from the end (-1 is the last).
using Axes = std::vector<std::int64_t>;

/// Sum of every element (a 0-d tensor).     d/dx = broadcast of grad
template <class T>
Tensor<T> sum(const Tensor<T>& x);

/// Sum over axes; keepdims leaves them with size 1. An empty list reduces nothing (numpy's axis=()).
///   d/dx = grad broadcast back over the axes
template <class T>
Tensor<T> sum(const Tensor<T>& x, const Axes& axes, bool keepdims = false);

/// Mean, composed as sum / count.     d/dx = grad / count, broadcast
template <class T>
Tensor<T> mean(const Tensor<T>& x);
/// Mean over axes, keepdims as for sum (torch::mean with dims).
///   d/dx = grad / count over the axes, broadcast back
template <class T>
Tensor<T> mean(const Tensor<T>& x, const Axes& axes, bool keepdims = false);

/// Maximum. On ties the gradient is split evenly among the maximal elements (as PyTorch's
/// amax), so it stays a true subgradient and sums to grad.
///   d/dx = grad * [x == max] / count(x == max)
template <class T>
Tensor<T> max(const Tensor<T>& x);
/// Maximum over axes, keepdims as for sum (torch::amax); ties share the gradient as above.
template <class T>
Tensor<T> max(const Tensor<T>& x, const Axes& axes, bool keepdims = false);

}  // namespace tapegrad
