#include <tapegrad/nn/adagrad.hpp>

#include <cmath>

namespace tapegrad::optim {

namespace {

void validate(const AdagradOptions& o, const std::string& who) {
    check_option(o.lr_decay >= 0 && std::isfinite(o.lr_decay), who, "lr_decay", o.lr_decay, ">= 0 and finite");
    check_option(o.weight_decay >= 0 && std::isfinite(o.weight_decay), who, "weight_decay", o.weight_decay,
                 ">= 0 and finite");
    check_option(o.initial_accumulator_value >= 0 && std::isfinite(o.initial_accumulator_value), who,
                 "initial_accumulator_value", o.initial_accumulator_value, ">= 0 and finite");
    check_option(o.eps >= 0 && std::isfinite(o.eps), who, "eps", o.eps, ">= 0 and finite");
}

}  // namespace

template <class T>
Adagrad<T>::Adagrad(std::vector<Tensor<T>> params, AdagradOptions options)
    : Adagrad(std::vector<AdagradGroup<T>>{{.params = std::move(params)}}, options) {}

template <class T>
Adagrad<T>::Adagrad(const std::vector<AdagradGroup<T>>& groups, AdagradOptions defaults)
    : GroupedOptimizer<T, AdagradOptions>(groups, defaults,
                                          {"Adagrad", validate, nullptr, "", {"sum"}, /*counts_steps=*/true}) {}

// One fused loop per parameter; the sum is made (initial_accumulator_value) on the first update.
template <class T>
void Adagrad<T>::update(std::size_t i) {
    const std::size_t group = this->group_[i];
    const AdagradOptions& o = this->group_options_[group];
    Tensor<T>& param = this->params_[i];
    const T* g = param.grad().value().data();
    auto& value = param.mutable_value();
    auto& slot = this->slot(i);
    T* s = this->buffer(slot, 0, i, static_cast<T>(o.initial_accumulator_value)).data();
    const auto t = static_cast<double>(++slot.step);
    const auto clr = static_cast<T>(this->lr(group) / (1 + (t - 1) * o.lr_decay));
    const auto eps = static_cast<T>(o.eps);
    const auto wd = static_cast<T>(o.weight_decay);
    const T sign = o.maximize ? -1 : 1;
    T* p = value.data();
    for (std::size_t k = 0, n = value.size(); k < n; ++k) {
        const T gk = sign * g[k] + wd * p[k];
        s[k] += gk * gk;
        p[k] -= clr * (gk / (std::sqrt(s[k]) + eps));  // addcdiv: value * (g / d)
    }
}

template class Adagrad<float>;
template class Adagrad<double>;

}  // namespace tapegrad::optim
