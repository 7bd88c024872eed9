#include <tapegrad/nn/adam.hpp>

#include <algorithm>
#include <cmath>

namespace tapegrad::optim {

namespace {

void validate(const AdamOptions& o, const std::string& who) {
    check_option(o.beta1 >= 0 && o.beta1 < 1, who, "beta1", o.beta1, "in [0, 1)");
    check_option(o.beta2 >= 0 && o.beta2 < 1, who, "beta2", o.beta2, "in [0, 1)");
    check_option(o.eps >= 0 && std::isfinite(o.eps), who, "eps", o.eps, ">= 0 and finite");
    check_option(*o.weight_decay >= 0 && std::isfinite(*o.weight_decay), who, "weight_decay", *o.weight_decay,
                 ">= 0 and finite");
}

/// The options with weight_decay resolved: unset is PyTorch's default, 0 for Adam, 1e-2 for AdamW.
AdamOptions with_decay(AdamOptions o, bool decoupled) {
    o.weight_decay = o.weight_decay.value_or(decoupled ? 1e-2 : 0.0);
    return o;
}

enum Buffer : std::size_t { kExpAvg, kExpAvgSq, kMaxExpAvgSq };

}  // namespace

template <class T>
AdamBase<T>::AdamBase(const std::vector<AdamGroup<T>>& groups, const AdamOptions& defaults, bool decoupled,
                      const char* name)
    : GroupedOptimizer<T, AdamOptions>(groups, with_decay(defaults, decoupled),
                                       {name,
                                        validate,
                                        &AdamOptions::beta1,
                                        "beta1",
                                        {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
                                        /*counts_steps=*/true}),
      decoupled_(decoupled) {}

template <class T>
typename Optimizer<T>::Need AdamBase<T>::need(std::size_t k, std::size_t group) const {
    if (k != kMaxExpAvgSq) return Optimizer<T>::Need::Required;
    return this->group_options_[group].amsgrad ? Optimizer<T>::Need::Required : Optimizer<T>::Need::Refused;
}

// One fused loop per parameter; the moments are made (zero) on the parameter's first update.
template <class T>
void AdamBase<T>::update(std::size_t i) {
    const std::size_t group = this->group_[i];
    const AdamOptions& o = this->group_options_[group];
    Tensor<T>& param = this->params_[i];
    const T* g = param.grad().value().data();
    auto& value = param.mutable_value();
    auto& slot = this->slot(i);
    T* m = this->buffer(slot, kExpAvg, i).data();
    T* v = this->buffer(slot, kExpAvgSq, i).data();
    T* v_max = o.amsgrad ? this->buffer(slot, kMaxExpAvgSq, i).data() : nullptr;
    const auto t = static_cast<double>(++slot.step);
    const double lr = this->lr(group);
    const auto b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2);
    const auto step_size = static_cast<T>(lr / (1 - std::pow(o.beta1, t)));
    const auto bc2_sqrt = static_cast<T>(std::sqrt(1 - std::pow(o.beta2, t)));
    const auto eps = static_cast<T>(o.eps);
    // Adam adds weight_decay p to the gradient (L2); AdamW shrinks p directly (decoupled).
    const double decay = *o.weight_decay;
    const auto l2 = static_cast<T>(decoupled_ ? 0 : decay);
    const auto shrink = static_cast<T>(decoupled_ ? 1 - lr * decay : 1);
    const T sign = o.maximize ? -1 : 1;
    T* p = value.data();
    for (std::size_t k = 0, n = value.size(); k < n; ++k) {
        const T gk = sign * g[k] + l2 * p[k];
        m[k] = b1 * m[k] + (1 - b1) * gk;
        v[k] = b2 * v[k] + (1 - b2) * gk * gk;
        T denom = v[k];
        if (v_max) denom = v_max[k] = std::max(v_max[k], v[k]);
        p[k] = p[k] * shrink - step_size * (m[k] / (std::sqrt(denom) / bc2_sqrt + eps));  // addcdiv
    }
}

template <class T>
Adam<T>::Adam(std::vector<Tensor<T>> params, AdamOptions options)
    : Adam(std::vector<AdamGroup<T>>{{.params = std::move(params)}}, options) {}

template <class T>
Adam<T>::Adam(const std::vector<AdamGroup<T>>& groups, AdamOptions defaults)
    : AdamBase<T>(groups, defaults, /*decoupled=*/false, "Adam") {}

template <class T>
AdamW<T>::AdamW(std::vector<Tensor<T>> params, AdamWOptions options)
    : AdamW(std::vector<AdamWGroup<T>>{{.params = std::move(params)}}, options) {}

template <class T>
AdamW<T>::AdamW(const std::vector<AdamWGroup<T>>& groups, AdamWOptions defaults)
    : AdamBase<T>(groups, defaults, /*decoupled=*/true, "AdamW") {}

#define TAPEGRAD_INSTANTIATE(T) \
    template class AdamBase<T>; \
    template class Adam<T>;     \
    template class AdamW<T>;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::optim
