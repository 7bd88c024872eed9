// Dense: the fully connected layer y = x W^T + b (PyTorch's Linear).
#pragma once

#include <cstddef>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// y = linear(x, W, b): x is batch x in_features, W is out_features x in_features, b has
/// out_features elements. Initialised as PyTorch's Linear: W and b uniform in
/// (-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)), drawn from `gen`, weight first.
template <class T = float>
class Dense : public Module<T> {
public:
    Dense(std::size_t in_features, std::size_t out_features, Generator& gen, bool bias = true);

    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "Dense"; }
    /// "784 -> 256, bias" or "784 -> 256, no bias".
    std::string extra_repr() const override;

    /// Redraws the parameters as the constructor does.
    void reset_parameters(Generator& gen);

    const Tensor<T>& weight() const noexcept { return weight_; }
    /// Undefined when the layer has no bias.
    const Tensor<T>& bias() const noexcept { return bias_; }
    bool has_bias() const noexcept { return bias_.defined(); }
    std::size_t in_features() const noexcept { return in_; }
    std::size_t out_features() const noexcept { return out_; }

private:
    std::size_t in_;
    std::size_t out_;
    Tensor<T> weight_;
    Tensor<T> bias_;
};

}  // namespace tapegrad::nn
