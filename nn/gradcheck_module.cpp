#include <tapegrad/nn/gradcheck_module.hpp>

#include <cmath>
#include <typeinfo>
#include <utility>

#include <fmt/format.h>

#include <tapegrad/autograd/engine.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/node.hpp>

namespace tapegrad::nn {

namespace {

using Inputs = std::vector<TensorD>;

// The backward of the identity: a copy's parameter passes its gradient on to the check's input.
struct PassGradient {
    Grads<double> operator()(const Backward<double>& ctx) const { return {ctx.grad()}; }
};

// Gives `parameter` (of a fresh copy, not yet used by any op) `source`'s value and, when recording,
// makes it the output of an identity op of `source`, so that the copy's forward is differentiated
// with respect to the check's own tensor: torch.func.functional_call, for modules that hold their
// parameters as members. Only the copy's tensors are touched, never the user's.
void bind(TensorD parameter, const TensorD& source) {
    auto* impl = detail::TensorAccess::impl(parameter);
    impl->value = source.value();
    impl->version = 0;  // a node expects its output at version 0 (a fresh output's)
    if (!source.requires_grad()) {
        parameter.requires_grad_(false);
    } else if (is_grad_enabled()) {
        detail::attach<double>(parameter, std::make_shared<detail::RuleNode<double, PassGradient>>(
                                              "parameter", Grads<double>{source}, PassGradient{}));
    }
}

// A fresh float64 copy of `module`, of its type.
template <class T>
std::shared_ptr<Module<double>> fresh_copy(const char* what, const Module<T>& module) {
    std::shared_ptr<Module<double>> copy;
    try {
        copy = module.to_float64();
    } catch (const ValueError& e) {
        fail<ValueError>("{}: {} is evaluated on fresh float64 copies (to_float64()), and copying it failed: {}", what,
                         module.name(), e.what());
    }
    if (!copy) fail<ValueError>("{}: {}::to_float64() returned null", what, module.name());
    // A subclass that inherits its parent's to_float64 would be checked as its parent: compare the
    // types (only the names across dtypes).
    bool same_type = copy->name() == module.name();
    if constexpr (std::is_same_v<T, double>) {
        const Module<double>& copied = *copy;
        same_type = same_type && typeid(copied) == typeid(module);
    }
    if (!same_type) {
        fail<ValueError>(
            "{}: {}::to_float64() makes a module of another type ({}), which would be checked in its place; "
            "override to_float64() in {}",
            what, module.name(), copy->name(), module.name());
    }
    return copy;
}

// Evaluates g twice on the same values and refuses a module whose outputs differ: finite
// differences of a random function measure its noise, not its gradient.
void check_deterministic(const char* what, const std::string& module, bool training, const CheckedFunction<double>& g,
                         const Inputs& all) {
    NoGradGuard no_grad;
    const TensorD a = g(all), b = g(all);
    const bool same_shape = a.shape() == b.shape();
    for (std::size_t e = 0; same_shape && e < a.numel(); ++e) {
        const double x = a.value().data()[e], y = b.value().data()[e];
        if (x == y || (std::isnan(x) && std::isnan(y))) continue;
        fail<ValueError>(
            "{}: {} gives different outputs for the same inputs (flat element {}: {} then {}){}; a gradient check "
            "needs the same function at every evaluation: {}",
            what, module, e, x, y, training ? " in training mode" : "",
            training ? "call eval() first (dropout), or reseed its generator in the function before each forward"
                     : "reseed its randomness in the function before each forward");
    }
    if (!same_shape) {
        fail<ValueError>("{}: {} gives outputs of shapes {} then {} for the same inputs", what, module,
                         shape_str(a.shape()), shape_str(b.shape()));
    }
}

// A function that calls the original module instead of the copy it is given would pass with zero
// gradients on both sides: refuse an output that depends on none of the copy's parameters.
void check_uses_copy(const char* what, const std::string& module, const CheckedFunction<double>& g, const Inputs& all,
                     std::size_t n_inputs) {
    Inputs xs, wrt;
    for (std::size_t i = 0; i < all.size(); ++i) {
        xs.push_back(all[i].to<double>(all[i].requires_grad()));
        if (i >= n_inputs && all[i].requires_grad()) wrt.push_back(xs.back());
    }
    if (wrt.empty()) return;
    GradModeGuard on(true);
    const TensorD y = g(xs);
    if (y.requires_grad()) {
        const Grads<double> grads = grad<double>({y}, wrt, {ones<double>(y.shape())}, std::nullopt, false, true);
        for (const auto& d : grads) {
            if (d.defined()) return;
        }
    }
    fail<ValueError>(
        "{}: the output depends on none of the parameters of {}; the function must call the module it is given "
        "(a fresh float64 copy), not the original",
        what, module);
}

template <class T>
GradcheckModuleResult check_module(const char* what, bool second_order, const Module<T>& module,
                                   const ModuleFunction& f, const std::vector<Tensor<T>>& inputs,
                                   const GradcheckOptions& options) {
    if (!f) fail<ValueError>("{}: the function is empty", what);
    // A float32 module is checked through its float64 copy, from which each evaluation copies.
    std::shared_ptr<Module<double>> converted;
    const Module<double>* source = nullptr;
    std::string label = module.name();
    if constexpr (std::is_same_v<T, float>) {
        converted = fresh_copy(what, module);
        source = converted.get();
        label += " (its float64 copy: the module is float32)";
    } else {
        source = &module;
    }
    // The check's inputs: the module's inputs, then its parameters (values copied, flags kept).
    Inputs all;
    std::vector<std::string> names;
    bool any = false;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!inputs[i].defined()) fail<ValueError>("{}: input {} of {} is undefined", what, i, label);
        all.push_back(inputs[i].template to<double>(inputs[i].requires_grad()));
        names.push_back(fmt::format("input {}", i));
        any = any || inputs[i].requires_grad();
    }
    for (const auto& [name, p] : module.named_parameters()) {
        all.push_back(p.template to<double>(p.requires_grad()));
        names.push_back(fmt::format("parameter '{}'", name));
        any = any || p.requires_grad();
    }
    if (!any) fail<ValueError>("{}: no parameter of {} and no input requires grad: nothing to check", what, label);

    const std::size_t n_inputs = inputs.size();
    const CheckedFunction<double> g = [&](const Inputs& xs) {
        const auto copy = fresh_copy(what, *source);
        const auto params = copy->named_parameters();
        for (std::size_t k = 0; k < params.size(); ++k) bind(params[k].second, xs[n_inputs + k]);
        const TensorD y = f(*copy, Inputs(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(n_inputs)));
        if (!y.defined()) fail<ValueError>("{}: the function returned an undefined tensor for {}", what, label);
        return y;
    };
    check_deterministic(what, label, module.is_training(), g, all);
    check_uses_copy(what, label, g, all, n_inputs);

    GradcheckModuleResult result;
    static_cast<GradcheckResult&>(result) =
        second_order ? gradgradcheck<double>(g, all, options) : gradcheck<double>(g, all, options);
    for (auto& m : result.reported) {
        if (m.input < names.size()) m.input_name = names[m.input];
    }
    result.what = fmt::format("{} of {}", what, label);
    result.module = std::move(label);
    result.names = std::move(names);
    return result;
}

Tensor<double> call_forward(Module<double>& m, const Inputs& in) {
    return m.forward(in[0]);
}

}  // namespace

template <class T>
GradcheckModuleResult gradcheck_module(const Module<T>& module, const Tensor<T>& x, const GradcheckOptions& options) {
    return check_module<T>("gradcheck_module", false, module, call_forward, {x}, options);
}

template <class T>
GradcheckModuleResult gradcheck_module(const Module<T>& module, const ModuleFunction& f,
                                       const std::type_identity_t<std::vector<Tensor<T>>>& inputs,
                                       const GradcheckOptions& options) {
    return check_module<T>("gradcheck_module", false, module, f, inputs, options);
}

template <class T>
GradcheckModuleResult gradgradcheck_module(const Module<T>& module, const Tensor<T>& x,
                                           const GradcheckOptions& options) {
    return check_module<T>("gradgradcheck_module", true, module, call_forward, {x}, options);
}

template <class T>
GradcheckModuleResult gradgradcheck_module(const Module<T>& module, const ModuleFunction& f,
                                           const std::type_identity_t<std::vector<Tensor<T>>>& inputs,
                                           const GradcheckOptions& options) {
    return check_module<T>("gradgradcheck_module", true, module, f, inputs, options);
}

#define TAPEGRAD_INSTANTIATE(T)                                                                                      \
    template GradcheckModuleResult gradcheck_module<T>(const Module<T>&, const Tensor<T>&, const GradcheckOptions&); \
    template GradcheckModuleResult gradcheck_module<T>(const Module<T>&, const ModuleFunction&,                      \
                                                       const std::vector<Tensor<T>>&, const GradcheckOptions&);      \
    template GradcheckModuleResult gradgradcheck_module<T>(const Module<T>&, const Tensor<T>&,                       \
                                                           const GradcheckOptions&);                                 \
    template GradcheckModuleResult gradgradcheck_module<T>(const Module<T>&, const ModuleFunction&,                  \
                                                           const std::vector<Tensor<T>>&, const GradcheckOptions&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad::nn
