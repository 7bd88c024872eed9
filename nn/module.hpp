/// \file
/// Module: the base of every layer (torch::nn::Module): named parameters, named children,
/// train/eval mode and a printable summary.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/autograd/tensor.hpp>

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

    /// The layer's computation on a batch (one sample per row).
    virtual Tensor<T> forward(const Tensor<T>& x) = 0;
    /// forward(x): a module is called like a function, `model(x)`.
    Tensor<T> operator()(const Tensor<T>& x) { return forward(x); }

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
    /// Total number of parameter elements.
    std::size_t num_parameters() const;

    /// Drops every parameter's gradient (PyTorch's set_to_none=True).
    void zero_grad();
    /// Sets training mode here and in every descendant; eval() is train(false).
    void train(bool on = true);
    /// Evaluation mode here and in every descendant: train(false).
    void eval() { train(false); }
    /// Whether this module is in training mode (true until train(false) or eval()).
    bool is_training() const noexcept { return training_; }
    /// Calls fn on this module, then on every descendant, depth first (for custom initialisation).
    void apply(const std::function<void(Module<T>&)>& fn);

protected:
    /// Registers a parameter under `name` (marking it requires_grad) and returns its handle.
    Tensor<T> register_parameter(std::string name, Tensor<T> value);
    /// Registers a child under `name`; its parameters appear as `name.<param>`.
    ModulePtr register_module(std::string name, ModulePtr child);

private:
    std::vector<NamedTensor> params_;
    std::vector<NamedModule> children_;
    bool training_ = true;

    void collect(const std::string& prefix, std::vector<NamedTensor>& out) const;
};

/// Prints to_string().
template <class T>
std::ostream& operator<<(std::ostream& os, const Module<T>& module) {
    return os << module.to_string();
}

}  // namespace tapegrad::nn
