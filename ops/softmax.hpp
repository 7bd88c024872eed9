/// \file
/// Softmax family along one dim (negative counts from the end; -1, the default, is the last),
/// stable for logits of any size (the max is subtracted). A dim out of range is a ValueError.
#pragma once

#include <cstdint>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// y = e^(x - max) / sum e^(x - max) along dim (torch::softmax(x, dim)).
///   d/dx = y * (grad - sum(grad * y, dim))      tangent: dy = y * (dx - sum(dx * y, dim))
template <class T>
Tensor<T> softmax(const Tensor<T>& x, std::int64_t dim = -1);

/// y = x - logsumexp(x) along dim (torch::log_softmax(x, dim)).
///   d/dx = grad - softmax(x) * sum(grad, dim)      tangent: dy = dx - sum(softmax(x) * dx, dim)
template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, std::int64_t dim = -1);

/// log sum e^x = max + log sum e^(x - max) along dim (torch::logsumexp(x, dim, keepdim)); keepdim
/// leaves dim with size 1.     d/dx = grad * softmax(x)      tangent: dy = sum(softmax(x) * dx, dim)
template <class T>
Tensor<T> logsumexp(const Tensor<T>& x, std::int64_t dim = -1, bool keepdim = false);

namespace detail {

/// Internal: attention's softmax along the last dim (PyTorch's _safe_softmax). Scores where `keep`
/// (x's shape, when given) is false, or above the diagonal of the last two dims when is_causal
/// (key j > query i, PyTorch's tril(ones(L, S))), take no part; a row where nothing takes part
/// (every score masked or -inf) gives weights 0, not 0/0.
///   d/dx = y (grad - Σ grad y), which is 0 at the masked scores (y = 0 there)
///   tangent: dy = y (dx - Σ dx y)
template <class T>
Tensor<T> safe_softmax(const Tensor<T>& x, const Mask* keep, bool is_causal);

}  // namespace detail

}  // namespace tapegrad
