/// \file
/// Softmax family along one axis, stable for logits of any size (the max is subtracted).
#pragma once

#include <cstdint>

#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// y = e^(x - max) / sum e^(x - max).     d/dx = y * (grad - sum(grad * y, axis))
template <class T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t axis = -1);

/// y = x - logsumexp(x).     d/dx = grad - softmax(x) * sum(grad, axis)
template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t axis = -1);

/// log sum e^x = max + log sum e^(x - max).     d/dx = grad * softmax(x)
template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, std::int64_t axis = -1, bool keepdims = false);

}  // namespace tapegrad
