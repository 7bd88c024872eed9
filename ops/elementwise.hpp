/// \file
/// Elementwise math functions.
#pragma once

#include <limits>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// e^x.            d/dx = grad * e^x
template <class T>
Tensor<T> exp(const Tensor<T>& x);

/// Natural log.    d/dx = grad / x      (log(0) = -inf and log(x < 0) = NaN, as in IEEE)
template <class T>
Tensor<T> log(const Tensor<T>& x);

/// Square root.    d/dx = grad / (2 sqrt(x))
template <class T>
Tensor<T> sqrt(const Tensor<T>& x);

/// x^p for a scalar exponent p.    d/dx = grad * p * x^(p-1);  d/dx = 0 for p = 0 (not 0 * x^-1)
template <class T>
Tensor<T> pow(const Tensor<T>& x, std::type_identity_t<T> p);

/// |x|.            d/dx = grad * sign(x)      (sign(0) = 0: the subgradient PyTorch uses)
template <class T>
Tensor<T> abs(const Tensor<T>& x);

/// x^2, composed as x * x.     d/dx = 2 x grad
template <class T>
Tensor<T> square(const Tensor<T>& x);

/// min(max(x, low), high).     d/dx = grad where low <= x <= high, else 0
template <class T>
Tensor<T> clamp(const Tensor<T>& x, std::type_identity_t<T> low = -std::numeric_limits<T>::infinity(),
                std::type_identity_t<T> high = std::numeric_limits<T>::infinity());

/// Gauss error function.       d/dx = grad * 2/sqrt(pi) e^(-x^2)
template <class T>
Tensor<T> erf(const Tensor<T>& x);

}  // namespace tapegrad
