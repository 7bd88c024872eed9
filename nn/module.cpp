#include <tapegrad/nn/module.hpp>

#include <algorithm>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include <xtensor/xnoalias.hpp>

#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/node.hpp>

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
Tensor<T> Module<T>::forward(const Indices&) {
    fail<ValueError>("{}: this module does not take Indices (token ids); call it on a tensor", name());
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
std::size_t Module<T>::num_parameters(bool trainable_only) const {
    std::size_t n = 0;
    for (const auto& param : parameters()) {
        if (!trainable_only || param.requires_grad()) n += param.numel();
    }
    return n;
}

template <class T>
std::string Module<T>::summary() const {
    // named_modules() only reads the tree; it is non-const because it hands out mutable pointers.
    const auto modules = const_cast<Module*>(this)->named_modules();
    std::vector<std::vector<std::string>> rows{{"Module", "Type", "Parameters", "Shapes"}};
    std::unordered_map<const void*, std::string> first_name;  // tensor -> where it was first counted
    for (const auto& [path, m] : modules) {
        std::size_t own = 0;
        std::vector<std::string> shapes;
        for (const auto& [key, p] : m->params_) {
            const std::string name = path.empty() ? key : path + "." + key;
            if (auto [at, fresh] = first_name.emplace(p.id(), name); !fresh) {
                shapes.push_back(key + " = " + at->second);
                continue;
            }
            own += p.numel();
            shapes.push_back(key + " " + shape_str(p.shape()) + (p.requires_grad() ? "" : " (frozen)"));
        }
        rows.push_back({path.empty() ? "(root)" : path, m->name(), std::to_string(own),
                        fmt::format("{}", fmt::join(shapes, ", "))});
    }
    std::vector<std::size_t> width(4, 0);
    for (const auto& row : rows) {
        for (std::size_t c = 0; c < 4; ++c) width[c] = std::max(width[c], row[c].size());
    }
    std::string out;
    for (const auto& row : rows) {
        // Counts right-aligned under their header; the last column is not padded.
        std::string line =
            fmt::format("{:<{}}  {:<{}}  {:>{}}  {}", row[0], width[0], row[1], width[1], row[2], width[2], row[3]);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out + fmt::format("Total parameters: {}\nTrainable parameters: {}", num_parameters(), num_parameters(true));
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
    for (auto& [path, module] : named_modules()) fn(*module);
}

template <class T>
Tensor<T> Module<T>::register_parameter(std::string name, Tensor<T> value, Slot slot) {
    if (!value.defined()) fail<ValueError>("{}: parameter '{}' is an undefined tensor", this->name(), name);
    for (const auto& [key, p] : params_) {
        if (key == name) fail<ValueError>("{}: parameter '{}' is registered twice", this->name(), name);
    }
    value.requires_grad_(true);
    params_.emplace_back(std::move(name), value);
    param_slots_.push_back(std::move(slot));
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
Tensor<T> Module<T>::register_buffer(std::string name, Tensor<T> value, Slot slot) {
    if (!value.defined()) fail<ValueError>("{}: buffer '{}' is an undefined tensor", this->name(), name);
    for (const auto& [key, b] : buffers_) {
        if (key == name) fail<ValueError>("{}: buffer '{}' is registered twice", this->name(), name);
    }
    buffers_.emplace_back(std::move(name), value);
    buffer_slots_.push_back(std::move(slot));
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

/// A module's hooks, one list per kind; shared by the module's copies.
template <class T>
struct Module<T>::Hooks {
    tapegrad::detail::HookList<ForwardPreHook> pre;
    tapegrad::detail::HookList<ForwardHook> forward;
    tapegrad::detail::HookList<BackwardHook> backward;
    tapegrad::detail::HookList<IndexForwardPreHook> index_pre;
    tapegrad::detail::HookList<IndexForwardHook> index_forward;

    bool empty() const noexcept {
        return pre.empty() && forward.empty() && backward.empty() && index_pre.empty() && index_forward.empty();
    }
    template <auto List>
    static void remove(void* self, std::uint64_t id) {
        (static_cast<Hooks*>(self)->*List).remove(id);
    }
};

/// One call's full backward hooks (PyTorch's BackwardHook): the output's gradient hook stores
/// grad_output; the input's gradient hook runs the user's hooks with both.
template <class T>
struct Module<T>::BackwardCall {
    Module<T>* module = nullptr;
    std::weak_ptr<Hooks> alive;  // expires with the module and its copies: then the hooks are skipped
    std::vector<std::shared_ptr<const BackwardHook>> hooks;
    bool input_hooked = false;
    Tensor<T> grad_output;

    // Runs the hooks; the result replaces grad_input when defined.
    Tensor<T> fire(const Tensor<T>& grad_input) {
        Tensor<T> out = std::exchange(grad_output, Tensor<T>());
        if (alive.expired()) return {};
        Tensor<T> replaced;
        for (std::size_t k = 0; k < hooks.size(); ++k) {
            Tensor<T> r = (*hooks[k])(*module, replaced.defined() ? replaced : grad_input, out);
            if (!r.defined()) continue;
            if (!input_hooked) {
                fail<AutogradError>(
                    "{}: full backward hook {} of {} returned a grad_input, but the module's input does not require "
                    "grad; return an undefined tensor",
                    module->name(), k + 1, hooks.size());
            }
            if (r.shape() != grad_input.shape()) {
                fail<ShapeError>(
                    "{}: full backward hook {} of {} returned a grad_input of shape {}, but the module's input has "
                    "shape {}",
                    module->name(), k + 1, hooks.size(), shape_str(r.shape()), shape_str(grad_input.shape()));
            }
            replaced = std::move(r);
        }
        return replaced;
    }
};

namespace {

// y = x, recorded so that a gradient hook on y sees exactly the gradient with respect to x.
//   d/dx = grad
template <class T>
Tensor<T> backward_hook_identity(const Tensor<T>& x) {
    xt::xarray<T> y = tapegrad::detail::take_buffer_like("BackwardHookFunction", x.value());
    xt::noalias(y) = x.value();
    return record<T>(
        "BackwardHookFunction", {x}, std::move(y), [](const Backward<T>& ctx) -> Grads<T> { return {ctx.grad()}; },
        [](const Forward<T>& ctx) { return ctx.tangent(0); });
}

}  // namespace

template <class T>
std::shared_ptr<typename Module<T>::Hooks> Module<T>::make_hooks() {
    return std::make_shared<Hooks>();
}

template <class T>
Tensor<T> Module<T>::operator()(const Tensor<T>& x) {
    if (hooks_->empty()) return forward(x);
    return call_hooked(x);
}

template <class T>
Tensor<T> Module<T>::operator()(const Indices& idx) {
    if (hooks_->empty()) return forward(idx);
    return call_hooked(idx);
}

// The call's full backward hooks, when there are some and grad mode is on (else none).
template <class T>
std::shared_ptr<typename Module<T>::BackwardCall> Module<T>::backward_call(const std::shared_ptr<Hooks>& hooks) {
    if (hooks->backward.empty() || !is_grad_enabled()) return nullptr;
    auto call = std::make_shared<BackwardCall>();
    call->module = this;
    call->alive = hooks;
    call->hooks = hooks->backward.snapshot();
    return call;
}

// The output's side of the full backward hooks: its gradient hook stores grad_output, and fires
// the hooks itself when the input is not hooked (it does not require grad, or is ids).
template <class T>
Tensor<T> Module<T>::hook_output(const std::shared_ptr<BackwardCall>& call, Tensor<T> output) {
    if (!call || !output.defined() || !output.requires_grad()) return output;
    output = backward_hook_identity(output);
    output.register_hook([call](const Tensor<T>& grad) -> Tensor<T> {
        call->grad_output = grad;
        if (!call->input_hooked) call->fire(Tensor<T>());
        return {};
    });
    return output;
}

template <class T>
Tensor<T> Module<T>::call_hooked(const Tensor<T>& x) {
    const auto hooks = hooks_;
    Tensor<T> input = x;
    for (const auto& hook : hooks->pre.snapshot()) {
        if (Tensor<T> r = (*hook)(*this, input); r.defined()) input = std::move(r);
    }
    const std::shared_ptr<BackwardCall> call = backward_call(hooks);
    if (call && input.requires_grad()) {
        call->input_hooked = true;
        input = backward_hook_identity(input);
        input.register_hook([call](const Tensor<T>& grad) { return call->fire(grad); });
    }
    Tensor<T> output = forward(input);
    for (const auto& hook : hooks->forward.snapshot()) {
        if (Tensor<T> r = (*hook)(*this, input, output); r.defined()) output = std::move(r);
    }
    return hook_output(call, std::move(output));
}

template <class T>
Tensor<T> Module<T>::call_hooked(const Indices& idx) {
    const auto hooks = hooks_;
    std::optional<Indices> replaced;  // the ids a pre-hook gave (they are not copied otherwise)
    for (const auto& hook : hooks->index_pre.snapshot()) {
        if (std::optional<Indices> r = (*hook)(*this, replaced ? *replaced : idx)) replaced = std::move(r);
    }
    const Indices& input = replaced ? *replaced : idx;
    const std::shared_ptr<BackwardCall> call = backward_call(hooks);
    Tensor<T> output = forward(input);
    for (const auto& hook : hooks->index_forward.snapshot()) {
        if (Tensor<T> r = (*hook)(*this, input, output); r.defined()) output = std::move(r);
    }
    return hook_output(call, std::move(output));
}

template <class T>
HookHandle Module<T>::register_forward_pre_hook(ForwardPreHook hook) {
    if (!hook) fail<ValueError>("{}: register_forward_pre_hook was given an empty std::function", name());
    const auto id = hooks_->pre.add(std::move(hook));
    return HookHandle(hooks_, &Hooks::template remove<&Hooks::pre>, id);
}

template <class T>
HookHandle Module<T>::register_forward_hook(ForwardHook hook) {
    if (!hook) fail<ValueError>("{}: register_forward_hook was given an empty std::function", name());
    const auto id = hooks_->forward.add(std::move(hook));
    return HookHandle(hooks_, &Hooks::template remove<&Hooks::forward>, id);
}

template <class T>
HookHandle Module<T>::register_full_backward_hook(BackwardHook hook) {
    if (!hook) fail<ValueError>("{}: register_full_backward_hook was given an empty std::function", name());
    const auto id = hooks_->backward.add(std::move(hook));
    return HookHandle(hooks_, &Hooks::template remove<&Hooks::backward>, id);
}

template <class T>
HookHandle Module<T>::register_index_forward_pre_hook(IndexForwardPreHook hook) {
    if (!hook) fail<ValueError>("{}: register_index_forward_pre_hook was given an empty std::function", name());
    const auto id = hooks_->index_pre.add(std::move(hook));
    return HookHandle(hooks_, &Hooks::template remove<&Hooks::index_pre>, id);
}

template <class T>
HookHandle Module<T>::register_index_forward_hook(IndexForwardHook hook) {
    if (!hook) fail<ValueError>("{}: register_index_forward_hook was given an empty std::function", name());
    const auto id = hooks_->index_forward.add(std::move(hook));
    return HookHandle(hooks_, &Hooks::template remove<&Hooks::index_forward>, id);
}

template class Module<float>;
template class Module<double>;

}  // namespace tapegrad::nn
