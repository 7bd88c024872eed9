#include <tapegrad/nn/module.hpp>

#include <sstream>

#include <fmt/format.h>

#include <tapegrad/autograd/grad_mode.hpp>
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
Tensor<T> Module<T>::forward(const Tensor<T>&) {
    fail<ValueError>("{}: this module does not take a single tensor; call its own forward", name());
}

template <class T>
void Module<T>::collect(const std::string& prefix, std::vector<NamedTensor> Module::*which,
                        std::vector<NamedTensor>& out) const {
    for (const auto& [key, tensor] : this->*which) out.emplace_back(prefix + key, tensor);
    for (const auto& [key, child] : children_) child->collect(prefix + key + ".", which, out);
}

namespace {

// A tensor reached by two paths (a module registered twice, a tied weight) is listed once,
// under its first name, so that an optimiser steps it once (PyTorch's remove_duplicate=True).
template <class Named>
std::vector<Named> first_of_each(std::vector<Named> all) {
    std::unordered_set<const void*> seen;
    std::vector<Named> out;
    for (auto& named : all) {
        if (seen.insert(named.second.id()).second) out.push_back(std::move(named));
    }
    return out;
}

}  // namespace

template <class T>
std::vector<typename Module<T>::NamedTensor> Module<T>::named_parameters() const {
    std::vector<NamedTensor> all;
    collect("", &Module::params_, all);
    return first_of_each(std::move(all));
}

template <class T>
std::vector<typename Module<T>::NamedTensor> Module<T>::named_buffers() const {
    std::vector<NamedTensor> all;
    collect("", &Module::buffers_, all);
    return first_of_each(std::move(all));
}

template <class T>
std::vector<Tensor<T>> Module<T>::buffers() const {
    std::vector<Tensor<T>> out;
    for (auto& [key, buffer] : named_buffers()) out.push_back(std::move(buffer));
    return out;
}

template <class T>
std::vector<typename Module<T>::ModulePtr> Module<T>::children() const {
    std::vector<ModulePtr> out;
    for (const auto& [key, child] : children_) out.push_back(child);
    return out;
}

template <class T>
void Module<T>::collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module<T>*>>& out) {
    for (const auto& [name, seen] : out) {
        if (seen == this) return;
    }
    out.emplace_back(prefix, this);
    for (auto& [key, child] : children_) child->collect_modules(prefix.empty() ? key : prefix + "." + key, out);
}

template <class T>
std::vector<std::pair<std::string, Module<T>*>> Module<T>::named_modules() {
    std::vector<std::pair<std::string, Module<T>*>> out;
    collect_modules("", out);
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

template <class T>
Tensor<T> Module<T>::register_buffer(std::string name, Tensor<T> value) {
    if (!value.defined()) fail<ValueError>("{}: buffer '{}' is an undefined tensor", this->name(), name);
    for (const auto& [key, b] : buffers_) {
        if (key == name) fail<ValueError>("{}: buffer '{}' is registered twice", this->name(), name);
    }
    buffers_.emplace_back(std::move(name), value);
    return value;
}

template <class T>
std::shared_ptr<Module<double>> Module<T>::to_float64() const {
    fail<ValueError>(
        "{}: no float64 copy; override to_float64() (build the Module<double> twin and "
        "return copy_state_to(twin)) or build the module in double",
        name());
}

namespace {

// Copies each named tensor of `from` into the tensor of the same name in `to`, converted.
template <class From, class To>
void copy_named(const std::string& what, const std::string& module, const From& from, const To& to) {
    if (from.size() != to.size())
        fail<ValueError>("{}::to_float64: the copy has {} {}s, the module {}", module, to.size(), what, from.size());
    for (std::size_t i = 0; i < from.size(); ++i) {
        const auto& [name, src] = from[i];
        auto dst = to[i].second;
        if (to[i].first != name || dst.shape() != src.shape())
            fail<ValueError>("{}::to_float64: {} '{}' of shape {} has no twin in the copy ('{}', shape {})", module,
                             what, name, fmt::join(src.shape(), ", "), to[i].first, fmt::join(dst.shape(), ", "));
        NoGradGuard no_grad;
        dst.mutable_value() = xt::cast<double>(src.value());
    }
}

}  // namespace

template <class T>
void Module<T>::copy_state_into(Module<double>& copy) const {
    copy_named("parameter", name(), named_parameters(), copy.named_parameters());
    copy_named("buffer", name(), named_buffers(), copy.named_buffers());
    copy.train(training_);
}

template class Module<float>;
template class Module<double>;

}  // namespace tapegrad::nn
