#include <tapegrad/nn/sgd.hpp>

#include <cmath>

namespace tapegrad::optim {

namespace {

void validate(const SGDOptions& o, const std::string& who) {
    check_option(o.momentum >= 0 && std::isfinite(o.momentum), who, "momentum", o.momentum, ">= 0 and finite");
    check_option(std::isfinite(o.dampening), who, "dampening", o.dampening, "finite");
    check_option(o.weight_decay >= 0 && std::isfinite(o.weight_decay), who, "weight_decay", o.weight_decay,
                 ">= 0 and finite");
    if (o.nesterov && (o.momentum <= 0 || o.dampening != 0)) {
        fail<ValueError>("{}: nesterov needs momentum > 0 and dampening 0 (momentum is {}, dampening is {})", who,
                         o.momentum, o.dampening);
    }
}

}  // namespace

template <class T>
SGD<T>::SGD(std::vector<Tensor<T>> params, SGDOptions options)
    : SGD(std::vector<SGDGroup<T>>{{.params = std::move(params)}}, options) {}

template <class T>
SGD<T>::SGD(const std::vector<SGDGroup<T>>& groups, SGDOptions defaults)
    : GroupedOptimizer<T, SGDOptions>(
          groups, defaults, {"SGD", validate, &SGDOptions::momentum, "momentum", {"momentum_buffer"}, false, true}) {}

// One fused loop per parameter: no temporaries beyond the momentum buffer made on first use.
template <class T>
void SGD<T>::update(std::size_t i) {
    const std::size_t group = this->group_[i];
    const SGDOptions& o = this->group_options_[group];
    Tensor<T>& param = this->params_[i];
    const T* g = param.grad().value().data();
    auto& value = param.mutable_value();
    T* p = value.data();
    const std::size_t n = value.size();
    const auto lr = static_cast<T>(this->lr(group));
    const auto wd = static_cast<T>(o.weight_decay);
    const T sign = o.maximize ? -1 : 1;
    if (o.momentum == 0) {
        for (std::size_t k = 0; k < n; ++k) p[k] -= lr * (sign * g[k] + wd * p[k]);
        return;
    }
    auto& slot = this->slot(i);
    const bool first = !slot.buffers[0].has_value();  // PyTorch starts the buffer at the first gradient
    T* b = this->buffer(slot, 0, i).data();
    const auto momentum = static_cast<T>(o.momentum);
    const auto keep = static_cast<T>(1 - o.dampening);
    for (std::size_t k = 0; k < n; ++k) {
        const T d = sign * g[k] + wd * p[k];
        b[k] = first ? d : momentum * b[k] + keep * d;
        p[k] -= lr * (o.nesterov ? d + momentum * b[k] : b[k]);
    }
}

template class SGD<float>;
template class SGD<double>;

}  // namespace tapegrad::optim
