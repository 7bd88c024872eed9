#include <tapegrad/nn/loss.hpp>

#include <fmt/format.h>

namespace tapegrad::nn {

namespace {

const char* reduction_name(Reduction r) {
    switch (r) {
        case Reduction::Mean:
            return "mean";
        case Reduction::Sum:
            return "sum";
        case Reduction::None:
            return "none";
        case Reduction::BatchMean:
            return "batchmean";
    }
    return "?";
}

/// An optional weight as to_string() shows it: "none" or its shape.
template <class T>
std::string weight_name(const Tensor<T>& weight) {
    return weight.defined() ? shape_str(weight.shape()) : "none";
}

/// Checks a module's options as its op will (so that a bad module fails when built, naming the module).
void check_reduction(const char* module, Reduction reduction) {
    if (reduction == Reduction::BatchMean) {
        fail<ValueError>("{}: Reduction::BatchMean is only for KLDivLoss; use Mean, Sum or None", module);
    }
}

template <class T>
void check_class_weight(const char* module, const Tensor<T>& weight) {
    if (weight.defined() && weight.ndim() != 1) {
        fail<ShapeError>("{}: weight has shape {}; expected [C], one per class", module, shape_str(weight.shape()));
    }
}

}  // namespace

template <class T>
MSELoss<T>::MSELoss(Reduction reduction) : reduction_(reduction) {
    check_reduction("MSELoss", reduction);
}

template <class T>
Tensor<T> MSELoss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) const {
    return mse_loss(pred, target, reduction_);
}

template <class T>
std::string MSELoss<T>::to_string() const {
    return fmt::format("MSELoss(reduction={})", reduction_name(reduction_));
}

template <class T>
L1Loss<T>::L1Loss(Reduction reduction) : reduction_(reduction) {
    check_reduction("L1Loss", reduction);
}

template <class T>
Tensor<T> L1Loss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) const {
    return l1_loss(pred, target, reduction_);
}

template <class T>
std::string L1Loss<T>::to_string() const {
    return fmt::format("L1Loss(reduction={})", reduction_name(reduction_));
}

template <class T>
SmoothL1Loss<T>::SmoothL1Loss(SmoothL1LossOptions options) : options_(options) {
    check_reduction("SmoothL1Loss", options.reduction);
    if (!(options.beta >= 0)) fail<ValueError>("SmoothL1Loss: beta is {}; it must be >= 0", options.beta);
}

template <class T>
Tensor<T> SmoothL1Loss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) const {
    return smooth_l1_loss(pred, target, options_.reduction, options_.beta);
}

template <class T>
std::string SmoothL1Loss<T>::to_string() const {
    return fmt::format("SmoothL1Loss(reduction={}, beta={})", reduction_name(options_.reduction), options_.beta);
}

template <class T>
HuberLoss<T>::HuberLoss(HuberLossOptions options) : options_(options) {
    check_reduction("HuberLoss", options.reduction);
    if (!(options.delta > 0)) fail<ValueError>("HuberLoss: delta is {}; it must be > 0", options.delta);
}

template <class T>
Tensor<T> HuberLoss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) const {
    return huber_loss(pred, target, options_.reduction, options_.delta);
}

template <class T>
std::string HuberLoss<T>::to_string() const {
    return fmt::format("HuberLoss(reduction={}, delta={})", reduction_name(options_.reduction), options_.delta);
}

template <class T>
CrossEntropyLoss<T>::CrossEntropyLoss(CrossEntropyOptions<T> options) : options_(std::move(options)) {
    check_reduction("CrossEntropyLoss", options_.reduction);
    check_class_weight("CrossEntropyLoss", options_.weight);
    if (!(options_.label_smoothing >= 0 && options_.label_smoothing <= 1)) {
        fail<ValueError>("CrossEntropyLoss: label_smoothing is {}; it must be in [0, 1]", options_.label_smoothing);
    }
}

template <class T>
Tensor<T> CrossEntropyLoss<T>::forward(const Tensor<T>& logits, const Labels& targets) const {
    return cross_entropy(logits, targets, options_);
}

template <class T>
Tensor<T> CrossEntropyLoss<T>::forward(const Tensor<T>& logits, const Tensor<T>& target) const {
    return cross_entropy(logits, target, options_);
}

template <class T>
std::string CrossEntropyLoss<T>::to_string() const {
    return fmt::format("CrossEntropyLoss(weight={}, ignore_index={}, label_smoothing={}, reduction={})",
                       weight_name(options_.weight), options_.ignore_index, options_.label_smoothing,
                       reduction_name(options_.reduction));
}

template <class T>
NLLLoss<T>::NLLLoss(NLLLossOptions<T> options) : options_(std::move(options)) {
    check_reduction("NLLLoss", options_.reduction);
    check_class_weight("NLLLoss", options_.weight);
}

template <class T>
Tensor<T> NLLLoss<T>::forward(const Tensor<T>& log_probs, const Labels& targets) const {
    return nll_loss(log_probs, targets, options_);
}

template <class T>
std::string NLLLoss<T>::to_string() const {
    return fmt::format("NLLLoss(weight={}, ignore_index={}, reduction={})", weight_name(options_.weight),
                       options_.ignore_index, reduction_name(options_.reduction));
}

template <class T>
BCELoss<T>::BCELoss(BCELossOptions<T> options) : options_(std::move(options)) {
    check_reduction("BCELoss", options_.reduction);
}

template <class T>
Tensor<T> BCELoss<T>::forward(const Tensor<T>& p, const Tensor<T>& target) const {
    return binary_cross_entropy(p, target, options_.weight, options_.reduction);
}

template <class T>
std::string BCELoss<T>::to_string() const {
    return fmt::format("BCELoss(weight={}, reduction={})", weight_name(options_.weight),
                       reduction_name(options_.reduction));
}

template <class T>
BCEWithLogitsLoss<T>::BCEWithLogitsLoss(BCEWithLogitsLossOptions<T> options) : options_(std::move(options)) {
    check_reduction("BCEWithLogitsLoss", options_.reduction);
}

template <class T>
Tensor<T> BCEWithLogitsLoss<T>::forward(const Tensor<T>& logits, const Tensor<T>& target) const {
    return binary_cross_entropy_with_logits(logits, target, options_.weight, options_.pos_weight, options_.reduction);
}

template <class T>
std::string BCEWithLogitsLoss<T>::to_string() const {
    return fmt::format("BCEWithLogitsLoss(weight={}, pos_weight={}, reduction={})", weight_name(options_.weight),
                       weight_name(options_.pos_weight), reduction_name(options_.reduction));
}

template <class T>
Tensor<T> KLDivLoss<T>::forward(const Tensor<T>& input, const Tensor<T>& target) const {
    return kl_div(input, target, options_.reduction, options_.log_target);
}

template <class T>
std::string KLDivLoss<T>::to_string() const {
    return fmt::format("KLDivLoss(reduction={}, log_target={})", reduction_name(options_.reduction),
                       options_.log_target);
}

#define TAPEGRAD_INSTANTIATE(T)          \
    template class MSELoss<T>;           \
    template class L1Loss<T>;            \
    template class SmoothL1Loss<T>;      \
    template class HuberLoss<T>;         \
    template class CrossEntropyLoss<T>;  \
    template class NLLLoss<T>;           \
    template class BCELoss<T>;           \
    template class BCEWithLogitsLoss<T>; \
    template class KLDivLoss<T>;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
