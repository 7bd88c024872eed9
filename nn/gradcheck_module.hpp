/// \file
/// gradcheck_module and gradgradcheck_module: a whole Module's gradients with respect to its
/// parameters and its inputs against central finite differences, in one call.
#pragma once

#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include <tapegrad/autograd/gradcheck.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// What gradcheck_module differentiates when the module does not take one tensor: `module` is a
/// fresh float64 copy of the module checked (call it, not the original: only its parameters are
/// connected to the check, and an output that depends on none of them is refused with a
/// ValueError) and `inputs` the inputs given, one tensor out (every element checked).
/// A module of another input type calls its own forward through a cast,
/// `static_cast<Attention&>(m).forward(in[0], in[1], in[2])`; several outputs are joined into one,
/// `concat({flatten(h), flatten(c)})`, so that every output's gradient is checked.
using ModuleFunction = std::function<Tensor<double>(Module<double>& module, const std::vector<Tensor<double>>& inputs)>;

/// gradcheck's result, with the names of what was checked. Each reported mismatch's input_name is
/// "parameter '<state_dict name>'" or "input <i>" (GradcheckMismatch::input numbers both: the
/// inputs first, then the parameters in named_parameters() order; gradgradcheck's extra
/// "grad_output u" last), and `what` names the module, so report() reads
/// "gradcheck_module of Sequential failed: ...\n  parameter '0.weight' element [1, 2], ...".
struct GradcheckModuleResult : GradcheckResult {
    /// Who was checked: "Sequential", or "Sequential (its float64 copy: the module is float32)".
    std::string module;
    /// What each input of the check is, in order: "input 0", ..., "parameter '0.weight'", ...
    std::vector<std::string> names;
};

/// Checks module.forward(x)'s gradients with respect to every parameter that requires grad and to
/// x (when x requires grad) against central differences, reusing tapegrad::gradcheck (defaults
/// eps 1e-6, atol 1e-5, rtol 1e-3; fast_mode for big modules). No C++ library offers this;
/// PyTorch users write `gradcheck(functional_call(m, params, x), ...)` by hand.
///
/// Each evaluation runs on a fresh float64 copy made by to_float64() (a custom module overrides it:
/// Module::to_float64), its parameters set to the values the check asks for. So nothing given is
/// changed: the module's parameters, buffers (running statistics), gradients and mode stay as they
/// were. A Module<float> is checked through its float64 copy, x converted (the result says so).
///
/// Every evaluation must give the same output for the same values: a module with randomness
/// (dropout) is checked in eval() mode, or with a function that reseeds it before each forward.
/// The module is evaluated twice first, and a ValueError (naming the module, its mode and the first
/// element that differs) refuses one that is not deterministic. ValueError also when nothing
/// requires grad, when the module has no to_float64, or for gradcheck's own reasons (options).
template <class T>
GradcheckModuleResult gradcheck_module(const Module<T>& module, const Tensor<T>& x,
                                       const GradcheckOptions& options = {});

/// The same for any module: `f(copy, inputs)` is differentiated with respect to the parameters
/// and to every input that requires grad (ModuleFunction):
/// `gradcheck_module(attention, [](nn::Module<double>& m, const auto& in) { ... }, {q, k, v})`.
template <class T>
GradcheckModuleResult gradcheck_module(const Module<T>& module, const ModuleFunction& f,
                                       const std::type_identity_t<std::vector<Tensor<T>>>& inputs = {},
                                       const GradcheckOptions& options = {});

/// Second order (tapegrad::gradgradcheck) of module.forward(x): the gradient of the
/// vector-Jacobian product with respect to the parameters, x and the random output gradient u,
/// on fresh float64 copies as gradcheck_module; the same refusals.
template <class T>
GradcheckModuleResult gradgradcheck_module(const Module<T>& module, const Tensor<T>& x,
                                           const GradcheckOptions& options = {});

/// Second order for any module, through `f` as gradcheck_module's callable form.
template <class T>
GradcheckModuleResult gradgradcheck_module(const Module<T>& module, const ModuleFunction& f,
                                           const std::type_identity_t<std::vector<Tensor<T>>>& inputs = {},
                                           const GradcheckOptions& options = {});

}  // namespace tapegrad::nn
