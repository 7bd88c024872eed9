/// \file
/// Matrix products, run by BLAS (OpenBLAS through cblas), and the small linear algebra composed
/// from them: matmul, linear, outer, dot, trace.
#pragma once

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// op(a) op(b), where op transposes the last two dims when asked: a and b have at least 2 dims
/// each, the last two of each are the matrices and the dims before them are batch dims that
/// broadcast as numpy's (a [8, 1, 5, 4] times b [3, 4, 6] is [8, 3, 5, 6]). Each product is a GEMM
/// (a loop over the broadcast batch; one GEMM when b is a single matrix shared by every batch), the
/// transposes are GEMM flags, never materialised. ShapeError, naming both shapes, for a 0-d or
/// 1-D operand, batch dims that do not broadcast, or inner dimensions that differ. For C = A B:
///   d/dA = grad B^T      d/dB = A^T grad      tangent: dC = dA B + A dB (with op applied to each)
/// (each itself a batched GEMM with transpose flags; an operand broadcast over batch dims gets the
/// sum over them, computed as one GEMM where the batch folds into the inner dimension)
template <class T>
Tensor<T> gemm(const Tensor<T>& a, const Tensor<T>& b, bool transpose_a = false, bool transpose_b = false);

/// numpy's and PyTorch's matmul for every rank: 1-D x 1-D is the dot product (a 0-d tensor); a
/// 1-D left operand gets a 1 prepended (a row) and a 1-D right one a 1 appended (a column), removed
/// again from the result; 2-D and higher are gemm's batched products with broadcast batch dims.
/// ShapeError, naming both shapes, for a 0-d operand, inner dimensions that differ or batch dims
/// that do not broadcast. Composed from gemm and reshape:
///   d/da = grad b^T      d/db = a^T grad      (summed over the batch dims each was broadcast over)
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b);

/// x W^T + b (PyTorch's F.linear): x is [..., in] (any rank >= 1), weight is [out, in], bias
/// (optional: pass an undefined tensor) is [out] (or [1, out]); the result is [..., out]. One node
/// and one GEMM over the leading dims folded into rows: the bias is the GEMM's starting C (beta = 1).
/// ShapeError, naming the shapes, for a 0-d x, a weight that is not 2-D, a feature count that
/// differs or a bias of another size.
///   d/dx = grad W      d/dW = grad^T x (summed over every leading dim)      d/db = grad summed over the leading dims
///   tangent: dy = dx W^T + x dW^T + db
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = {});

/// Outer product of two vectors (torch::outer): out[i, j] = a[i] b[j]. Operands that are not 1-D
/// are a ShapeError. Composed: a column times a row (mul, broadcast).
///   d/da = grad b      d/db = grad^T a
template <class T>
Tensor<T> outer(const Tensor<T>& a, const Tensor<T>& b);

/// Inner product of two 1-D tensors of one length (torch::dot), a 0-d tensor. Operands that are
/// not 1-D, or of different lengths, are a ShapeError (where matmul would broadcast or batch).
/// Composed with matmul.   d/da = grad b      d/db = grad a
template <class T>
Tensor<T> dot(const Tensor<T>& a, const Tensor<T>& b);

/// Sum of the main diagonal of a 2-D tensor (torch::trace), a 0-d tensor; a non-square x sums its
/// min(m, n) diagonal elements. x that is not 2-D is a ShapeError. Composed: sum(diagonal(x)).
///   d/dx = grad I      (grad on the main diagonal, zeros elsewhere)
template <class T>
Tensor<T> trace(const Tensor<T>& x);

}  // namespace tapegrad
