#include <tapegrad/nn/module.hpp>

#include <sstream>
#include <unordered_set>

namespace tapegrad::nn {

namespace {

// Indents every line after the first, so a nested container's summary lines up under its key.
std::string indent_tail(const std::string& text, const std::string& pad) {
    std::string out;
    for (char c : text) {
        out += c;
        if (c == '\n') out += pad;
    }
    return out;
}

}  // namespace

template <class T>
std::string Module<T>::to_string() const {
    if (children_.empty()) return name() + "(" + extra_repr() + ")";
    std::ostringstream os;
    os << name() << "(";
    const std::string extra = extra_repr();
    if (!extra.empty()) os << "\n  " << extra;
    for (const auto& [key, child] : children_) os << "\n  (" << key << "): " << indent_tail(child->to_string(), "  ");
    os << "\n)";
    return os.str();
}

template <class T>
void Module<T>::collect(const std::string& prefix, std::vector<NamedTensor>& out) const {
    for (const auto& [key, param] : params_) out.emplace_back(prefix + key, param);
    for (const auto& [key, child] : children_) child->collect(prefix + key + ".", out);
}

template <class T>
std::vector<typename Module<T>::NamedTensor> Module<T>::named_parameters() const {
    std::vector<NamedTensor> all;
    collect("", all);
    // A tensor reached by two paths (a module registered twice, a tied weight) is listed once,
    // under its first name, so that an optimiser steps it once (PyTorch's remove_duplicate=True).
    std::unordered_set<const void*> seen;
    std::vector<NamedTensor> out;
    for (auto& named : all) {
        if (seen.insert(named.second.id()).second) out.push_back(std::move(named));
    }
    return out;
}

template <class T>
std::vector<Tensor<T>> Module<T>::parameters() const {
    std::vector<Tensor<T>> out;
    for (auto& [key, param] : named_parameters()) out.push_back(std::move(param));
    return out;
}

template <class T>
std::size_t Module<T>::num_parameters() const {
    std::size_t n = 0;
    for (const auto& param : parameters()) n += param.numel();
    return n;
}

template <class T>
void Module<T>::zero_grad() {
    for (auto& param : parameters()) param.zero_grad();
}

template <class T>
void Module<T>::train(bool on) {
    apply([on](Module<T>& m) { m.training_ = on; });
}

template <class T>
void Module<T>::apply(const std::function<void(Module<T>&)>& fn) {
    fn(*this);
    for (auto& [key, child] : children_) child->apply(fn);
}

template <class T>
Tensor<T> Module<T>::register_parameter(std::string name, Tensor<T> value) {
    if (!value.defined()) fail<ValueError>("{}: parameter '{}' is an undefined tensor", this->name(), name);
    for (const auto& [key, p] : params_) {
        if (key == name) fail<ValueError>("{}: parameter '{}' is registered twice", this->name(), name);
    }
    value.requires_grad_(true);
    params_.emplace_back(std::move(name), value);
    return value;
}

template <class T>
typename Module<T>::ModulePtr Module<T>::register_module(std::string name, ModulePtr child) {
    if (!child) fail<ValueError>("{}: child module '{}' is null", this->name(), name);
    for (const auto& [key, c] : children_) {
        if (key == name) fail<ValueError>("{}: child module '{}' is registered twice", this->name(), name);
    }
    children_.emplace_back(std::move(name), child);
    return child;
}

template class Module<float>;
template class Module<double>;

}  // namespace tapegrad::nn
