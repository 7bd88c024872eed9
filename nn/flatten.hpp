/// \file
/// Flatten and Unflatten (PyTorch's nn.Flatten and nn.Unflatten): the layout ops of
/// ops/layout.hpp as modules, with PyTorch's constructor arguments, defaults and repr. They hold
/// no parameters; a bad argument throws the op's error at forward, as PyTorch's modules do.
#pragma once

#include <cstdint>
#include <vector>

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// flatten(x, start_dim, end_dim) (torch::nn::Flatten): dims start_dim..end_dim merged into one,
/// so [N, C, H, W] becomes [N, C H W] with the defaults.
template <class T = float>
class Flatten : public Module<T> {
public:
    /// PyTorch's defaults: start_dim 1 (the batch dim kept), end_dim -1.
    explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1) : start_(start_dim), end_(end_dim) {}
    /// flatten(x, start_dim, end_dim); out-of-range dims are flatten's ValueError.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Flatten"; }
    /// "start_dim=1, end_dim=-1".
    std::string extra_repr() const override;
    /// A float64 copy with the same dims (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    std::int64_t start_, end_;
};

/// unflatten(x, dim, sizes) (torch::nn::Unflatten): dim split into the dims `sizes`, so
/// Unflatten(1, {1, 28, 28}) turns rows of 784 pixels [N, 784] into images [N, 1, 28, 28].
template <class T = float>
class Unflatten : public Module<T> {
public:
    /// Splits `dim` (negative counts from the end) into `sizes`, one of which may be -1 (inferred).
    /// Sizes that do not fit x are unflatten's ShapeError at forward.
    Unflatten(std::int64_t dim, std::vector<std::int64_t> sizes) : dim_(dim), sizes_(std::move(sizes)) {}
    /// unflatten(x, dim, sizes).
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Unflatten"; }
    /// "dim=1, unflattened_size=(1, 28, 28)" (PyTorch's repr).
    std::string extra_repr() const override;
    /// A float64 copy with the same dim and sizes (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    std::int64_t dim_;
    std::vector<std::int64_t> sizes_;
};

}  // namespace tapegrad::nn
