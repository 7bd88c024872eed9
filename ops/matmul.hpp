/// \file
/// Matrix products, run by BLAS (OpenBLAS through cblas).
#pragma once

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// op(a) op(b) where op transposes the last two dims when asked; 2-D x 2-D or batched
/// 3-D x 3-D. The transposes are handed to GEMM, never materialised. For C = A B:
///   d/dA = grad B^T      d/dB = A^T grad      (each itself a gemm with transpose flags)
template <class T>
Tensor<T> gemm(const Tensor<T>& a, const Tensor<T>& b, bool transpose_a = false, bool transpose_b = false);

/// numpy-style matmul: 2-D x 2-D, 2-D x 1-D (matrix x vector), 1-D x 2-D, batched 3-D x 3-D and
/// 3-D x 2-D (a shared right matrix). Composed from gemm and reshape.
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b);

/// x W^T + b, one sample per row (PyTorch's Linear): x is batch x in, weight is out x in,
/// bias (optional: pass an undefined tensor) has out elements. One node: the bias is the GEMM's
/// starting C (beta = 1), so the forward is a single BLAS call.
///   d/dx = grad W      d/dW = grad^T x      d/db = sum of grad over rows
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = {});

}  // namespace tapegrad
