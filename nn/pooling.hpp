/// \file
/// Pooling modules (PyTorch's nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.MaxPool1d and
/// nn.AvgPool1d): their constructor arguments and defaults, a forward that calls the functional op
/// (ops/pooling.hpp), and PyTorch's repr (Flatten is in nn/flatten.hpp). They hold
/// no parameters. Arguments are checked by the op at forward, as PyTorch's modules do, so a bad
/// one throws the op's error (naming the op, the argument and x's shape).
#pragma once

#include <cstdint>
#include <optional>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/pooling.hpp>

namespace tapegrad::nn {

/// max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode) (torch::nn::MaxPool2d): stride
/// defaults to kernel_size. Differs from PyTorch: no return_indices.
template <class T = float>
class MaxPool2d : public Module<T> {
public:
    /// PyTorch's defaults: stride = kernel_size, padding 0, dilation 1, ceil_mode false.
    explicit MaxPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                       Size2 dilation = 1, bool ceil_mode = false)
        : kernel_(kernel_size),
          stride_(stride.value_or(kernel_size)),
          padding_(padding),
          dilation_(dilation),
          ceil_mode_(ceil_mode) {}
    /// max_pool2d of x [N, C, H, W] or [C, H, W].
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "MaxPool2d"; }
    /// "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False" ({h, w} pairs as "(3, 2)").
    std::string extra_repr() const override;
    /// A float64 copy with the same arguments (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    Size2 kernel_, stride_, padding_, dilation_;
    bool ceil_mode_;
};

/// max_pool1d(x, kernel_size, stride, padding, dilation, ceil_mode) (torch::nn::MaxPool1d).
/// Differs from PyTorch: no return_indices.
template <class T = float>
class MaxPool1d : public Module<T> {
public:
    /// PyTorch's defaults: stride = kernel_size, padding 0, dilation 1, ceil_mode false.
    explicit MaxPool1d(std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                       std::int64_t padding = 0, std::int64_t dilation = 1, bool ceil_mode = false)
        : kernel_(kernel_size),
          stride_(stride.value_or(kernel_size)),
          padding_(padding),
          dilation_(dilation),
          ceil_mode_(ceil_mode) {}
    /// max_pool1d of x [N, C, L] or [C, L].
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "MaxPool1d"; }
    /// "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False".
    std::string extra_repr() const override;
    /// A float64 copy with the same arguments (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    std::int64_t kernel_, stride_, padding_, dilation_;
    bool ceil_mode_;
};

/// avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
/// (torch::nn::AvgPool2d).
template <class T = float>
class AvgPool2d : public Module<T> {
public:
    /// PyTorch's defaults: stride = kernel_size, padding 0, ceil_mode false, count_include_pad
    /// true, no divisor_override.
    explicit AvgPool2d(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                       bool ceil_mode = false, bool count_include_pad = true,
                       std::optional<std::int64_t> divisor_override = std::nullopt)
        : kernel_(kernel_size),
          stride_(stride.value_or(kernel_size)),
          padding_(padding),
          ceil_mode_(ceil_mode),
          count_include_pad_(count_include_pad),
          divisor_(divisor_override) {}
    /// avg_pool2d of x [N, C, H, W] or [C, H, W].
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "AvgPool2d"; }
    /// "kernel_size=2, stride=2, padding=0" (PyTorch's repr shows only these three).
    std::string extra_repr() const override;
    /// A float64 copy with the same arguments (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    Size2 kernel_, stride_, padding_;
    bool ceil_mode_, count_include_pad_;
    std::optional<std::int64_t> divisor_;
};

/// avg_pool1d(x, kernel_size, stride, padding, ceil_mode, count_include_pad) (torch::nn::AvgPool1d).
template <class T = float>
class AvgPool1d : public Module<T> {
public:
    /// PyTorch's defaults: stride = kernel_size, padding 0, ceil_mode false, count_include_pad true.
    explicit AvgPool1d(std::int64_t kernel_size, std::optional<std::int64_t> stride = std::nullopt,
                       std::int64_t padding = 0, bool ceil_mode = false, bool count_include_pad = true)
        : kernel_(kernel_size),
          stride_(stride.value_or(kernel_size)),
          padding_(padding),
          ceil_mode_(ceil_mode),
          count_include_pad_(count_include_pad) {}
    /// avg_pool1d of x [N, C, L] or [C, L].
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "AvgPool1d"; }
    /// "kernel_size=(2,), stride=(2,), padding=(0,)" (PyTorch stores the sizes as 1-tuples).
    std::string extra_repr() const override;
    /// A float64 copy with the same arguments (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    std::int64_t kernel_, stride_, padding_;
    bool ceil_mode_, count_include_pad_;
};

/// adaptive_avg_pool2d(x, output_size) (torch::nn::AdaptiveAvgPool2d). Differs from PyTorch: no
/// None entry in output_size.
template <class T = float>
class AdaptiveAvgPool2d : public Module<T> {
public:
    /// The output's H x W: one int for both or {h, w}.
    explicit AdaptiveAvgPool2d(Size2 output_size) : size_(output_size) {}
    /// adaptive_avg_pool2d of x [N, C, H, W] or [C, H, W].
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "AdaptiveAvgPool2d"; }
    /// "output_size=1" or "output_size=(5, 7)".
    std::string extra_repr() const override;
    /// A float64 copy with the same output size (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    Size2 size_;
};

}  // namespace tapegrad::nn
