/// \file
/// Activation functions.
#pragma once

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// max(x, 0).      d/dx = grad where x > 0, else 0 (so 0 at exactly x = 0, as PyTorch)
template <class T>
Tensor<T> relu(const Tensor<T>& x);

/// x if x > 0 else slope x.    d/dx = grad where x > 0, else slope * grad
template <class T>
Tensor<T> leaky_relu(const Tensor<T>& x, std::type_identity_t<T> negative_slope = T(0.01));

/// 1 / (1 + e^-x), computed without overflow for any |x|.    d/dx = grad * y (1 - y)
template <class T>
Tensor<T> sigmoid(const Tensor<T>& x);

/// tanh(x).        d/dx = grad * (1 - y^2)
template <class T>
Tensor<T> tanh(const Tensor<T>& x);

/// log(1 + e^x) = max(x, 0) + log1p(e^-|x|) (finite for any |x|).    d/dx = grad * sigmoid(x)
template <class T>
Tensor<T> softplus(const Tensor<T>& x);

/// x Phi(x) with the exact normal CDF, composed as x/2 (1 + erf(x / sqrt 2)).
///   d/dx = grad * (Phi(x) + x phi(x))
template <class T>
Tensor<T> gelu(const Tensor<T>& x);

}  // namespace tapegrad
