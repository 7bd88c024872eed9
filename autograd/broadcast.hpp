/// \file
/// The two shape ops the engine itself needs: broadcasting and its adjoint, sum_to.
#pragma once

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// Numpy broadcast of x to `shape` (a copy).
///   d/dx = sum_to(grad, x.shape)      tangent: dy = broadcast_to(dx, shape)
template <class T>
Tensor<T> broadcast_to(const Tensor<T>& x, const Shape& shape);

/// Sums x down to `shape`, which must broadcast to x's shape: over leading extra dims and
/// over dims where `shape` has 1. The engine uses it to un-broadcast gradients.
///   d/dx = broadcast_to(grad, x.shape)      tangent: dy = sum_to(dx, shape)
template <class T>
Tensor<T> sum_to(const Tensor<T>& x, const Shape& shape);

}  // namespace tapegrad
