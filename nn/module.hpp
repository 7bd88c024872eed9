/// \file
/// Module: the base of every layer (torch::nn::Module): named parameters, named children,
/// train/eval mode and a printable summary.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/autograd/hooks.hpp>
#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/tensor.hpp>
#include <tapegrad/nn/state_dict.hpp>

namespace tapegrad::detail {
template <class T>
class Reparametrization;  // functional_call's swap of a module's tensors (nn/functional_call.hpp)
}

namespace tapegrad::nn {

/// A layer or a container of layers. Subclasses register their parameters and children in
/// their constructor and implement forward(); everything else (recursive parameter lists with
/// stable dotted names, zero_grad, train/eval, to_string) is done here.
///
/// Copies share state: parameters are Tensor handles and children are shared_ptrs, so a copy
/// of a module is another name for the same weights (as a LibTorch module holder is).
template <class T = float>
class Module {
public:
    /// A parameter and its dotted name, e.g. ("0.weight", tensor).
    using NamedTensor = std::pair<std::string, Tensor<T>>;
    /// How children are held: shared, so a module can also be kept and used on its own.
    using ModulePtr = std::shared_ptr<Module<T>>;
    /// A child and its name within this module.
    using NamedModule = std::pair<std::string, ModulePtr>;

    virtual ~Module() = default;

    /// The layer's computation on a batch (one sample per row). Modules whose input is not one
    /// tensor (Embedding takes Indices, MultiheadAttention a query, key and value, LSTM a sequence
    /// and its states) define their own forward and leave this one, which throws ValueError naming
    /// the module: a Sequential can hold only modules of one tensor.
    virtual Tensor<T> forward(const Tensor<T>& x);
    /// forward(x): a module is called like a function, `model(x)`, and this call (PyTorch's __call__)
    /// is what runs the module's hooks: forward pre-hooks, forward, forward hooks, and the setup of
    /// full backward hooks. Containers call their children this way. Calling forward() directly
    /// skips the hooks. With no hook registered it is forward(x) and nothing else.
    Tensor<T> operator()(const Tensor<T>& x);
    /// The layer's computation on token ids (Embedding; a Sequential whose first module takes
    /// them). Modules of a tensor leave this one, which throws ValueError naming the module.
    virtual Tensor<T> forward(const Indices& idx);
    /// forward(idx) with the module's hooks, as PyTorch runs them for every call whatever the
    /// input: the index forward pre-hooks and index forward hooks (which see the ids), and the full
    /// backward hooks, whose grad_input is undefined (ids have no gradient: PyTorch's None).
    Tensor<T> operator()(const Indices& idx);

    /// A forward pre-hook: the module and its input; a defined result replaces the input.
    using ForwardPreHook = std::function<Tensor<T>(Module<T>& module, const Tensor<T>& input)>;
    /// A forward hook: the module, its input and its output; a defined result replaces the output.
    using ForwardHook = std::function<Tensor<T>(Module<T>& module, const Tensor<T>& input, const Tensor<T>& output)>;
    /// A full backward hook: the module, the gradient with respect to its input and the gradient with
    /// respect to its output; a defined result replaces the input's gradient.
    using BackwardHook =
        std::function<Tensor<T>(Module<T>& module, const Tensor<T>& grad_input, const Tensor<T>& grad_output)>;

    /// Registers `hook` to run at every call `module(x)`, before forward, in registration order, each
    /// seeing the input the previous one returned (PyTorch's register_forward_pre_hook); a defined
    /// result replaces the input, an undefined one (`return {};`) keeps it. Exceptions propagate out of
    /// the call. A copy of a module shares its hooks (copies are other names for one module).
    /// ValueError for an empty std::function. Returns the handle that removes it.
    HookHandle register_forward_pre_hook(ForwardPreHook hook);
    /// Registers `hook` to run at every call `module(x)` after forward, in registration order, with the
    /// input forward was given and the output (PyTorch's register_forward_hook); a defined result
    /// replaces the output. ValueError for an empty std::function. Returns the handle that removes it.
    HookHandle register_forward_hook(ForwardHook hook);
    /// Registers `hook` to run once per backward pass through each call `module(x)` made while it was
    /// registered (PyTorch's register_full_backward_hook), when the gradient with respect to the
    /// module's input is complete, with the gradient with respect to its output; a defined result
    /// replaces the input's gradient (same shape, or ShapeError naming the module). When the input does
    /// not require grad, it runs once the output's gradient is known, with an undefined grad_input, and
    /// must return an undefined tensor (AutogradError otherwise, as PyTorch). Built as PyTorch's
    /// BackwardHookFunction: the call wraps the input and the output in identity ops (a copy of each,
    /// only while such a hook exists and grad mode is on) whose gradient hooks run it. The hook may
    /// not start a backward (AutogradError); the module must still be alive when the backward runs (the
    /// hook is skipped once it and its copies are gone). ValueError for an empty std::function.
    /// Returns the handle that removes it (calls already made keep it, as in PyTorch).
    HookHandle register_full_backward_hook(BackwardHook hook);

    /// A forward pre-hook of a call on token ids: the module and the ids; a result replaces them.
    using IndexForwardPreHook = std::function<std::optional<Indices>(Module<T>& module, const Indices& input)>;
    /// A forward hook of a call on token ids: the module, the ids and the output; a defined result
    /// replaces the output.
    using IndexForwardHook = std::function<Tensor<T>(Module<T>& module, const Indices& input, const Tensor<T>& output)>;
    /// register_forward_pre_hook() for the calls `module(idx)` on Indices (a separate list: the hook
    /// sees Indices, not a tensor); std::nullopt keeps the ids. ValueError for an empty std::function.
    HookHandle register_index_forward_pre_hook(IndexForwardPreHook hook);
    /// register_forward_hook() for the calls `module(idx)` on Indices. ValueError for an empty
    /// std::function. Returns the handle that removes it.
    HookHandle register_index_forward_hook(IndexForwardHook hook);

    /// Type name shown by to_string(), e.g. "Dense".
    virtual std::string name() const = 0;
    /// What goes between the parentheses of a leaf's summary, e.g. "784 -> 256, bias".
    virtual std::string extra_repr() const { return ""; }
    /// "Dense(784 -> 256, bias)" for a leaf; a container lists its children, indented, as
    /// "(0): Dense(...)" lines (PyTorch's repr).
    std::string to_string() const;

    /// Every parameter, this module's own first, then each child's in registration order. A
    /// tensor reachable by several paths (the same module registered twice, a weight tied between
    /// two modules) is listed once, where it is first reached, so an optimiser steps it once.
    std::vector<Tensor<T>> parameters() const;
    /// The same, named by path: "weight", "0.weight", "0.bias", "2.weight", ... (PyTorch's
    /// state_dict keys). Names are stable: they depend only on how the model was built. A shared
    /// tensor keeps its first name (PyTorch's named_parameters(remove_duplicate=True)).
    std::vector<NamedTensor> named_parameters() const;
    /// Direct children, in registration order.
    const std::vector<NamedModule>& named_children() const noexcept { return children_; }
    /// Direct children without their names, in registration order.
    std::vector<ModulePtr> children() const;
    /// This module (named "") and every descendant, depth first, named by dotted path ("0",
    /// "encoder.layers.1.self_attn"); a module reachable by several paths is listed once, under
    /// its first name (PyTorch's named_modules). `self` is a non-owning pointer to this module.
    std::vector<std::pair<std::string, Module<T>*>> named_modules();
    /// Buffers (state that is saved but not trained: batch norm's running statistics), named by
    /// path like parameters ("bn.running_mean"); each tensor once.
    std::vector<NamedTensor> named_buffers() const;
    /// The buffers without their names.
    std::vector<Tensor<T>> buffers() const;
    /// Every parameter and buffer under PyTorch's state_dict keys, in PyTorch's order
    /// (Module._save_to_state_dict): this module's own parameters, then its own buffers, then each
    /// child's state in registration order. A tensor reachable by several paths (a module registered
    /// twice, a tied weight) appears under each of its keys, as in PyTorch. BatchNorm's step count is
    /// `num_batches_tracked` (a 0-d tensor of T here, int64 in PyTorch; the value is the same).
    /// The values are the module's own tensors, not copies: like PyTorch's state_dict (whose tensors
    /// are detached views of the same storage), changing a value in place changes the module; unlike
    /// PyTorch's, a parameter's entry still requires grad (it is the parameter's handle).
    StateDict<T> state_dict() const;
    /// Copies the values of `dict` into the tensors of state_dict() with the same keys (PyTorch's
    /// load_state_dict; the module keeps its tensors, so optimisers holding them see the new values).
    /// Everything is checked before anything changes. ValueError, the module unchanged, listing by
    /// key every shape mismatch ("size mismatch for 0.weight: [3, 4] in the dict, [4, 3] in the
    /// module") and, when `strict`, every missing key (the module's, absent from the dict) and
    /// unexpected key (the dict's, absent from the module), in one message naming the module. Without
    /// `strict`, missing and unexpected keys are returned instead (PyTorch's _IncompatibleKeys) and
    /// the matching keys are loaded; a shape mismatch still refuses the whole load, as in PyTorch.
    /// A tensor held under several keys receives the value of each key in order (the last wins).
    IncompatibleKeys load_state_dict(const StateDict<T>& dict, bool strict = true);
    /// Total number of parameter elements, each tensor once (a tied weight counts once); only of
    /// those that require grad when `trainable_only` (frozen parameters left out).
    std::size_t num_parameters(bool trainable_only = false) const;
    /// A table of the model, as torchinfo's summary or Keras's model.summary(): one row per module
    /// of named_modules() (so a module held twice appears once), its name ("" is shown as
    /// "(root)"), its type, the number of elements of its own parameters (a tensor already counted
    /// in an earlier row, a tied weight, counts 0 and is shown as "weight = 0.weight") and their
    /// shapes; then the total and trainable counts (num_parameters()). Example:
    /// \code
    /// Module  Type        Parameters  Shapes
    /// (root)  Sequential           0
    /// 0       Dense               16  weight [4, 3], bias [4]
    /// 1       Tanh                 0
    /// 2       Dense               10  weight [2, 4], bias [2]
    /// Total parameters: 26
    /// Trainable parameters: 26
    /// \endcode
    std::string summary() const;

    /// Drops every parameter's gradient (PyTorch's set_to_none=True).
    void zero_grad();
    /// Sets training mode here and in every descendant; eval() is train(false).
    void train(bool on = true);
    /// Evaluation mode here and in every descendant: train(false).
    void eval() { train(false); }
    /// Whether this module is in training mode (true until train(false) or eval()).
    bool is_training() const noexcept { return training_; }
    /// Calls fn on this module, then on every descendant, depth first, each module once in
    /// named_modules() order: a module held twice is visited once (for custom initialisation, which
    /// must not run twice on one layer). LibTorch's Module::apply (pre-order).
    void apply(const std::function<void(Module<T>&)>& fn);

    /// A float64 copy of this module: the same structure, its parameters and buffers converted
    /// (copies, not shared), training mode kept. For checking a float32 model's gradients in
    /// float64 (gradcheck_module). Every built-in module provides it; a custom module overrides it
    /// by building its double twin and calling copy_state_to(); the default throws ValueError
    /// naming the module.
    virtual std::shared_ptr<Module<double>> to_float64() const;

protected:
    /// Where a subclass keeps the handle of a registered tensor: given the module (this one, or a
    /// copy of it), the member that holds it. functional_call() writes substitutes through it.
    using Slot = std::function<Tensor<T>&(Module<T>&)>;

    /// Registers a parameter under `name` (marking it requires_grad) and returns its handle. With a
    /// `slot` (the member the subclass keeps the handle in), functional_call() can substitute it;
    /// without one, functional_call() refuses to substitute it, naming it.
    Tensor<T> register_parameter(std::string name, Tensor<T> value, Slot slot = {});
    /// Registers a parameter held in a member of the subclass and stores its handle there:
    /// `this->register_parameter("weight", &Dense::weight_, zeros<T>({out, in}));` (the form every
    /// built-in module uses, so functional_call() can substitute it).
    template <class Self>
    void register_parameter(std::string name, Tensor<T> Self::*member, Tensor<T> value) {
        static_cast<Self&>(*this).*member = register_parameter(std::move(name), std::move(value), member_slot(member));
    }
    /// Registers a child under `name`; its parameters appear as `name.<param>`.
    ModulePtr register_module(std::string name, ModulePtr child);
    /// Registers a buffer under `name`: saved state that is not a parameter (it does not require
    /// grad and optimisers never see it), updated in place by the module (running statistics).
    /// `slot` as for parameters.
    Tensor<T> register_buffer(std::string name, Tensor<T> value, Slot slot = {});
    /// Registers a buffer held in a member of the subclass and stores its handle there.
    template <class Self>
    void register_buffer(std::string name, Tensor<T> Self::*member, Tensor<T> value) {
        static_cast<Self&>(*this).*member = register_buffer(std::move(name), std::move(value), member_slot(member));
    }

    /// Copies every parameter and buffer of this module, converted, into `copy` (a freshly built
    /// module of the same structure in another dtype) by name, and its training mode; ValueError
    /// when the names or shapes differ. Returns `copy`, for to_float64() overrides:
    /// `return this->copy_state_to(std::make_shared<Dense<double>>(in, out, gen, bias));`
    template <class Copy>
    std::shared_ptr<Copy> copy_state_to(std::shared_ptr<Copy> copy) const {
        copy_state_into(*copy);
        return copy;
    }
    /// The non-template part of copy_state_to().
    void copy_state_into(Module<double>& copy) const;

private:
    template <class Self>
    static Slot member_slot(Tensor<T> Self::*member) {
        return [member](Module<T>& module) -> Tensor<T>& { return static_cast<Self&>(module).*member; };
    }

    struct Hooks;
    struct BackwardCall;
    static std::shared_ptr<Hooks> make_hooks();
    Tensor<T> call_hooked(const Tensor<T>& x);
    Tensor<T> call_hooked(const Indices& idx);
    std::shared_ptr<BackwardCall> backward_call(const std::shared_ptr<Hooks>& hooks);
    Tensor<T> hook_output(const std::shared_ptr<BackwardCall>& call, Tensor<T> output);

    std::shared_ptr<Hooks> hooks_ = make_hooks();  // shared by copies; empty lists cost one test per call
    std::vector<NamedTensor> params_;
    std::vector<NamedTensor> buffers_;
    std::vector<Slot> param_slots_;   // param_slots_[i] holds params_[i]'s handle (empty: unknown)
    std::vector<Slot> buffer_slots_;  // the same for buffers_
    std::vector<NamedModule> children_;
    bool training_ = true;

    template <class U>
    friend class Module;
    friend class tapegrad::detail::Reparametrization<T>;

    void collect(const std::string& prefix, std::vector<NamedTensor> Module::*which,
                 std::vector<NamedTensor>& out) const;
    void collect_state(const std::string& prefix, StateDict<T>& out) const;
    void collect_modules(const std::string& prefix, std::vector<std::pair<std::string, Module<T>*>>& out);
};

/// Prints to_string().
template <class T>
std::ostream& operator<<(std::ostream& os, const Module<T>& module) {
    return os << module.to_string();
}

}  // namespace tapegrad::nn
