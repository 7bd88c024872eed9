#include <tapegrad/nn/optimizer.hpp>

#include <cctype>
#include <cmath>
#include <optional>
#include <unordered_map>

#include <tapegrad/autograd/grad_mode.hpp>

namespace tapegrad::optim {

void check_option(bool ok, const char* optimizer, const char* option, double value, const char* rule) {
    if (!ok) fail<ValueError>("{}: {} is {}; it must be {}", optimizer, option, value, rule);
}

void OptimizerBase::set_lr(double lr) {
    check_option(lr >= 0 && std::isfinite(lr), name().c_str(), "lr", lr, ">= 0 and finite");
    lr_ = lr;
}

template <class T>
Optimizer<T>::Optimizer(std::vector<Tensor<T>> params, double lr, const char* name)
    : OptimizerBase(lr), params_(std::move(params)) {
    check_option(lr >= 0 && std::isfinite(lr), name, "lr", lr, ">= 0 and finite");
    if (params_.empty()) fail<ValueError>("{}: the parameter list is empty", name);
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const auto& p = params_[i];
        if (!p.defined()) fail<ValueError>("{}: parameter {} is an undefined tensor", name, i);
        if (!p.is_leaf())
            fail<ValueError>("{}: parameter {} was made by '{}'; only leaves can be optimised", name, i,
                             p.grad_fn_name());
        if (!p.requires_grad())
            fail<ValueError>("{}: parameter {} (shape {}) does not require grad", name, i, shape_str(p.shape()));
    }
    // The same tensor twice would be stepped twice per step(), each time with its own state.
    std::unordered_map<const void*, std::size_t> first;
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const auto [at, fresh] = first.emplace(params_[i].id(), i);
        if (!fresh)
            fail<ValueError>("{}: parameters {} and {} are the same tensor (shape {}); pass each parameter once", name,
                             at->second, i, shape_str(params_[i].shape()));
    }
    shapes_.reserve(params_.size());
    for (const auto& p : params_) shapes_.push_back(p.shape());
}

template <class T>
void Optimizer<T>::check_shapes(const char* method, bool gradients) const {
    for (std::size_t i = 0; i < params_.size(); ++i) {
        const Shape& now = params_[i].shape();
        if (now != shapes_[i])
            fail<ValueError>(
                "{}::{}: parameter {} had shape {} when the optimizer was built and now has shape {}; its state "
                "was made for the old shape (build a new optimizer)",
                name(), method, i, shape_str(shapes_[i]), shape_str(now));
        const Tensor<T>& g = params_[i].grad();
        if (gradients && g.defined() && g.shape() != now)
            fail<ShapeError>("{}::{}: parameter {} has shape {} but its gradient has shape {}", name(), method, i,
                             shape_str(now), shape_str(g.shape()));
    }
}

template <class T>
void Optimizer<T>::zero_grad() {
    for (auto& p : params_) p.zero_grad();
}

template <class T>
std::pair<std::string, std::size_t> Optimizer<T>::parse_state_name(const std::string& entry) const {
    const auto dot = entry.rfind('.');
    const std::string digits = dot == std::string::npos ? "" : entry.substr(dot + 1);
    bool numeric = !digits.empty() && digits.size() < 10;
    for (char c : digits) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
    if (!numeric)
        fail<ValueError>("{}::load_state: entry '{}' is not of the form <name>.<parameter index>", name(), entry);
    const std::size_t index = std::stoul(digits);
    if (index >= params_.size()) {
        fail<ValueError>("{}::load_state: entry '{}' refers to parameter {}, but there are {} parameters", name(),
                         entry, index, params_.size());
    }
    return {entry.substr(0, dot), index};
}

template <class T>
void Optimizer<T>::check_buffer(const std::string& entry, const Tensor<T>& buffer, std::size_t i) const {
    if (!buffer.defined() || buffer.shape() != shapes_[i]) {
        fail<ValueError>("{}::load_state: entry '{}' has shape {}, but parameter {} has shape {}", name(), entry,
                         buffer.defined() ? shape_str(buffer.shape()) : "undefined", i, shape_str(shapes_[i]));
    }
}

template <class T>
void Optimizer<T>::step() {
    NoGradGuard no_grad;
    check_shapes("step", /*gradients=*/true);  // every parameter before any is changed
    for (std::size_t i = 0; i < params_.size(); ++i) {
        if (params_[i].grad().defined()) update(i);
    }
}

template <class T>
typename Optimizer<T>::State Optimizer<T>::state() const {
    State out{{"lr", Tensor<T>(static_cast<T>(lr()))}};
    for (auto& entry : buffers()) out.push_back(std::move(entry));
    return out;
}

template <class T>
void Optimizer<T>::load_state(const State& state) {
    check_shapes("load_state", /*gradients=*/false);
    std::optional<double> lr;
    State rest;
    for (const auto& [entry, tensor] : state) {
        if (entry != "lr") {
            rest.emplace_back(entry, tensor);
            continue;
        }
        if (!tensor.defined() || tensor.numel() != 1)
            fail<ValueError>("{}::load_state: entry 'lr' must hold one number", name());
        lr = static_cast<double>(tensor.item());
        check_option(*lr >= 0 && std::isfinite(*lr), name().c_str(), "lr", *lr, ">= 0 and finite");
    }
    load_buffers(rest);  // replaces every buffer, or throws having changed nothing
    if (lr) set_lr(*lr);
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace tapegrad::optim
