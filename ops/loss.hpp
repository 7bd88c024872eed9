/// \file
/// Losses, as torch.nn.functional's (PyTorch 2.x semantics and defaults). Predictions have one
/// sample per row; the classification losses take logits [N, C] or [N, C, d1, ...] (class dim 1)
/// or one unbatched sample [C].
#pragma once

#include <cstdint>
#include <vector>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/tensor.hpp>

namespace tapegrad {

/// How a loss combines its terms: their mean, their sum, or None: the terms themselves (PyTorch's
/// reduction='none'; what per-sample weighting and DP-SGD need). The terms are per element for the
/// elementwise losses (mse, l1, smooth_l1, huber, the binary cross-entropies, kl_div,
/// margin_ranking), per sample for half_sum_squares and cosine_embedding_loss, and per target
/// position (the targets' shape) for cross_entropy and nll_loss. BatchMean is kl_div's
/// reduction='batchmean' (the sum divided by the batch size, dim 0); every other loss refuses it
/// with a ValueError, as PyTorch does.
enum class Reduction { Mean, Sum, None, BatchMean };

namespace detail {
/// ValueError naming op for Reduction::BatchMean, which is kl_div's alone (PyTorch's check).
void check_reduction(const char* op, Reduction reduction);
}  // namespace detail

/// cross_entropy's options: PyTorch's keyword arguments and their defaults, for designated
/// initialisers: `cross_entropy(z, y, {.weight = w, .ignore_index = 0, .label_smoothing = 0.1})`.
template <class T>
struct CrossEntropyOptions {
    /// Class weights, shape [C]; undefined (the default): every class weighs 1. With class-index
    /// targets it is a constant, as in PyTorch (whose backward refuses a weight that requires grad):
    /// ValueError if it requires grad while grad mode is on; with probability targets it is
    /// differentiated.
    Tensor<T> weight = {};
    /// Targets equal to it add 0 to the loss and to Mean's denominator, and get no gradient
    /// (class-index targets only; with probability targets it must stay negative, as in PyTorch).
    std::int64_t ignore_index = -100;
    /// e in [0, 1]: the target becomes (1 - e) target + e / C (PyTorch's label_smoothing).
    double label_smoothing = 0.0;
    /// Mean (the default), Sum or None.
    Reduction reduction = Reduction::Mean;
};

/// nll_loss's options: PyTorch's keyword arguments and their defaults.
template <class T>
struct NLLLossOptions {
    /// Class weights, shape [C] (a constant, as cross_entropy's); undefined: every class weighs 1.
    Tensor<T> weight = {};
    /// Targets equal to it add 0 to the loss and to Mean's denominator, and get no gradient.
    std::int64_t ignore_index = -100;
    /// Mean (the default), Sum or None.
    Reduction reduction = Reduction::Mean;
};

/// (pred - target)^2 per element, reduced (Mean: over all n elements); shapes must match
/// (torch.nn.functional.mse_loss, which would broadcast with a warning: ShapeError here).
///   d/dpred = 2 (pred - target) / n      d/dtarget = -d/dpred
///   tangent: dl = 2 (pred - target) (dpred - dtarget) / n (composed: the rules of sub, mul and mean)
template <class T>
Tensor<T> mse_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::Mean);

/// 1/2 sum (pred - target)^2, the classic backpropagation cost (docs/PROOFS.md F09). Sum: over everything; Mean:
/// divided by the batch size (rows), i.e. the mean over samples of each sample's cost; None: each sample's cost
/// (shape [batch]).   d/dpred = pred - target (/ batch)
template <class T>
Tensor<T> half_sum_squares(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::Sum);

/// |pred - target| per element, reduced; shapes must match (torch.nn.functional.l1_loss).
///   d/dpred = sign(pred - target) (/ n)   (0 where they are equal, PyTorch's)   d/dtarget = -d/dpred
template <class T>
Tensor<T> l1_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::Mean);

/// With d = pred - target: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, per element
/// (torch.nn.functional.smooth_l1_loss; beta = 0 is l1_loss). Computed as q (d - q/2) / beta with
/// q = clamp(d, -beta, beta). ValueError for a negative or NaN beta; shapes must match.
///   d/dpred = clamp(d / beta, -1, 1) (/ n)      d/dtarget = -d/dpred
template <class T>
Tensor<T> smooth_l1_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::Mean,
                         double beta = 1.0);

/// With d = pred - target: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), per element
/// (torch.nn.functional.huber_loss: delta * smooth_l1_loss with beta = delta). Computed as
/// q (d - q/2) with q = clamp(d, -delta, delta). ValueError unless delta > 0; shapes must match.
///   d/dpred = clamp(d, -delta, delta) (/ n)      d/dtarget = -d/dpred
template <class T>
Tensor<T> huber_loss(const Tensor<T>& pred, const Tensor<T>& target, Reduction reduction = Reduction::Mean,
                     double delta = 1.0);

/// Cross-entropy from logits and class indices (torch.nn.functional.cross_entropy): logits [N, C]
/// with targets [N], [N, C, d1, ...] with targets [N, d1, ...], or [C] with a 0-d target. Per
/// target position, with w the class weights (all 1 without) and e the label smoothing:
///   l = (1 - e) w_t (-log_softmax(z)_t) + (e / C) sum_c w_c (-log_softmax(z)_c),   0 where t = ignore_index;
/// Mean divides the sum by the sum of w_t over the targets that are not ignored (PyTorch's; NaN
/// when every target is ignored or there are none, as in PyTorch 2.x, whose gradient is then 0).
/// nll_loss(log_softmax(logits)) fused into one node, one pass per row; its backward is the closed
/// form below, composed from ops under create_graph, so it is twice differentiable.
///   d/dlogits = (s softmax(z) - T) (/ the Mean denominator), with T_c = (1 - e) w_t [c = t] + (e / C) w_c
///               and s = sum_c T_c; 0 for ignored targets
///   tangent: dl = sum_c (s softmax(z) - T)_c dz_c per position (/ the Mean denominator), summed
///            over the positions unless Reduction::None
/// ShapeError for mismatched shapes or a weight not of shape [C]; IndexError for a target outside
/// [0, C) that is not ignore_index; ValueError for label_smoothing outside [0, 1], a weight that
/// requires grad, or Reduction::BatchMean.
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Labels& targets, const CrossEntropyOptions<T>& options);

/// cross_entropy(logits, targets, {.label_smoothing = label_smoothing, .reduction = reduction}).
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Labels& targets, Reduction reduction = Reduction::Mean,
                        double label_smoothing = 0.0);

/// Cross-entropy from logits and a target distribution of the logits' shape (PyTorch's
/// probability targets), label smoothing applied to it first (y' = (1 - e) y + e / C):
///   l = -sum_c w_c y'_c log_softmax(z)_c per sample; Mean divides by the number of samples
///   (numel / C, NaN for none), not by the weights (PyTorch's). Composed from ops.
///   d/dlogits = softmax(z) sum_c w_c y'_c - w y'      d/dtarget = -(1 - e) w log_softmax(z)
///   d/dweight = -sum over samples of y' log_softmax(z)
/// ShapeError unless target has the logits' shape and weight is [C]; ValueError for
/// label_smoothing outside [0, 1], an ignore_index >= 0 (PyTorch's check) or Reduction::BatchMean.
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& target, const CrossEntropyOptions<T>& options);

/// cross_entropy(logits, target, {.reduction = reduction}) with probability targets.
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const Tensor<T>& target, Reduction reduction = Reduction::Mean);

/// Negative log-likelihood of log-probabilities (torch.nn.functional.nll_loss), shapes as
/// cross_entropy's: l = -w_t log_probs[t] per target position, 0 where t = ignore_index; Mean
/// divides by the sum of w_t over the targets not ignored (NaN when all are, PyTorch's).
///   d/dlog_probs = -w_t at each target (/ the Mean denominator), 0 elsewhere and for ignored targets
///   tangent: dl = -w_t dlog_probs[t] per target (/ the Mean denominator; summed unless None)
/// Errors as cross_entropy's.
template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Labels& targets, const NLLLossOptions<T>& options);

/// nll_loss(log_probs, targets, {.reduction = reduction}).
template <class T>
Tensor<T> nll_loss(const Tensor<T>& log_probs, const Labels& targets, Reduction reduction = Reduction::Mean);

/// -weight (y log p + (1 - y) log(1 - p)) per element on probabilities p, each log clamped at -100
/// (as PyTorch) so that p = 0 or 1 gives a finite loss (torch.nn.functional.binary_cross_entropy).
/// weight (undefined: 1) broadcasts to p's shape. ValueError for a p outside [0, 1] (PyTorch's
/// check); ShapeError unless y has p's shape and weight broadcasts to it.
///   d/dp = weight (p - y) / max(p (1 - p), 1e-12)      d/dy = weight (log(1 - p) - log p), logs clamped
///   d/dweight = the unweighted terms (PyTorch does not differentiate weight)
///   tangent: dl = weight ((p - y) / max(p (1 - p), 1e-12) dp + (log(1 - p) - log p) dy)
template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& p, const Tensor<T>& y, const Tensor<T>& weight,
                               Reduction reduction = Reduction::Mean);

/// binary_cross_entropy(p, y, no weight, reduction).
template <class T>
Tensor<T> binary_cross_entropy(const Tensor<T>& p, const Tensor<T>& y, Reduction reduction = Reduction::Mean);

/// binary_cross_entropy(sigmoid(z), y) with weights, computed stably
/// (torch.nn.functional.binary_cross_entropy_with_logits): per element
///   l = weight ((1 - y) z + (1 + (pos_weight - 1) y) softplus(-z)),  softplus(-z) = log1p(e^-|z|) + max(-z, 0),
/// finite for any |z|. pos_weight weighs the positive term (one per class: shape [C] broadcasts
/// along the last dim); weight rescales each element. Both broadcast to z's shape; undefined: 1.
///   d/dz = weight ((1 - y) - (1 + (pos_weight - 1) y) sigmoid(-z))   (sigmoid(z) - y without pos_weight)
///   d/dy = weight (-z + (pos_weight - 1) softplus(-z))
///   d/dpos_weight = weight y softplus(-z)      d/dweight = the unweighted terms
/// ShapeError unless y has z's shape and weight and pos_weight broadcast to it.
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& z, const Tensor<T>& y, const Tensor<T>& weight,
                                           const Tensor<T>& pos_weight = {}, Reduction reduction = Reduction::Mean);

/// binary_cross_entropy_with_logits(z, y, no weight, no pos_weight, reduction).
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& z, const Tensor<T>& y,
                                           Reduction reduction = Reduction::Mean);

/// Kullback-Leibler divergence of target from input, input holding log-probabilities
/// (torch.nn.functional.kl_div): per element t (log t - input), 0 where t = 0; with log_target,
/// e^t (t - input), t holding log-probabilities too. Mean is the mean over all elements (PyTorch's
/// 'mean', which it warns about); BatchMean, the sum divided by the batch size (dim 0, none for a
/// 0-d input), is the KL divergence's definition (PyTorch's 'batchmean'). ShapeError unless the
/// shapes match (PyTorch broadcasts); ValueError for a negative target when not log_target (NaN in
/// PyTorch).
///   d/dinput = -t (-e^t with log_target)
///   d/dtarget = log t + 1 - input; -input where t = 0 (log t + 1 taken as 0 there, finite where PyTorch
///               1.x gives 0 and 2.x NaN); e^t (t + 1 - input) with log_target
template <class T>
Tensor<T> kl_div(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::Mean,
                 bool log_target = false);

/// Per sample, with cos = x1 . x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12)) along the last dim:
/// 1 - cos where y = 1, max(0, cos - margin) where y = -1 (torch.nn.functional.cosine_embedding_loss,
/// its epsilon). x1 and x2 are [N, D] with y [N], or [D] with a 0-d y. ShapeError for other shapes;
/// ValueError for a y other than 1 or -1 (PyTorch counts those as 0) or Reduction::BatchMean.
///   d/dx1 = -dcos/dx1 where y = 1, dcos/dx1 where y = -1 and cos > margin, else 0 (likewise x2);
///   dcos/dx1 = x2 / sqrt(m1 m2) - cos x1 / m1, m = |x|^2 + 1e-12; y gets no gradient
template <class T>
Tensor<T> cosine_embedding_loss(const Tensor<T>& x1, const Tensor<T>& x2, const Tensor<T>& y, double margin = 0.0,
                                Reduction reduction = Reduction::Mean);

/// max(0, -y (x1 - x2) + margin) per element (torch.nn.functional.margin_ranking_loss); the three
/// shapes must match (ShapeError).
///   d/dx1 = -y where -y (x1 - x2) + margin >= 0, else 0 (PyTorch's clamp_min)   d/dx2 = -d/dx1
///   d/dy = -(x1 - x2) there
template <class T>
Tensor<T> margin_ranking_loss(const Tensor<T>& x1, const Tensor<T>& x2, const Tensor<T>& y, double margin = 0.0,
                              Reduction reduction = Reduction::Mean);

}  // namespace tapegrad
