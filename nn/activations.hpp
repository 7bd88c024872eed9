/// \file
/// Activation layers: parameter-free modules over the ops in ops/activation.hpp and ops/softmax.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/activation.hpp>

namespace tapegrad::nn {

/// max(x, 0).
template <class T = float>
class ReLU : public Module<T> {
public:
    /// relu(x), elementwise, any shape.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "ReLU"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return std::make_shared<ReLU<double>>(); }
};

/// x if x > 0 else negative_slope * x.
template <class T = float>
class LeakyReLU : public Module<T> {
public:
    /// `negative_slope` multiplies the negative inputs (PyTorch's default 0.01).
    explicit LeakyReLU(double negative_slope = 0.01) : slope_(negative_slope) {}
    /// leaky_relu(x, negative_slope), elementwise, any shape.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "LeakyReLU"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return std::make_shared<LeakyReLU<double>>(slope_); }
    std::string extra_repr() const override;
    /// The factor applied to negative inputs.
    double negative_slope() const noexcept { return slope_; }

private:
    double slope_;
};

/// 1 / (1 + e^-x).
template <class T = float>
class Sigmoid : public Module<T> {
public:
    /// sigmoid(x), elementwise, any shape.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Sigmoid"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return std::make_shared<Sigmoid<double>>(); }
};

/// tanh(x).
template <class T = float>
class Tanh : public Module<T> {
public:
    /// tanh(x), elementwise, any shape.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Tanh"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return std::make_shared<Tanh<double>>(); }
};

/// x Phi(x): exact (erf) form by default, or the tanh approximation (torch::nn::GELU's
/// approximate="tanh").
template <class T = float>
class GELU : public Module<T> {
public:
    /// The exact form unless `approximate` is GeluApproximate::Tanh.
    explicit GELU(GeluApproximate approximate = GeluApproximate::None) : approximate_(approximate) {}
    /// gelu(x, approximate), elementwise, any shape.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "GELU"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return std::make_shared<GELU<double>>(approximate_); }
    /// "approximate='tanh'" for the tanh form, empty for the exact one.
    std::string extra_repr() const override;

private:
    GeluApproximate approximate_;
};

/// softmax along `dim` (default: the last, i.e. over classes for batch x classes input), as
/// torch::nn::Softmax(dim).
template <class T = float>
class Softmax : public Module<T> {
public:
    /// Normalises along `dim` (negative counts from the end).
    explicit Softmax(std::int64_t dim = -1) : dim_(dim) {}
    /// softmax(x, dim); ValueError when the dim is out of range for x.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Softmax"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return std::make_shared<Softmax<double>>(dim_); }
    std::string extra_repr() const override;

private:
    std::int64_t dim_;
};

/// log_softmax along `dim` (pairs with NLLLoss), as torch::nn::LogSoftmax(dim).
template <class T = float>
class LogSoftmax : public Module<T> {
public:
    /// Normalises along `dim` (negative counts from the end).
    explicit LogSoftmax(std::int64_t dim = -1) : dim_(dim) {}
    /// log_softmax(x, dim); ValueError when the dim is out of range for x.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "LogSoftmax"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override { return std::make_shared<LogSoftmax<double>>(dim_); }
    std::string extra_repr() const override;

private:
    std::int64_t dim_;
};

/// The hidden-layer activations mlp() can place between Dense layers.
enum class Activation { ReLU, LeakyReLU, Sigmoid, Tanh, GELU };

/// A new module for the activation (LeakyReLU with its default slope 0.01).
template <class T = float>
std::shared_ptr<Module<T>> make_activation(Activation activation);

/// "relu", "leaky_relu", "sigmoid", "tanh", "gelu" (case-insensitive) -> Activation, for
/// command-line flags; anything else throws ValueError listing the accepted names.
Activation parse_activation(const std::string& name);
/// The lower-case name parse_activation accepts.
std::string activation_name(Activation activation);

}  // namespace tapegrad::nn
