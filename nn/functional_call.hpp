/// \file
/// functional_call: run a module with substitute parameters and buffers (torch.func.functional_call),
/// so function transforms apply to models: the Hessian of a loss with respect to a layer's weight.
#pragma once

#include <concepts>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// Tensors by state_dict key ("0.weight", "bn.running_mean"): what functional_call() substitutes.
template <class T>
using TensorDict = std::map<std::string, Tensor<T>>;

/// How functional_call() matches the given tensors to the module's (torch.func.functional_call's
/// keyword arguments, with PyTorch's defaults).
struct FunctionalCallOptions {
    /// Every parameter and buffer must be given (a tensor tied to a given one counts as given);
    /// ValueError naming the missing keys otherwise.
    bool strict = false;
    /// A tensor the module holds under several keys (a weight tied between an embedding and the
    /// output layer) is substituted everywhere when any of its keys is given; giving two of its keys
    /// different tensors is a ValueError. When false, only the given key's holder sees the
    /// substitute.
    bool tie_weights = true;
};

}  // namespace tapegrad::nn

namespace tapegrad::detail {

/// While alive, the module's parameters and buffers named in `tensors` are the given tensors (in the
/// module's list and in the members its forward reads); the destructor puts the module's own back,
/// also when the call threw. Everything is checked before anything is changed.
template <class T>
class Reparametrization {
public:
    Reparametrization(nn::Module<T>& module, const nn::TensorDict<T>& tensors,
                      const nn::FunctionalCallOptions& options);
    ~Reparametrization();
    Reparametrization(const Reparametrization&) = delete;
    Reparametrization& operator=(const Reparametrization&) = delete;

private:
    struct Swapped {
        nn::Module<T>* module;
        bool buffer;
        std::size_t index;
        Tensor<T> own;  // the module's tensor, put back by the destructor
    };
    std::vector<Swapped> swapped_;

    static void put(const Swapped& at, const Tensor<T>& value);
};

}  // namespace tapegrad::detail

namespace tapegrad::nn {

/// Calls fn(module) with the module's parameters and buffers named in `tensors` replaced by the
/// given tensors, and returns what fn returns; afterwards (also when fn throws) the module holds its
/// own tensors again, unchanged. Gradients flow to the substitutes, not to the module's parameters,
/// so `func::grad`, `func::hessian` and the other transforms apply to a model:
/// \code
/// auto loss_of_w = [&](const Tensor<double>& w) {
///     return mse_loss(nn::functional_call(model, {{"0.weight", w}}, x), y);
/// };
/// Tensor<double> h = func::hessian(loss_of_w)(model.named_parameters()[0].second);
/// \endcode
/// This form runs what is not `module(x)`: an Embedding's indices, an LSTM's states, a loss.
/// Errors (ValueError unless said), all raised before anything changes: a key that names no
/// parameter or buffer (listing the valid keys), an undefined tensor, a shape other than the
/// module's own (ShapeError naming the key and both shapes), two different tensors for the keys of
/// one tied tensor, missing keys under `strict`, and a tensor registered without its member (a
/// custom module's register_parameter(name, value) without a slot: register it as
/// `register_parameter(name, &Class::member, value)`).
///
/// Buffers substituted are updated in place as the module updates its own (batch norm's running
/// statistics in training mode): the given tensor changes, the module's does not.
/// Where tapegrad differs from PyTorch: an unknown key is always an error (PyTorch ignores some
/// under strict=false; a misspelt key would silently leave the module's own tensor in use), and a
/// substitute must have the original's shape. Not thread-safe for one module: two threads must not
/// call it on the same module at once (PyTorch's swaps the module's attributes alike).
template <class T, class F>
requires std::invocable < F, Module<T>
& > decltype(auto) functional_call(Module<T>& module, const TensorDict<T>& tensors, F&& fn,
                                   const FunctionalCallOptions& options = {}) {
    const tapegrad::detail::Reparametrization<T> substituted(module, tensors, options);
    return std::forward<F>(fn)(module);
}

/// module(input) with substitute parameters and buffers: functional_call(module, tensors, fn) with
/// fn calling the module (its hooks included) on `input`.
template <class T>
Tensor<T> functional_call(Module<T>& module, const TensorDict<T>& tensors, const Tensor<T>& input,
                          const FunctionalCallOptions& options = {}) {
    return functional_call(
        module, tensors, [&input](Module<T>& m) { return m(input); }, options);
}

}  // namespace tapegrad::nn
