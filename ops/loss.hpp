/// \file
/// Losses. Predictions are batch x ... with one sample per row.
#pragma once

#include <cstdint>
#include <vector>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// How a loss combines its per-element (or per-sample) terms: their mean, their sum, or None: the
/// terms themselves (PyTorch's reduction='none'; what per-sample weighting and DP-SGD need), per
/// element for mse_loss and the binary cross-entropies, per sample (shape [batch]) for
/// cross_entropy, nll_loss and half_sum_squares.
enum class Reduction { Mean, Sum, None };

/// (1/n) sum (pred - target)^2 over all n elements (Sum: without 1/n); shapes must match.
///   d/dpred = 2 (pred - target) / n
template <class T>
Tensor<T> mse_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::Mean);

/// 1/2 sum (pred - target)^2, the classic backpropagation cost (docs/PROOFS.md F09). Sum: over everything; Mean:
/// divided by the batch size (rows), i.e. the mean over samples of each sample's cost; None: each sample's cost
/// (shape [batch]).   d/dpred = pred - target (/ batch)
template <class T>
Tensor<T> half_sum_squares(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::Sum);

/// Cross-entropy from logits (batch x classes) and class indices, nll_loss(log_softmax(logits))
/// fused into one node whose backward is the closed form (one pass; composed from ops under
/// create_graph, so it is twice differentiable). label_smoothing e mixes the one-hot target with
/// the uniform distribution: (1-e) onehot + e/C.
/// Mean: over the batch.   d/dlogits = softmax(logits) - target distribution (/ batch)
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Labels& targets, Reduction reduction = Reduction::Mean,
                        double label_smoothing = 0.0);

/// Cross-entropy from logits and a target distribution per row (same shape):
/// -sum_j y_j log_softmax(z)_j.   d/dlogits = softmax(z) sum_j y_j - y   (docs/PROOFS.md)
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& target_probs, Reduction reduction = Reduction::Mean);

/// Negative log-likelihood of log-probabilities (batch x classes): -log_probs[i, targets[i]].
///   d/dlog_probs = -1 at each target (/ batch), 0 elsewhere
template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Labels& targets, Reduction reduction = Reduction::Mean);

/// -(y log p + (1 - y) log(1 - p)) on probabilities, each log clamped at -100 (as PyTorch) so
/// that p = 0 or 1 gives a finite loss. Mean: over all elements.
///   d/dp = grad * (p - y) / max(p (1 - p), 1e-12)      d/dy = grad * (log(1 - p) - log p)
template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& p, const Tensor<T>& y, Reduction reduction = Reduction::Mean);

/// binary_cross_entropy(sigmoid(z), y) computed stably as softplus(z) - y z (finite for any |z|).
///   d/dz = sigmoid(z) - y      d/dy = -z
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& z, const Tensor<T>& y,
                                           Reduction reduction = Reduction::Mean);

}  // namespace tapegrad
