#include <tapegrad/nn/sgd.hpp>

#include <cmath>

namespace tapegrad::optim {

namespace {

const SGDOptions& validated(const SGDOptions& o) {
    if (std::isnan(o.lr)) fail<ValueError>("SGD: lr is required (SGDOptions::lr was not set)");
    check_option(o.momentum >= 0 && std::isfinite(o.momentum), "SGD", "momentum", o.momentum, ">= 0 and finite");
    check_option(std::isfinite(o.dampening), "SGD", "dampening", o.dampening, "finite");
    check_option(o.weight_decay >= 0 && std::isfinite(o.weight_decay), "SGD", "weight_decay", o.weight_decay,
                 ">= 0 and finite");
    if (o.nesterov && (o.momentum <= 0 || o.dampening != 0)) {
        fail<ValueError>("SGD: nesterov needs momentum > 0 and dampening 0 (momentum is {}, dampening is {})",
                         o.momentum, o.dampening);
    }
    return o;
}

}  // namespace

template <class T>
SGD<T>::SGD(std::vector<Tensor<T>> params, SGDOptions options)
    : Optimizer<T>(std::move(params), validated(options).lr, "SGD"), options_(options) {
    momentum_buffer_.resize(this->params_.size());
}

template <class T>
SGDOptions SGD<T>::options() const {
    SGDOptions o = options_;
    o.lr = this->lr();
    return o;
}

// One fused loop per parameter: no temporaries beyond the momentum buffer made on first use.
template <class T>
void SGD<T>::update(std::size_t i) {
    Tensor<T>& param = this->params_[i];
    std::optional<xt::xarray<T>>& buffer = momentum_buffer_[i];
    const T* g = param.grad().value().data();
    auto& value = param.mutable_value();
    T* p = value.data();
    const std::size_t n = value.size();
    const T lr = static_cast<T>(this->lr());
    const T wd = static_cast<T>(options_.weight_decay);
    const T momentum = static_cast<T>(options_.momentum);
    if (options_.momentum == 0) {
        for (std::size_t k = 0; k < n; ++k) p[k] -= lr * (g[k] + wd * p[k]);
        return;
    }
    const bool first = !buffer.has_value();
    if (first) buffer.emplace(xt::xarray<T>::from_shape(value.shape()));
    T* b = buffer->data();
    const T keep = static_cast<T>(1 - options_.dampening);
    for (std::size_t k = 0; k < n; ++k) {
        const T d = g[k] + wd * p[k];
        b[k] = first ? d : momentum * b[k] + keep * d;  // PyTorch starts the buffer at the first gradient
        p[k] -= lr * (options_.nesterov ? d + momentum * b[k] : b[k]);
    }
}

template <class T>
typename Optimizer<T>::State SGD<T>::buffers() const {
    typename Optimizer<T>::State out;
    for (std::size_t i = 0; i < momentum_buffer_.size(); ++i) {
        if (momentum_buffer_[i])
            out.emplace_back("momentum_buffer." + std::to_string(i), Tensor<T>(*momentum_buffer_[i]));
    }
    return out;
}

template <class T>
void SGD<T>::load_buffers(const typename Optimizer<T>::State& state) {
    std::vector<std::optional<xt::xarray<T>>> buffers(this->params_.size());
    for (const auto& [entry, tensor] : state) {
        auto [kind, i] = this->parse_state_name(entry);
        if (kind != "momentum_buffer") fail<ValueError>("SGD::load_state: unknown entry '{}'", entry);
        this->check_buffer(entry, tensor, i);
        buffers[i] = tensor.value();
    }
    momentum_buffer_ = std::move(buffers);
}

template class SGD<float>;
template class SGD<double>;

}  // namespace tapegrad::optim
