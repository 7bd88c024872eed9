/// \file
/// Normalisation layers over ops/normalization.hpp: LayerNorm, RMSNorm, GroupNorm, BatchNorm1d and
/// BatchNorm2d (torch.nn's), with PyTorch's parameters, buffers, defaults and initialisation
/// (weight = 1, bias = 0; running_mean = 0, running_var = 1, num_batches_tracked = 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// layer_norm over the trailing dims `normalized_shape` (torch.nn.LayerNorm): parameters `weight`
/// (ones) and `bias` (zeros) of shape normalized_shape when elementwise_affine (bias only when
/// `bias` too). Errors as layer_norm; ValueError for an empty normalized_shape or a negative size.
template <class T = float>
class LayerNorm : public Module<T> {
public:
    /// PyTorch's defaults: eps 1e-5, elementwise_affine and bias on.
    explicit LayerNorm(std::vector<std::int64_t> normalized_shape, double eps = 1e-5, bool elementwise_affine = true,
                       bool bias = true);
    /// layer_norm(x, normalized_shape, weight, bias, eps).
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "LayerNorm"; }
    /// "(8,), eps=1e-05, elementwise_affine=True" (PyTorch's).
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;
    /// The trailing dims normalised over.
    const std::vector<std::int64_t>& normalized_shape() const noexcept { return shape_; }
    /// The constant added to the variance.
    double eps() const noexcept { return eps_; }

private:
    std::vector<std::int64_t> shape_;
    double eps_;
    bool affine_, bias_on_;
    Tensor<T> weight_, bias_;
};

/// rms_norm over the trailing dims `normalized_shape` (torch.nn.RMSNorm, PyTorch 2.4+): parameter
/// `weight` (ones) when elementwise_affine; eps nullopt is the dtype's machine epsilon.
template <class T = float>
class RMSNorm : public Module<T> {
public:
    /// PyTorch's defaults: eps None (the dtype's epsilon), elementwise_affine on.
    explicit RMSNorm(std::vector<std::int64_t> normalized_shape, std::optional<double> eps = std::nullopt,
                     bool elementwise_affine = true);
    /// rms_norm(x, normalized_shape, weight, eps).
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "RMSNorm"; }
    /// "(8,), eps=None, elementwise_affine=True" (PyTorch's).
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    std::vector<std::int64_t> shape_;
    std::optional<double> eps_;
    bool affine_;
    Tensor<T> weight_;
};

/// group_norm of x [N, num_channels, *] (torch.nn.GroupNorm): parameters `weight` (ones) and `bias`
/// (zeros) of shape [num_channels] when affine. ValueError when num_groups does not divide
/// num_channels (PyTorch's "num_channels must be divisible by num_groups").
template <class T = float>
class GroupNorm : public Module<T> {
public:
    /// PyTorch's defaults: eps 1e-5, affine on.
    GroupNorm(std::int64_t num_groups, std::int64_t num_channels, double eps = 1e-5, bool affine = true);
    /// group_norm(x, num_groups, weight, bias, eps).
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "GroupNorm"; }
    /// "2, 8, eps=1e-05, affine=True" (PyTorch's).
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    std::int64_t groups_, channels_;
    double eps_;
    bool affine_;
    Tensor<T> weight_, bias_;
};

/// What BatchNorm1d and BatchNorm2d share (PyTorch's _BatchNorm): parameters `weight` (ones) and
/// `bias` (zeros) of shape [num_features] when affine; buffers `running_mean` (zeros), `running_var`
/// (ones) and the 0-d `num_batches_tracked` (0) when track_running_stats. In training, each forward
/// adds 1 to num_batches_tracked and updates the running statistics with factor momentum, or
/// 1 / num_batches_tracked when momentum is nullopt (a cumulative average: PyTorch's momentum=None);
/// in eval the running statistics normalise, unless there are none (batch statistics then).
template <class T = float>
class BatchNorm : public Module<T> {
public:
    /// batch_norm(x, running statistics, weight, bias, training or no running statistics, factor, eps),
    /// after checking x's rank; ShapeError naming the layer and x's shape otherwise.
    Tensor<T> forward(const Tensor<T>& x) override;
    /// "8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True" (PyTorch's).
    std::string extra_repr() const override;

protected:
    /// A layer for inputs of rank `min_rank` to `max_rank` ([N, C] or [N, C, L]: 2 to 3).
    BatchNorm(std::int64_t num_features, double eps, std::optional<double> momentum, bool affine,
              bool track_running_stats, std::size_t min_rank, std::size_t max_rank);
    /// The constructor's arguments, for to_float64 overrides: num_features.
    std::int64_t features_;
    /// eps.
    double eps_;
    /// momentum (nullopt: the cumulative moving average).
    std::optional<double> momentum_;
    /// Whether there are a weight and a bias.
    bool affine_;
    /// track_running_stats.
    bool track_;

private:
    std::size_t min_rank_, max_rank_;
    Tensor<T> weight_, bias_, running_mean_, running_var_, num_batches_;
};

/// Batch normalisation of [N, C] or [N, C, L] (torch.nn.BatchNorm1d); see BatchNorm.
template <class T = float>
class BatchNorm1d : public BatchNorm<T> {
public:
    /// PyTorch's defaults: eps 1e-5, momentum 0.1, affine and track_running_stats on.
    explicit BatchNorm1d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                         bool affine = true, bool track_running_stats = true)
        : BatchNorm<T>(num_features, eps, momentum, affine, track_running_stats, 2, 3) {}
    std::string name() const override { return "BatchNorm1d"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override {
        return this->copy_state_to(std::make_shared<BatchNorm1d<double>>(this->features_, this->eps_, this->momentum_,
                                                                         this->affine_, this->track_));
    }
};

/// Batch normalisation of [N, C, H, W] (torch.nn.BatchNorm2d); see BatchNorm.
template <class T = float>
class BatchNorm2d : public BatchNorm<T> {
public:
    /// PyTorch's defaults: eps 1e-5, momentum 0.1, affine and track_running_stats on.
    explicit BatchNorm2d(std::int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                         bool affine = true, bool track_running_stats = true)
        : BatchNorm<T>(num_features, eps, momentum, affine, track_running_stats, 4, 4) {}
    std::string name() const override { return "BatchNorm2d"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override {
        return this->copy_state_to(std::make_shared<BatchNorm2d<double>>(this->features_, this->eps_, this->momentum_,
                                                                         this->affine_, this->track_));
    }
};

}  // namespace tapegrad::nn
