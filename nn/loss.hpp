/// \file
/// Loss modules over the loss ops in ops/loss.hpp, as torch.nn's (names, options and defaults).
/// Each is a small callable object holding its options, checked when it is built:
/// `CrossEntropyLoss<float> criterion({.label_smoothing = 0.1}); auto loss = criterion(logits, labels);`.
#pragma once

#include <string>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/ops/loss.hpp>

namespace tapegrad::nn {

/// CrossEntropyLoss's settings: cross_entropy's options (ops/loss.hpp).
using tapegrad::CrossEntropyOptions;
/// NLLLoss's settings: nll_loss's options (ops/loss.hpp).
using tapegrad::NLLLossOptions;

/// Mean (or sum) of squared differences; pred and target have the same shape (torch.nn.MSELoss).
template <class T = float>
class MSELoss {
public:
    /// Mean (the default), Sum or None; ValueError for BatchMean.
    explicit MSELoss(Reduction reduction = Reduction::Mean);
    /// mse_loss(pred, target, reduction); ShapeError unless the shapes match.
    Tensor<T> forward(const Tensor<T>& pred, const Tensor<T>& target) const;
    /// forward(pred, target).
    Tensor<T> operator()(const Tensor<T>& pred, const Tensor<T>& target) const { return forward(pred, target); }
    /// "MSELoss(reduction=mean)".
    std::string to_string() const;

private:
    Reduction reduction_;
};

/// Mean (or sum) of absolute differences (torch.nn.L1Loss).
template <class T = float>
class L1Loss {
public:
    /// Mean (the default), Sum or None; ValueError for BatchMean.
    explicit L1Loss(Reduction reduction = Reduction::Mean);
    /// l1_loss(pred, target, reduction); ShapeError unless the shapes match.
    Tensor<T> forward(const Tensor<T>& pred, const Tensor<T>& target) const;
    /// forward(pred, target).
    Tensor<T> operator()(const Tensor<T>& pred, const Tensor<T>& target) const { return forward(pred, target); }
    /// "L1Loss(reduction=mean)".
    std::string to_string() const;

private:
    Reduction reduction_;
};

/// SmoothL1Loss's settings (torch.nn.SmoothL1Loss's arguments and defaults).
struct SmoothL1LossOptions {
    /// Mean (the default), Sum or None.
    Reduction reduction = Reduction::Mean;
    /// Where the loss turns from quadratic to linear; >= 0 (0 is L1Loss). Default 1.
    double beta = 1.0;
};

/// smooth_l1_loss: quadratic below beta, linear above (torch.nn.SmoothL1Loss).
template <class T = float>
class SmoothL1Loss {
public:
    /// ValueError for a negative or NaN beta, or Reduction::BatchMean.
    explicit SmoothL1Loss(SmoothL1LossOptions options = {});
    /// smooth_l1_loss(pred, target, reduction, beta); ShapeError unless the shapes match.
    Tensor<T> forward(const Tensor<T>& pred, const Tensor<T>& target) const;
    /// forward(pred, target).
    Tensor<T> operator()(const Tensor<T>& pred, const Tensor<T>& target) const { return forward(pred, target); }
    /// The options it was built with.
    const SmoothL1LossOptions& options() const noexcept { return options_; }
    /// "SmoothL1Loss(reduction=mean, beta=1)".
    std::string to_string() const;

private:
    SmoothL1LossOptions options_;
};

/// HuberLoss's settings (torch.nn.HuberLoss's arguments and defaults).
struct HuberLossOptions {
    /// Mean (the default), Sum or None.
    Reduction reduction = Reduction::Mean;
    /// Where the loss turns from quadratic to linear; > 0. Default 1.
    double delta = 1.0;
};

/// huber_loss: quadratic below delta, linear with slope delta above (torch.nn.HuberLoss).
template <class T = float>
class HuberLoss {
public:
    /// ValueError unless delta > 0, or for Reduction::BatchMean.
    explicit HuberLoss(HuberLossOptions options = {});
    /// huber_loss(pred, target, reduction, delta); ShapeError unless the shapes match.
    Tensor<T> forward(const Tensor<T>& pred, const Tensor<T>& target) const;
    /// forward(pred, target).
    Tensor<T> operator()(const Tensor<T>& pred, const Tensor<T>& target) const { return forward(pred, target); }
    /// The options it was built with.
    const HuberLossOptions& options() const noexcept { return options_; }
    /// "HuberLoss(reduction=mean, delta=1)".
    std::string to_string() const;

private:
    HuberLossOptions options_;
};

/// Cross-entropy from logits and class indices or class probabilities (torch.nn.CrossEntropyLoss);
/// its options are cross_entropy's (weight, ignore_index, label_smoothing, reduction).
template <class T = float>
class CrossEntropyLoss {
public:
    /// ValueError for label_smoothing outside [0, 1] or Reduction::BatchMean; ShapeError for a
    /// weight that is not 1-d.
    explicit CrossEntropyLoss(CrossEntropyOptions<T> options = {});
    /// cross_entropy(logits, targets, options) with class indices: logits [N, C] with targets [N],
    /// [N, C, d1, ...] with [N, d1, ...], or [C] with a 0-d target. ShapeError for other shapes or
    /// a weight not of shape [C]; IndexError for a target outside [0, C) that is not ignore_index.
    Tensor<T> forward(const Tensor<T>& logits, const Labels& targets) const;
    /// cross_entropy(logits, target, options) with class probabilities of the logits' shape.
    Tensor<T> forward(const Tensor<T>& logits, const Tensor<T>& target) const;
    /// forward(logits, targets) with class indices.
    Tensor<T> operator()(const Tensor<T>& logits, const Labels& targets) const { return forward(logits, targets); }
    /// forward(logits, target) with class probabilities.
    Tensor<T> operator()(const Tensor<T>& logits, const Tensor<T>& target) const { return forward(logits, target); }
    /// The options it was built with.
    const CrossEntropyOptions<T>& options() const noexcept { return options_; }
    /// "CrossEntropyLoss(weight=none, ignore_index=-100, label_smoothing=0, reduction=mean)"; a
    /// weight is shown by its shape.
    std::string to_string() const;

private:
    CrossEntropyOptions<T> options_;
};

/// Negative log-likelihood of log-probabilities, e.g. from LogSoftmax (torch.nn.NLLLoss); its
/// options are nll_loss's (weight, ignore_index, reduction).
template <class T = float>
class NLLLoss {
public:
    /// ValueError for Reduction::BatchMean; ShapeError for a weight that is not 1-d.
    explicit NLLLoss(NLLLossOptions<T> options = {});
    /// NLLLoss({.reduction = reduction}).
    explicit NLLLoss(Reduction reduction) : NLLLoss(NLLLossOptions<T>{.reduction = reduction}) {}
    /// nll_loss(log_probs, targets, options); shapes and errors as CrossEntropyLoss's.
    Tensor<T> forward(const Tensor<T>& log_probs, const Labels& targets) const;
    /// forward(log_probs, targets).
    Tensor<T> operator()(const Tensor<T>& log_probs, const Labels& targets) const {
        return forward(log_probs, targets);
    }
    /// The options it was built with.
    const NLLLossOptions<T>& options() const noexcept { return options_; }
    /// "NLLLoss(weight=none, ignore_index=-100, reduction=mean)".
    std::string to_string() const;

private:
    NLLLossOptions<T> options_;
};

/// BCELoss's settings (torch.nn.BCELoss's arguments and defaults).
template <class T>
struct BCELossOptions {
    /// Rescales each element's loss; broadcasts to the input's shape. Undefined (the default): none.
    Tensor<T> weight = {};
    /// Mean (the default), Sum or None.
    Reduction reduction = Reduction::Mean;
};

/// Binary cross-entropy on probabilities (torch.nn.BCELoss).
template <class T = float>
class BCELoss {
public:
    /// ValueError for Reduction::BatchMean.
    explicit BCELoss(BCELossOptions<T> options = {});
    /// binary_cross_entropy(p, target, weight, reduction); ShapeError unless the shapes match and
    /// weight broadcasts to them; ValueError for a p outside [0, 1].
    Tensor<T> forward(const Tensor<T>& p, const Tensor<T>& target) const;
    /// forward(p, target).
    Tensor<T> operator()(const Tensor<T>& p, const Tensor<T>& target) const { return forward(p, target); }
    /// The options it was built with.
    const BCELossOptions<T>& options() const noexcept { return options_; }
    /// "BCELoss(weight=none, reduction=mean)".
    std::string to_string() const;

private:
    BCELossOptions<T> options_;
};

/// BCEWithLogitsLoss's settings (torch.nn.BCEWithLogitsLoss's arguments and defaults).
template <class T>
struct BCEWithLogitsLossOptions {
    /// Rescales each element's loss; broadcasts to the logits' shape. Undefined (the default): none.
    Tensor<T> weight = {};
    /// Weighs the positive term, e.g. one per class (shape [C], along the last dim). Undefined: none.
    Tensor<T> pos_weight = {};
    /// Mean (the default), Sum or None.
    Reduction reduction = Reduction::Mean;
};

/// Binary cross-entropy on logits against targets in [0, 1], computed stably (torch.nn.BCEWithLogitsLoss).
template <class T = float>
class BCEWithLogitsLoss {
public:
    /// ValueError for Reduction::BatchMean.
    explicit BCEWithLogitsLoss(BCEWithLogitsLossOptions<T> options = {});
    /// BCEWithLogitsLoss({.reduction = reduction}).
    explicit BCEWithLogitsLoss(Reduction reduction)
        : BCEWithLogitsLoss(BCEWithLogitsLossOptions<T>{.reduction = reduction}) {}
    /// binary_cross_entropy_with_logits(logits, target, weight, pos_weight, reduction); ShapeError
    /// unless the shapes match and weight and pos_weight broadcast to them.
    Tensor<T> forward(const Tensor<T>& logits, const Tensor<T>& target) const;
    /// forward(logits, target).
    Tensor<T> operator()(const Tensor<T>& logits, const Tensor<T>& target) const { return forward(logits, target); }
    /// The options it was built with.
    const BCEWithLogitsLossOptions<T>& options() const noexcept { return options_; }
    /// "BCEWithLogitsLoss(weight=none, pos_weight=[3], reduction=mean)".
    std::string to_string() const;

private:
    BCEWithLogitsLossOptions<T> options_;
};

/// KLDivLoss's settings (torch.nn.KLDivLoss's arguments and defaults).
struct KLDivLossOptions {
    /// Mean (the default, over all elements: PyTorch's 'mean'), BatchMean (the KL divergence's
    /// definition: the sum over the batch size), Sum or None.
    Reduction reduction = Reduction::Mean;
    /// Whether the target holds log-probabilities too. Default false.
    bool log_target = false;
};

/// Kullback-Leibler divergence of a target distribution from input log-probabilities (torch.nn.KLDivLoss).
template <class T = float>
class KLDivLoss {
public:
    /// Any reduction; nothing to check.
    explicit KLDivLoss(KLDivLossOptions options = {}) : options_(options) {}
    /// kl_div(input, target, reduction, log_target); ShapeError unless the shapes match.
    Tensor<T> forward(const Tensor<T>& input, const Tensor<T>& target) const;
    /// forward(input, target).
    Tensor<T> operator()(const Tensor<T>& input, const Tensor<T>& target) const { return forward(input, target); }
    /// The options it was built with.
    const KLDivLossOptions& options() const noexcept { return options_; }
    /// "KLDivLoss(reduction=batchmean, log_target=false)".
    std::string to_string() const;

private:
    KLDivLossOptions options_;
};

}  // namespace tapegrad::nn
