/// \file
/// Scans: cumulative sums, products and log-sum-exps along a dim (negative dims count from the
/// end). Each result has x's shape; element k of a slice folds elements 0..k of it.
#pragma once

#include <cstdint>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// y_k = x_0 + ... + x_k along dim (torch::cumsum). A dim out of range (a 0-d x has none) is a
/// ValueError.
///   d/dx_k = sum_{j >= k} grad_j     (the reversed cumulative sum of grad)
///   tangent: dy = cumsum(dx, dim)
template <class T>
Tensor<T> cumsum(const Tensor<T>& x, std::int64_t dim);

/// y_k = x_0 * ... * x_k along dim (torch::cumprod). The gradient is exact with zeros, as
/// PyTorch's: it never divides by x. Without create_graph it takes one O(n) pass per slice (the
/// sum below, accumulated from the end); with create_graph it is composed of ops (cumprod of x
/// with each element in turn replaced by 1, as PyTorch's double-backward), which costs O(n^2) per
/// slice. A dim out of range is a ValueError.
///   d/dx_k = sum_{j >= k} grad_j * prod_{i <= j, i != k} x_i
///   tangent: dy_j = sum_{k <= j} dx_k prod_{i <= j, i != k} x_i
template <class T>
Tensor<T> cumprod(const Tensor<T>& x, std::int64_t dim);

/// y_k = log(e^x_0 + ... + e^x_k) along dim (torch::logcumsumexp), accumulated as
/// y_k = max(y_(k-1), x_k) + log1p(e^-|y_(k-1) - x_k|), so nothing overflows; -inf elements add
/// nothing, and +inf gives +inf. A dim out of range is a ValueError. Where a running sum is still
/// empty (y_j = -inf: a slice starting with -inf), e^(x_k - y_j) is -inf - (-inf) and those
/// elements' gradient is NaN, as PyTorch's; -inf elements after a finite one get 0.
///   d/dx_k = sum_{j >= k} grad_j e^(x_k - y_j), computed in log space from the grad's positive and
///   negative parts (PyTorch's formula), so that no e^-y_j overflows
///   tangent: dy_j = sum_{k <= j} e^(x_k - y_j) dx_k, in log space by the sign of dx
template <class T>
Tensor<T> logcumsumexp(const Tensor<T>& x, std::int64_t dim);

}  // namespace tapegrad
