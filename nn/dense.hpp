/// \file
/// Dense: the fully connected layer y = x W^T + b (PyTorch's Linear).
#pragma once

#include <cstddef>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// y = linear(x, W, b): x is [..., in_features] (one sample per row; any leading dims), W is
/// out_features x in_features, b has out_features elements; y is [..., out_features]. Initialised as PyTorch's Linear:
/// W and b uniform in
/// (-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)), drawn from `gen`, weight first.
template <class T = float>
class Dense : public Module<T> {
public:
    /// A layer from in_features to out_features (both > 0, else ValueError), with a bias unless
    /// `bias` is false, its parameters drawn from `gen`.
    Dense(std::size_t in_features, std::size_t out_features, Generator& gen, bool bias = true);
    /// A layer whose weight IS `weight` (out_features x in_features, both positive, else
    /// ShapeError; a leaf, else ValueError): weight tying, as PyTorch's `head.weight = emb.weight`.
    /// The tensor is shared, not copied, and is left as it is (not redrawn); it is marked
    /// requires_grad. A model holding both modules lists it once in parameters(). The bias, if any,
    /// is drawn from `gen` as the other constructor draws it.
    Dense(Tensor<T> weight, Generator& gen, bool bias = true);

    /// linear(x, weight, bias) for x of shape [..., in_features] (rank >= 1: [in_features] for one
    /// sample, [batch, in_features], [batch, sequence, in_features], ...), giving [..., out_features];
    /// ShapeError naming the layer and x's shape for a 0-d x or another last dim.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Dense"; }
    /// "784 -> 256, bias" or "784 -> 256, no bias".
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

    /// Redraws the parameters as the constructor does.
    void reset_parameters(Generator& gen);

    /// The weight, out_features x in_features (a parameter: it requires grad).
    const Tensor<T>& weight() const noexcept { return weight_; }
    /// Undefined when the layer has no bias.
    const Tensor<T>& bias() const noexcept { return bias_; }
    /// Whether the layer was built with a bias.
    bool has_bias() const noexcept { return bias_.defined(); }
    /// Features of each input sample (the last dim of x).
    std::size_t in_features() const noexcept { return in_; }
    /// Features of each output sample.
    std::size_t out_features() const noexcept { return out_; }

private:
    std::size_t in_;
    std::size_t out_;
    Tensor<T> weight_;
    Tensor<T> bias_;

    /// Draws the bias U(-1/sqrt(in), 1/sqrt(in)) from gen.
    void reset_bias(Generator& gen);
};

}  // namespace tapegrad::nn
