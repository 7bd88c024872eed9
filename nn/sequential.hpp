/// \file
/// Sequential: modules applied one after another, and the mlp() builder.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <vector>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/activations.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// Applies its children in order: forward(x) = m_{n-1}(...m_1(m_0(x))). Children are named
/// "0", "1", ... so parameters are "0.weight", "0.bias", "2.weight", ... as in PyTorch.
template <class T = float>
class Sequential : public Module<T> {
public:
    /// Children are held as shared pointers (Module::ModulePtr).
    using ModulePtr = typename Module<T>::ModulePtr;

    Sequential() = default;
    /// The modules in order, named "0", "1", ...:
    /// `Sequential<float> net{std::make_shared<Dense<float>>(784, 10, gen), std::make_shared<ReLU<float>>()};`
    Sequential(std::initializer_list<ModulePtr> modules);

    /// Appends a module (named by its position) and returns it.
    ModulePtr push_back(ModulePtr module);
    /// Appends a module and returns it with its own type: `auto fc = seq.add(std::make_shared<Dense<>>(...))`.
    template <class M>
    std::shared_ptr<M> add(std::shared_ptr<M> module) {
        push_back(module);
        return module;
    }

    /// Each module called in turn (`module(x)`, so its hooks run), the output of one the input of the next
    /// (x itself when empty).
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Sequential"; }
    /// A float64 copy of every child, in order (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

    /// The number of modules.
    std::size_t size() const noexcept { return this->named_children().size(); }
    /// True when it holds no module.
    bool empty() const noexcept { return size() == 0; }
    /// The i-th module; throws ValueError when i >= size().
    ModulePtr operator[](std::size_t i) const;
    /// The i-th module as M (e.g. Dense<T>); throws ValueError when it is of another type.
    template <class M>
    std::shared_ptr<M> at(std::size_t i) const {
        auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
        if (!typed) fail<ValueError>("Sequential::at: module {} is {}, not the type asked for", i, (*this)[i]->name());
        return typed;
    }
};

/// A multilayer perceptron: Dense(sizes[0] -> sizes[1]), activation, Dense(sizes[1] -> sizes[2]),
/// activation, ..., Dense(sizes[n-2] -> sizes[n-1]) with no activation after the last layer
/// (it outputs logits). Needs at least two sizes, all positive. Layers draw from `gen` in order.
template <class T = float>
Sequential<T> mlp(const std::vector<std::size_t>& sizes, Activation activation, Generator& gen, bool bias = true);

}  // namespace tapegrad::nn
