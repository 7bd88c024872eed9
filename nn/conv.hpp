/// \file
/// Convolution layers over ops/convolution.hpp: Conv1d, Conv2d and ConvTranspose2d (torch.nn's),
/// with PyTorch's arguments, defaults, parameter names (`weight`, `bias`) and initialisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/ops/convolution.hpp>

namespace tapegrad::nn {

/// What the three convolution layers share: the parameters and their initialisation. PyTorch's
/// reset_parameters: weight kaiming_uniform_ with a = sqrt(5), i.e. U(-1/sqrt(fan_in),
/// 1/sqrt(fan_in)), and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)), where fan_in = weight.shape[1]
/// times the kernel's elements (in_channels/groups for a convolution, out_channels/groups for a
/// transposed one: PyTorch computes it from the weight tensor in both cases).
template <class T>
class ConvBase : public Module<T> {
public:
    /// The weight (a parameter): [out, in/groups, k...], or [in, out/groups, k...] when transposed.
    const Tensor<T>& weight() const noexcept { return weight_; }
    /// Undefined when the layer has no bias; else [out_channels].
    const Tensor<T>& bias() const noexcept { return bias_; }
    /// Redraws weight and bias as the constructor does (weight first), from gen.
    void reset_parameters(Generator& gen);
    /// The number of channel groups.
    std::int64_t groups() const noexcept { return groups_; }

protected:
    /// Checks the channels, groups and padding_mode (ValueError naming `layer`: zero channels,
    /// groups < 1 or not dividing both channel counts, a padding_mode other than "zeros") and
    /// registers the parameters as zeros: the derived constructor checks the rest, then draws them
    /// (so that a constructor that throws has not drawn from the caller's generator).
    ConvBase(const char* layer, std::size_t in_channels, std::size_t out_channels, std::int64_t groups,
             const std::string& padding_mode, const Shape& weight_shape, bool bias);
    /// PyTorch's extra_repr after kernel_size, stride and padding: dilation, output_padding,
    /// groups and bias when they are not the defaults (the sizes already formatted).
    std::string repr_tail(const std::string& dilation, bool default_dilation, const std::string& output_padding,
                          bool default_output_padding) const;

    /// Input channels.
    std::size_t in_;
    /// Output channels.
    std::size_t out_;
    /// Groups.
    std::int64_t groups_;
    /// The weight parameter.
    Tensor<T> weight_;
    /// The bias parameter (undefined without one).
    Tensor<T> bias_;
};

/// torch.nn.Conv2d: conv2d(x, weight, bias, stride, padding, dilation, groups) on [N, C, H, W] or
/// [C, H, W]; weight [out_channels, in_channels/groups, kH, kW]. Errors at construction as
/// ConvBase, and ValueError for a kernel size below 1 or padding Same with a stride above 1 (as
/// PyTorch); forward throws as conv2d.
template <class T = float>
class Conv2d : public ConvBase<T> {
public:
    /// PyTorch's arguments and defaults, the parameters drawn from gen. padding_mode: only "zeros".
    Conv2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size, Generator& gen, Size2 stride = 1,
           ConvPadding2d padding = 0, Size2 dilation = 1, std::int64_t groups = 1, bool bias = true,
           const std::string& padding_mode = "zeros");
    /// conv2d with the layer's settings.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Conv2d"; }
    /// PyTorch's: "3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)" (defaults left out as there).
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;
    /// The stride.
    Size2 stride() const noexcept { return stride_; }
    /// The padding (sizes, or Same).
    ConvPadding2d padding() const noexcept { return padding_; }
    /// The dilation.
    Size2 dilation() const noexcept { return dilation_; }

private:
    Size2 kernel_, stride_, dilation_;
    ConvPadding2d padding_;
};

/// torch.nn.Conv1d: conv1d(x, weight, bias, stride, padding, dilation, groups) on [N, C, L] or
/// [C, L]; weight [out_channels, in_channels/groups, k]. Errors as Conv2d.
template <class T = float>
class Conv1d : public ConvBase<T> {
public:
    /// PyTorch's arguments and defaults, the parameters drawn from gen. padding_mode: only "zeros".
    Conv1d(std::size_t in_channels, std::size_t out_channels, std::int64_t kernel_size, Generator& gen,
           std::int64_t stride = 1, ConvPadding1d padding = 0, std::int64_t dilation = 1, std::int64_t groups = 1,
           bool bias = true, const std::string& padding_mode = "zeros");
    /// conv1d with the layer's settings.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Conv1d"; }
    /// PyTorch's: "3, 8, kernel_size=(3,), stride=(1,)" and the settings that are not the defaults.
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;
    /// The stride.
    std::int64_t stride() const noexcept { return stride_; }
    /// The padding (a size, or Same).
    ConvPadding1d padding() const noexcept { return padding_; }
    /// The dilation.
    std::int64_t dilation() const noexcept { return dilation_; }

private:
    std::int64_t kernel_, stride_, dilation_;
    ConvPadding1d padding_;
};

/// torch.nn.ConvTranspose2d: conv_transpose2d(x, weight, bias, stride, padding, output_padding,
/// groups, dilation); weight [in_channels, out_channels/groups, kH, kW]. Errors at construction as
/// ConvBase, and ValueError for a kernel size below 1 or an output_padding not smaller than either
/// stride or dilation; forward throws as conv_transpose2d.
template <class T = float>
class ConvTranspose2d : public ConvBase<T> {
public:
    /// PyTorch's arguments (in its order) and defaults, the parameters drawn from gen.
    ConvTranspose2d(std::size_t in_channels, std::size_t out_channels, Size2 kernel_size, Generator& gen,
                    Size2 stride = 1, Size2 padding = 0, Size2 output_padding = 0, std::int64_t groups = 1,
                    bool bias = true, Size2 dilation = 1, const std::string& padding_mode = "zeros");
    /// conv_transpose2d with the layer's settings.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "ConvTranspose2d"; }
    /// PyTorch's: "8, 3, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1)" and so on.
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

private:
    Size2 kernel_, stride_, padding_, output_padding_, dilation_;
};

}  // namespace tapegrad::nn
