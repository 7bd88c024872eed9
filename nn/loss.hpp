// Loss modules over the loss ops in ops/loss.hpp. Each is a small callable object holding its
// options: `CrossEntropyLoss<float> criterion; auto loss = criterion(logits, labels);`.
#pragma once

#include <string>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/ops/loss.hpp>

namespace tapegrad::nn {

/// Mean (or sum) of squared differences; pred and target have the same shape.
template <class T = float>
class MSELoss {
public:
    explicit MSELoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    Tensor<T> forward(const Tensor<T>& pred, const Tensor<T>& target) const;
    Tensor<T> operator()(const Tensor<T>& pred, const Tensor<T>& target) const { return forward(pred, target); }
    std::string to_string() const;

private:
    Reduction reduction_;
};

struct CrossEntropyOptions {
    Reduction reduction = Reduction::Mean;
    /// In [0, 1]: the target becomes (1 - e) one_hot + e / classes. 0 (the default) is plain cross-entropy.
    double label_smoothing = 0.0;
};

/// Cross-entropy from logits (batch x classes) and class indices (one per row).
/// Throws ValueError if label_smoothing is outside [0, 1].
template <class T = float>
class CrossEntropyLoss {
public:
    explicit CrossEntropyLoss(CrossEntropyOptions options = {});
    Tensor<T> forward(const Tensor<T>& logits, const Labels& targets) const;
    Tensor<T> operator()(const Tensor<T>& logits, const Labels& targets) const { return forward(logits, targets); }
    const CrossEntropyOptions& options() const noexcept { return options_; }
    std::string to_string() const;

private:
    CrossEntropyOptions options_;
};

/// Binary cross-entropy on logits z against targets y in [0, 1] (same shape), computed stably.
template <class T = float>
class BCEWithLogitsLoss {
public:
    explicit BCEWithLogitsLoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    Tensor<T> forward(const Tensor<T>& logits, const Tensor<T>& target) const;
    Tensor<T> operator()(const Tensor<T>& logits, const Tensor<T>& target) const { return forward(logits, target); }
    std::string to_string() const;

private:
    Reduction reduction_;
};

/// Negative log-likelihood of log-probabilities (batch x classes, e.g. from LogSoftmax).
template <class T = float>
class NLLLoss {
public:
    explicit NLLLoss(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}
    Tensor<T> forward(const Tensor<T>& log_probs, const Labels& targets) const;
    Tensor<T> operator()(const Tensor<T>& log_probs, const Labels& targets) const {
        return forward(log_probs, targets);
    }
    std::string to_string() const;

private:
    Reduction reduction_;
};

}  // namespace tapegrad::nn
