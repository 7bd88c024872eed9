#include <tapegrad/nn/adam.hpp>

#include <cmath>
#include <map>

namespace tapegrad::optim {

namespace {

const AdamOptions& validated(const AdamOptions& o, const char* name) {
    check_option(o.beta1 >= 0 && o.beta1 < 1, name, "beta1", o.beta1, "in [0, 1)");
    check_option(o.beta2 >= 0 && o.beta2 < 1, name, "beta2", o.beta2, "in [0, 1)");
    check_option(o.eps >= 0 && std::isfinite(o.eps), name, "eps", o.eps, ">= 0 and finite");
    check_option(*o.weight_decay >= 0 && std::isfinite(*o.weight_decay), name, "weight_decay", *o.weight_decay,
                 ">= 0 and finite");
    return o;
}

/// The options with weight_decay resolved: unset is PyTorch's default, 0 for Adam, 1e-2 for AdamW.
AdamOptions with_decay(AdamOptions o, bool decoupled) {
    o.weight_decay = o.weight_decay.value_or(decoupled ? 1e-2 : 0.0);
    return o;
}

}  // namespace

template <class T>
AdamBase<T>::AdamBase(std::vector<Tensor<T>> params, const AdamOptions& options, bool decoupled, const char* name)
    : Optimizer<T>(std::move(params), validated(with_decay(options, decoupled), name).lr, name),
      options_(with_decay(options, decoupled)),
      decoupled_(decoupled) {
    moments_.resize(this->params_.size());
}

// One fused loop per parameter; the moments are made (zero) on the parameter's first update.
template <class T>
void AdamBase<T>::update(std::size_t i) {
    Tensor<T>& param = this->params_[i];
    std::optional<Moments>& slot = moments_[i];
    const T* g = param.grad().value().data();
    auto& value = param.mutable_value();
    if (!slot) {
        slot.emplace();
        slot->exp_avg = xt::zeros<T>(value.shape());
        slot->exp_avg_sq = xt::zeros<T>(value.shape());
    }
    const auto t = static_cast<double>(++slot->step);
    const double lr = this->lr();
    const auto b1 = static_cast<T>(options_.beta1), b2 = static_cast<T>(options_.beta2);
    const auto step_size = static_cast<T>(lr / (1 - std::pow(options_.beta1, t)));
    const auto bc2_sqrt = static_cast<T>(std::sqrt(1 - std::pow(options_.beta2, t)));
    const auto eps = static_cast<T>(options_.eps);
    // Adam adds weight_decay p to the gradient (L2); AdamW shrinks p directly (decoupled).
    const double decay = *options_.weight_decay;
    const auto l2 = static_cast<T>(decoupled_ ? 0 : decay);
    const auto shrink = static_cast<T>(decoupled_ ? 1 - lr * decay : 1);
    T* p = value.data();
    T* m = slot->exp_avg.data();
    T* v = slot->exp_avg_sq.data();
    for (std::size_t k = 0, n = value.size(); k < n; ++k) {
        const T gk = g[k] + l2 * p[k];
        m[k] = b1 * m[k] + (1 - b1) * gk;
        v[k] = b2 * v[k] + (1 - b2) * gk * gk;
        p[k] = p[k] * shrink - step_size * m[k] / (std::sqrt(v[k]) / bc2_sqrt + eps);
    }
}

template <class T>
typename Optimizer<T>::State AdamBase<T>::buffers() const {
    typename Optimizer<T>::State out;
    for (std::size_t i = 0; i < moments_.size(); ++i) {
        if (!moments_[i]) continue;
        const auto index = std::to_string(i);
        out.emplace_back("step." + index, Tensor<T>(static_cast<T>(moments_[i]->step)));
        out.emplace_back("exp_avg." + index, Tensor<T>(moments_[i]->exp_avg));
        out.emplace_back("exp_avg_sq." + index, Tensor<T>(moments_[i]->exp_avg_sq));
    }
    return out;
}

template <class T>
void AdamBase<T>::load_buffers(const typename Optimizer<T>::State& state) {
    std::map<std::size_t, std::map<std::string, Tensor<T>>> by_param;
    for (const auto& [entry, tensor] : state) {
        auto [kind, i] = this->parse_state_name(entry);
        if (kind == "step") {
            const bool ok = tensor.defined() && tensor.numel() == 1 && tensor.item() >= 0 &&
                            std::floor(tensor.item()) == tensor.item();
            if (!ok)
                fail<ValueError>("{}::load_state: entry '{}' must be one non-negative whole number", this->name(),
                                 entry);
        } else if (kind == "exp_avg" || kind == "exp_avg_sq") {
            this->check_buffer(entry, tensor, i);
        } else {
            fail<ValueError>("{}::load_state: unknown entry '{}'", this->name(), entry);
        }
        by_param[i][kind] = tensor;
    }
    std::vector<std::optional<Moments>> moments(this->params_.size());
    for (auto& [i, parts] : by_param) {
        if (parts.size() != 3) {
            fail<ValueError>("{0}::load_state: parameter {1} needs step.{1}, exp_avg.{1} and exp_avg_sq.{1} together",
                             this->name(), i);
        }
        moments[i] = Moments{static_cast<std::int64_t>(parts["step"].item()), parts["exp_avg"].value(),
                             parts["exp_avg_sq"].value()};
    }
    moments_ = std::move(moments);
}

template <class T>
Adam<T>::Adam(std::vector<Tensor<T>> params, AdamOptions options)
    : AdamBase<T>(std::move(params), options, /*decoupled=*/false, "Adam") {}

template <class T>
AdamW<T>::AdamW(std::vector<Tensor<T>> params, AdamWOptions options)
    : AdamBase<T>(std::move(params), options, /*decoupled=*/true, "AdamW") {}

template <class T>
AdamOptions AdamBase<T>::options() const {
    AdamOptions o = options_;
    o.lr = this->lr();
    return o;
}

#define TAPEGRAD_INSTANTIATE(T) \
    template class AdamBase<T>; \
    template class Adam<T>;     \
    template class AdamW<T>;
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::optim
