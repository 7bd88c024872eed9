/// \file
/// Statistics over given dims (negative dims count from the end) or over everything: variance,
/// standard deviation and vector norms, each computed so that it stays accurate (two passes on
/// shifted values; norms scaled where the plain sum of powers would overflow).
#pragma once

#include <cstdint>
#include <string_view>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Variance of every element with Bessel's correction (torch::var(x)): var(x, every dim, 1).
///   d/dx = grad * 2 (x - mean) / (n - 1)
///   tangent: dy = 2 sum((x - mean) dx) / (n - 1)
template <class T>
Tensor<T> var(const Tensor<T>& x);

/// Variance over dims (torch::var(x, dims, correction, keepdim)): sum((x - mean)^2) / (n - correction),
/// n the number of elements each result reduces; correction 1 (Bessel's, PyTorch 2.x's default)
/// gives the unbiased sample variance, 0 the population variance. Computed in two passes on values
/// shifted by the slice's first element (the mean, then the squared deviations from it), so that it
/// stays accurate when the mean is large next to the spread, and is exactly 0 for a constant slice.
/// An empty list reduces nothing, as sum's. A dim out of range or listed twice, or n - correction
/// <= 0 (which includes a reduction over no elements), is a ValueError; PyTorch returns NaN or inf
/// there, with a warning.
///   d/dx = grad * 2 (x - mean) / (n - correction), broadcast back over the dims
///   tangent: dy = 2 sum((x - mean) dx, dims) / (n - correction)
template <class T>
Tensor<T> var(const Tensor<T>& x, const Dims& dims, std::int64_t correction = 1, bool keepdim = false);

/// Standard deviation of every element with Bessel's correction (torch::std(x)): sqrt(var(x)).
///   d/dx = grad * (x - mean) / ((n - 1) std), and 0 where std = 0
///   tangent: dy = sum((x - mean) dx) / ((n - 1) y), 0 where y = 0
template <class T>
Tensor<T> std(const Tensor<T>& x);

/// Standard deviation over dims (torch::std(x, dims, correction, keepdim)): sqrt of var with the
/// same arguments and errors. Where the spread is 0 (a constant slice) the derivative 1 / (2 std)
/// of the square root is infinite; the gradient there is 0, as PyTorch 2.x's std_backward, which
/// masks result == 0 (so not NaN from 0 / 0; PyTorch before 1.11 gave NaN).
///   d/dx = grad * (x - mean) / ((n - correction) std), and 0 over a slice where std = 0
///   tangent: dy = sum((x - mean) dx, dims) / ((n - correction) y), 0 where y = 0
template <class T>
Tensor<T> std(const Tensor<T>& x, const Dims& dims, std::int64_t correction = 1, bool keepdim = false);

/// The p-norm of x flattened (torch::linalg::vector_norm(x, p); torch::norm(x, p)), 0-d; p = 2 by
/// default. p may be any p > 0 (sum |x|^p)^(1/p), inf (max |x|) or -inf (min |x|); others are a
/// ValueError. Computed scaled by the largest |x| where the plain sum of powers would overflow or
/// underflow, so 1e200 in float64 (or 1e30 in float32) gives its norm, not inf. At x = 0 the
/// gradient is 0, PyTorch's subgradient, not NaN. For p = inf and -inf, an x with no elements is a
/// ValueError (for p > 0 its norm is 0), and the gradient goes to the elements of largest
/// (smallest) |x|, split evenly among ties, as PyTorch's.
///   d/dx = grad * sign(x) |x|^(p-1) / y^(p-1)  (p = 2: grad * x / y), 0 where y = 0 or x = 0
///   tangent: dy = sum(sign(x) |x|^(p-1) / y^(p-1) dx)  (p = 2: sum(x dx) / y; inf: amax's), 0 where y = 0
template <class T>
Tensor<T> norm(const Tensor<T>& x, double p = 2);

/// The p-norm over dims (torch::linalg::vector_norm(x, p, dims, keepdim)), keepdim as for sum; p as
/// above. p = 2 over the two dims of a matrix is the Frobenius norm. An empty list reduces nothing.
/// A dim out of range or listed twice is a ValueError.
///   d/dx = as above, per slice, broadcast back over the dims
///   tangent: dy = as above, summed over the dims
template <class T>
Tensor<T> norm(const Tensor<T>& x, double p, const Dims& dims, bool keepdim = false);

/// The Frobenius norm over dims (torch::norm(x, "fro", dims, keepdim)): norm(x, 2, dims, keepdim).
/// `ord` other than "fro" (PyTorch's "nuc" included) is a ValueError.
///   d/dx = grad * x / y, 0 where y = 0
///   tangent: dy = sum(x dx, dims) / y, 0 where y = 0
template <class T>
Tensor<T> norm(const Tensor<T>& x, std::string_view ord, const Dims& dims, bool keepdim = false);

}  // namespace tapegrad
