/// \file
/// Dropout modules (PyTorch's nn.Dropout and nn.Dropout2d): the functional ops in training mode,
/// the identity in evaluation mode (eval()).
#pragma once

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// What Dropout and Dropout2d share (PyTorch's _DropoutNd): the probability p and the module's own
/// Generator. Each module draws its masks from its own stream, seeded once at construction from the
/// Generator passed, or from the default generator (so manual_seed() before building a model makes
/// its masks reproducible, as in PyTorch, and no other draw in between changes them). The stream is
/// not part of the saved state (PyTorch saves no generator either); generator() reaches it.
template <class T = float>
class DropoutBase : public Module<T> {
public:
    /// The probability of zeroing an element (or channel).
    double p() const noexcept { return p_; }
    /// The module's own stream: `generator().set_state(...)` replays masks.
    Generator& generator() noexcept { return gen_; }
    /// "p=0.5" (PyTorch's repr).
    std::string extra_repr() const override;

protected:
    /// ValueError naming `who` unless p is in [0, 1]; the stream seeded from `seeds` (one 64-bit draw).
    DropoutBase(const char* who, double p, Generator& seeds);
    /// The same, seeded from the default generator.
    DropoutBase(const char* who, double p);
    /// The float64 twin gets p and this module's stream state.
    template <class Copy>
    std::shared_ptr<Module<double>> twin(std::shared_ptr<Copy> copy) const {
        copy->generator().set_state(gen_.state());
        return this->copy_state_to(std::move(copy));
    }

private:
    double p_;
    Generator gen_;
};

/// dropout(x, p, is_training(), generator()) (torch::nn::Dropout): elements zeroed with
/// probability p, the rest scaled by 1 / (1 - p) in training; x itself after eval().
template <class T = float>
class Dropout : public DropoutBase<T> {
public:
    /// p = 0.5 by default, as PyTorch's; the stream seeded from the default generator.
    explicit Dropout(double p = 0.5) : DropoutBase<T>("Dropout", p) {}
    /// The stream seeded from `gen`.
    Dropout(double p, Generator& gen) : DropoutBase<T>("Dropout", p, gen) {}
    /// dropout(x, p, training, generator()).
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Dropout"; }
    /// A float64 copy with the same p and stream state (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;
};

/// dropout2d(x, p, is_training(), generator()) (torch::nn::Dropout2d): whole channels of a
/// [N, C, H, W] (or [N, C, L]) input zeroed with probability p; x itself after eval().
template <class T = float>
class Dropout2d : public DropoutBase<T> {
public:
    /// p = 0.5 by default; the stream seeded from the default generator.
    explicit Dropout2d(double p = 0.5) : DropoutBase<T>("Dropout2d", p) {}
    /// The stream seeded from `gen`.
    Dropout2d(double p, Generator& gen) : DropoutBase<T>("Dropout2d", p, gen) {}
    /// dropout2d(x, p, training, generator()).
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Dropout2d"; }
    /// A float64 copy with the same p and stream state (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;
};

}  // namespace tapegrad::nn
