#include <tapegrad/nn/loss.hpp>

#include <fmt/format.h>

namespace tapegrad::nn {

namespace {
const char* reduction_name(Reduction r) {
    return r == Reduction::Mean ? "mean" : "sum";
}
}  // namespace

template <class T>
Tensor<T> MSELoss<T>::forward(const Tensor<T>& pred, const Tensor<T>& target) const {
    return mse_loss(pred, target, reduction_);
}

template <class T>
std::string MSELoss<T>::to_string() const {
    return fmt::format("MSELoss(reduction={})", reduction_name(reduction_));
}

template <class T>
CrossEntropyLoss<T>::CrossEntropyLoss(CrossEntropyOptions options) : options_(options) {
    if (!(options.label_smoothing >= 0 && options.label_smoothing <= 1)) {
        fail<ValueError>("CrossEntropyLoss: label_smoothing is {}; it must be in [0, 1]", options.label_smoothing);
    }
}

template <class T>
Tensor<T> CrossEntropyLoss<T>::forward(const Tensor<T>& logits, const Labels& targets) const {
    return cross_entropy(logits, targets, options_.reduction, options_.label_smoothing);
}

template <class T>
std::string CrossEntropyLoss<T>::to_string() const {
    return fmt::format("CrossEntropyLoss(reduction={}, label_smoothing={})", reduction_name(options_.reduction),
                       options_.label_smoothing);
}

template <class T>
Tensor<T> BCEWithLogitsLoss<T>::forward(const Tensor<T>& logits, const Tensor<T>& target) const {
    return binary_cross_entropy_with_logits(logits, target, reduction_);
}

template <class T>
std::string BCEWithLogitsLoss<T>::to_string() const {
    return fmt::format("BCEWithLogitsLoss(reduction={})", reduction_name(reduction_));
}

template <class T>
Tensor<T> NLLLoss<T>::forward(const Tensor<T>& log_probs, const Labels& targets) const {
    return nll_loss(log_probs, targets, reduction_);
}

template <class T>
std::string NLLLoss<T>::to_string() const {
    return fmt::format("NLLLoss(reduction={})", reduction_name(reduction_));
}

#define TAPEGRAD_INSTANTIATE(T)          \
    template class MSELoss<T>;           \
    template class CrossEntropyLoss<T>;  \
    template class BCEWithLogitsLoss<T>; \
    template class NLLLoss<T>;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
