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

    /// Each module called in turn (`module(x)`, so its hooks run), the output of one the input of the
    /// next (x itself when empty);
    /// in checkpointed segments (checkpoint_sequential()) after set_checkpoint_segments(k), in
    /// training mode with grad mode on.
    Tensor<T> forward(const Tensor<T>& x) override;
    /// Token ids through the modules: the first takes them (an Embedding; others throw ValueError
    /// naming it), its output goes through the rest as forward(x) (each called, its hooks run;
    /// without checkpoint segments). As PyTorch's nn.Sequential starting with an nn.Embedding.
    /// ValueError when empty.
    Tensor<T> forward(const Indices& idx) override;
    std::string name() const override { return "Sequential"; }
    /// A float64 copy of every child, in order, checkpoint segments kept (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

    /// The number of modules.
    std::size_t size() const noexcept { return this->named_children().size(); }
    /// True when it holds no module.
    bool empty() const noexcept { return size() == 0; }
    /// The i-th module; throws ValueError when i >= size().
    ModulePtr operator[](std::size_t i) const;
    /// From now on forward() runs as checkpoint_sequential(*this, segments, x) in training mode
    /// (what a model does for memory), and as before in evaluation mode or with grad mode off, where
    /// no backward needs the activations. 0 turns it off (the default). Throws ValueError when
    /// segments exceeds size() (checked here, and again at forward(), as modules may be added).
    /// PyTorch has no such switch: its users call checkpoint_sequential in their forward.
    void set_checkpoint_segments(std::size_t segments);
    /// The number set by set_checkpoint_segments() (0: none).
    std::size_t checkpoint_segments() const noexcept { return checkpoint_segments_; }
    /// The i-th module as M (e.g. Dense<T>); throws ValueError when it is of another type.
    template <class M>
    std::shared_ptr<M> at(std::size_t i) const {
        auto typed = std::dynamic_pointer_cast<M>((*this)[i]);
        if (!typed) fail<ValueError>("Sequential::at: module {} is {}, not the type asked for", i, (*this)[i]->name());
        return typed;
    }

private:
    std::size_t checkpoint_segments_ = 0;
};

/// seq's modules in `segments` consecutive runs of about equal length (earlier ones one module
/// longer when they cannot be equal), each run through tapegrad::checkpoint(): the backward keeps
/// only each run's input and output instead of every activation, and runs each run's forward again
/// (torch.utils.checkpoint.checkpoint_sequential). Unlike PyTorch's, the last run is checkpointed
/// too: tapegrad's engine frees what a graph saved at the end of the backward pass, not op by op, so
/// an uncheckpointed last run would hold its activations through the whole backward. Dropout inside
/// draws the same masks again (see checkpoint()); a batch norm in training mode updates its running
/// statistics in the recomputation too, as in PyTorch: do not switch train/eval between the forward
/// and the backward. With grad mode off it is seq's plain loop. An empty seq returns x. Throws
/// ValueError unless 1 <= segments <= seq.size().
template <class T>
Tensor<T> checkpoint_sequential(const Sequential<T>& seq, std::size_t segments, const Tensor<T>& x);

/// A multilayer perceptron: Dense(sizes[0] -> sizes[1]), activation, Dense(sizes[1] -> sizes[2]),
/// activation, ..., Dense(sizes[n-2] -> sizes[n-1]) with no activation after the last layer
/// (it outputs logits). Needs at least two sizes, all positive. Layers draw from `gen` in order.
template <class T = float>
Sequential<T> mlp(const std::vector<std::size_t>& sizes, Activation activation, Generator& gen, bool bias = true);

}  // namespace tapegrad::nn
