/// \file
/// Loss modules over the loss ops in ops/loss.hpp. Each is a small callable object holding its
/// options: `CrossEntropyLoss<float> criterion; auto loss = criterion(logits, labels);`.
#pragma once

#include <string>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/ops/loss.hpp>

namespace tapegrad::nn {

/// Mean (or sum) of squared differences; pred and target have the same shape.
template <class T = float>
class MSELoss {
public:
    /// Averages (Mean, the default) or sums the squared differences.
    explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    /// mse_loss(pred, target, reduction); ShapeError unless the shapes match.
    Tensor<T> forward(const Tensor<T>& pred, const Tensor<T>& target) const;
    /// forward(pred, target).
    Tensor<T> operator()(const Tensor<T>& pred, const Tensor<T>& target) const { return forward(pred, target); }
    /// "MSELoss(reduction=mean)".
    std::string to_string() const;

private:
    Reduction reduction_;
};

/// CrossEntropyLoss's settings, as PyTorch's CrossEntropyLoss arguments.
struct CrossEntropyOptions {
    /// Mean over the batch (the default) or Sum.
    Reduction reduction = Reduction::Mean;
    /// In [0, 1]: the target becomes (1 - e) one_hot + e / classes. 0 (the default) is plain cross-entropy.
    double label_smoothing = 0.0;
};

/// Cross-entropy from logits (batch x classes) and class indices (one per row).
/// Throws ValueError if label_smoothing is outside [0, 1].
template <class T = float>
class CrossEntropyLoss {
public:
    /// Checks the options: ValueError for label_smoothing outside [0, 1].
    explicit CrossEntropyLoss(CrossEntropyOptions options = {});
    /// cross_entropy(logits, targets, reduction, label_smoothing). ShapeError unless logits is
    /// batch x classes with one target per row; ValueError for a target outside [0, classes).
    Tensor<T> forward(const Tensor<T>& logits, const Labels& targets) const;
    /// forward(logits, targets).
    Tensor<T> operator()(const Tensor<T>& logits, const Labels& targets) const { return forward(logits, targets); }
    /// The options it was built with.
    const CrossEntropyOptions& options() const noexcept { return options_; }
    /// "CrossEntropyLoss(reduction=mean, label_smoothing=0)".
    std::string to_string() const;

private:
    CrossEntropyOptions options_;
};

/// Binary cross-entropy on logits z against targets y in [0, 1] (same shape), computed stably.
template <class T = float>
class BCEWithLogitsLoss {
public:
    /// Averages (Mean, the default) or sums the per-element losses.
    explicit BCEWithLogitsLoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    /// binary_cross_entropy_with_logits(logits, target, reduction); ShapeError unless the shapes match.
    Tensor<T> forward(const Tensor<T>& logits, const Tensor<T>& target) const;
    /// forward(logits, target).
    Tensor<T> operator()(const Tensor<T>& logits, const Tensor<T>& target) const { return forward(logits, target); }
    /// "BCEWithLogitsLoss(reduction=mean)".
    std::string to_string() const;

private:
    Reduction reduction_;
};

/// Negative log-likelihood of log-probabilities (batch x classes, e.g. from LogSoftmax).
template <class T = float>
class NLLLoss {
public:
    /// Averages over the batch (Mean, the default) or sums.
    explicit NLLLoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    /// nll_loss(log_probs, targets, reduction). ShapeError unless log_probs is batch x classes
    /// with one target per row; ValueError for a target outside [0, classes).
    Tensor<T> forward(const Tensor<T>& log_probs, const Labels& targets) const;
    /// forward(log_probs, targets).
    Tensor<T> operator()(const Tensor<T>& log_probs, const Labels& targets) const {
        return forward(log_probs, targets);
    }
    /// "NLLLoss(reduction=mean)".
    std::string to_string() const;

private:
    Reduction reduction_;
};

}  // namespace tapegrad::nn
