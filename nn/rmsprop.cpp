#include <tapegrad/nn/rmsprop.hpp>

#include <cmath>

namespace tapegrad::optim {

namespace {

void validate(const RMSpropOptions& o, const std::string& who) {
    check_option(o.alpha >= 0 && std::isfinite(o.alpha), who, "alpha", o.alpha, ">= 0 and finite");
    check_option(o.eps >= 0 && std::isfinite(o.eps), who, "eps", o.eps, ">= 0 and finite");
    check_option(o.weight_decay >= 0 && std::isfinite(o.weight_decay), who, "weight_decay", o.weight_decay,
                 ">= 0 and finite");
    check_option(o.momentum >= 0 && std::isfinite(o.momentum), who, "momentum", o.momentum, ">= 0 and finite");
}

enum Buffer : std::size_t { kSquareAvg, kMomentumBuffer, kGradAvg };

}  // namespace

template <class T>
RMSprop<T>::RMSprop(std::vector<Tensor<T>> params, RMSpropOptions options)
    : RMSprop(std::vector<RMSpropGroup<T>>{{.params = std::move(params)}}, options) {}

template <class T>
RMSprop<T>::RMSprop(const std::vector<RMSpropGroup<T>>& groups, RMSpropOptions defaults)
    : GroupedOptimizer<T, RMSpropOptions>(groups, defaults,
                                          {"RMSprop",
                                           validate,
                                           &RMSpropOptions::momentum,
                                           "momentum",
                                           {"square_avg", "momentum_buffer", "grad_avg"},
                                           /*counts_steps=*/true}) {}

template <class T>
typename Optimizer<T>::Need RMSprop<T>::need(std::size_t k, std::size_t group) const {
    if (k == kSquareAvg) return Optimizer<T>::Need::Required;
    if (k == kGradAvg)
        return this->group_options_[group].centered ? Optimizer<T>::Need::Required : Optimizer<T>::Need::Refused;
    return Optimizer<T>::Need::Allowed;  // a schedule may change momentum: a buffer missing for momentum > 0 starts at
                                         // 0
}

// One fused loop per parameter; the buffers are made (zero) when first needed.
template <class T>
void RMSprop<T>::update(std::size_t i) {
    const std::size_t group = this->group_[i];
    const RMSpropOptions& o = this->group_options_[group];
    Tensor<T>& param = this->params_[i];
    const T* g = param.grad().value().data();
    auto& value = param.mutable_value();
    auto& slot = this->slot(i);
    ++slot.step;
    T* v = this->buffer(slot, kSquareAvg, i).data();
    T* a = o.centered ? this->buffer(slot, kGradAvg, i).data() : nullptr;
    T* b = o.momentum > 0 ? this->buffer(slot, kMomentumBuffer, i).data() : nullptr;
    const auto lr = static_cast<T>(this->lr(group));
    const auto alpha = static_cast<T>(o.alpha);
    const auto eps = static_cast<T>(o.eps);
    const auto wd = static_cast<T>(o.weight_decay);
    const auto momentum = static_cast<T>(o.momentum);
    const T sign = o.maximize ? -1 : 1;
    T* p = value.data();
    for (std::size_t k = 0, n = value.size(); k < n; ++k) {
        const T gk = sign * g[k] + wd * p[k];
        v[k] = alpha * v[k] + (1 - alpha) * gk * gk;
        T second = v[k];
        if (a) {
            a[k] = alpha * a[k] + (1 - alpha) * gk;
            second -= a[k] * a[k];
        }
        const T d = std::sqrt(second) + eps;
        if (b) {
            b[k] = momentum * b[k] + gk / d;
            p[k] -= lr * b[k];
        } else {
            p[k] -= lr * (gk / d);  // addcdiv: value * (g / d), as PyTorch rounds it
        }
    }
}

template class RMSprop<float>;
template class RMSprop<double>;

}  // namespace tapegrad::optim
