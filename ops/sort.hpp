/// \file
/// Sorting along a dim: sort and topk return the values (differentiable) and where each came from.
/// NaN sorts as the largest value (after +inf), as PyTorch's; equal values keep their order (the
/// sort is stable), so ties are deterministic. Negative dims count from the end.
#pragma once

#include <cstdint>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/ops/extrema.hpp>

namespace tapegrad {

/// x's slices along dim sorted, ascending or descending (torch::sort(x, dim, descending, stable)):
/// values, and indices such that values = x taken at indices along dim. NaNs come last ascending and
/// first descending. The sort is always stable (elements that compare equal keep their order), which
/// is one of the orders stable = false allows, so `stable` changes nothing. A dim out of range (a 0-d
/// x has none) is a ValueError.
///   d/dx = grad placed back at indices along dim (each element gets the gradient of where it went)
///   tangent: values: dy = dx taken at indices along dim
template <class T>
ValuesAndIndices<T> sort(const Tensor<T>& x, std::int64_t dim = -1, bool descending = false, bool stable = false);

/// The k largest (largest = false: smallest) elements of each slice along dim, and their indices
/// (torch::topk(x, k, dim, largest, sorted)): the first k of sort(x, dim, descending = largest), so
/// NaN counts as the largest and ties go to the lower index. The values always come sorted, which
/// sorted = false allows too. k < 0 or k > the dim's size is a ValueError, as a dim out of range.
///   d/dx = grad placed at indices along dim, 0 elsewhere
///   tangent: values: dy = dx taken at indices along dim
template <class T>
ValuesAndIndices<T> topk(const Tensor<T>& x, std::int64_t k, std::int64_t dim = -1, bool largest = true,
                         bool sorted = true);

}  // namespace tapegrad
