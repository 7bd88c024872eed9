/// \file
/// TransformerEncoderLayer and TransformerEncoder (torch.nn.TransformerEncoderLayer and
/// torch.nn.TransformerEncoder): self-attention and a feed-forward block, each with a residual
/// connection and layer norm, pre-norm or post-norm.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/attention.hpp>
#include <tapegrad/nn/dense.hpp>
#include <tapegrad/nn/dropout.hpp>
#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/normalization.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>

namespace tapegrad::nn {

/// The feed-forward block's activation: ReLU (PyTorch's default) or GELU (exact, as PyTorch's
/// "gelu").
enum class TransformerActivation { ReLU, GELU };

/// The settings of a TransformerEncoderLayer, with PyTorch's defaults:
/// `{.d_model = 256, .nhead = 8, .dim_feedforward = 1024, .norm_first = true}`.
struct TransformerEncoderLayerOptions {
    /// Features of every position (E); divisible by nhead.
    std::size_t d_model = 0;
    /// Attention heads.
    std::size_t nhead = 0;
    /// Hidden features of the feed-forward block.
    std::size_t dim_feedforward = 2048;
    /// Dropout after attention, inside and after the feed-forward block, and on the attention
    /// weights (PyTorch passes it to the attention too).
    double dropout = 0.1;
    /// The feed-forward block's activation.
    TransformerActivation activation = TransformerActivation::ReLU;
    /// eps of both layer norms.
    double layer_norm_eps = 1e-5;
    /// Inputs [N, S, E] rather than [S, N, E].
    bool batch_first = false;
    /// Pre-norm (x + f(norm(x))) rather than post-norm (norm(x + f(x))).
    bool norm_first = false;
    /// Biases in the linear layers and the layer norms.
    bool bias = true;
};

/// The optional arguments of the encoder's forward, as PyTorch's keyword arguments.
template <class T = float>
struct TransformerEncoderArgs {
    /// The self-attention's attn_mask ([S, S] or [N * nhead, S, S]; boolean true = not allowed, or
    /// additive), as MultiheadAttention's.
    AttentionMask<T> mask = {};
    /// [N, S], true = this position is padding and is ignored as a key.
    std::optional<Mask> src_key_padding_mask = std::nullopt;
    /// Causal self-attention (position i attends to 0..i) without building a mask.
    bool is_causal = false;
};

/// One encoder layer (torch.nn.TransformerEncoderLayer). With x the input and
/// sa(x) = dropout1(self_attn(x, x, x)), ff(x) = dropout2(linear2(dropout(act(linear1(x))))):
///   post-norm (default): x = norm1(x + sa(x)); x = norm2(x + ff(x))
///   pre-norm:            x = x + sa(norm1(x)); x = x + ff(norm2(x))
/// Children and state_dict keys as PyTorch's: `self_attn` (MultiheadAttention, its own
/// initialisation), `linear1`, `dropout`, `linear2` (Linear's default initialisation), `norm1`,
/// `norm2` (ones and zeros), `dropout1`, `dropout2`.
template <class T = float>
class TransformerEncoderLayer : public Module<T> {
public:
    /// A layer with `options` (ValueError for d_model or nhead 0, or d_model not divisible by nhead),
    /// its parameters and dropout streams drawn from `gen`.
    TransformerEncoderLayer(const TransformerEncoderLayerOptions& options, Generator& gen);

    /// The layer on src [S, N, E] ([N, S, E] with batch_first, [S, E] unbatched), no masks.
    Tensor<T> forward(const Tensor<T>& src) override;
    /// The layer with masks (TransformerEncoderArgs).
    Tensor<T> forward(const Tensor<T>& src, const TransformerEncoderArgs<T>& args);
    std::string name() const override { return "TransformerEncoderLayer"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

    /// The settings it was built with.
    const TransformerEncoderLayerOptions& options() const noexcept { return options_; }

private:
    TransformerEncoderLayerOptions options_;
    std::shared_ptr<MultiheadAttention<T>> self_attn_;
    std::shared_ptr<Dense<T>> linear1_;
    std::shared_ptr<Dropout<T>> dropout_;
    std::shared_ptr<Dense<T>> linear2_;
    std::shared_ptr<LayerNorm<T>> norm1_;
    std::shared_ptr<LayerNorm<T>> norm2_;
    std::shared_ptr<Dropout<T>> dropout1_;
    std::shared_ptr<Dropout<T>> dropout2_;

    template <class U>
    friend class TransformerEncoderLayer;
    template <class U>
    friend class TransformerEncoder;

    Tensor<T> self_attention_block(const Tensor<T>& x, const TransformerEncoderArgs<T>& args);
    Tensor<T> feed_forward_block(const Tensor<T>& x);
    /// Gives `copy` this layer's dropout streams.
    void copy_streams_to(TransformerEncoderLayer<double>& copy) const;
};

/// A stack of encoder layers (torch.nn.TransformerEncoder), optionally followed by a layer norm
/// (`norm`; pre-norm stacks usually want one). Children: `layers` holding `0`, `1`, ... (keys
/// `layers.0.self_attn.in_proj_weight`, ...) and `norm` when given.
///
/// Differs from PyTorch: PyTorch deep-copies one layer num_layers times, so every layer starts from
/// the same weights; here each layer draws its own from `gen` (independent initialisation, as
/// a stack built layer by layer would have).
template <class T = float>
class TransformerEncoder : public Module<T> {
public:
    /// num_layers (> 0, else ValueError) layers built with `layer`, then a LayerNorm(d_model,
    /// layer_norm_eps) when `final_norm`.
    TransformerEncoder(const TransformerEncoderLayerOptions& layer, std::size_t num_layers, Generator& gen,
                       bool final_norm = false);

    /// Every layer in turn on src, no masks.
    Tensor<T> forward(const Tensor<T>& src) override;
    /// Every layer in turn with the same masks, then the final norm.
    Tensor<T> forward(const Tensor<T>& src, const TransformerEncoderArgs<T>& args);
    std::string name() const override { return "TransformerEncoder"; }
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

    /// The number of layers.
    std::size_t num_layers() const noexcept { return layers_.size(); }
    /// The i-th layer.
    TransformerEncoderLayer<T>& layer(std::size_t i) const;

private:
    TransformerEncoderLayerOptions options_;
    bool final_norm_;
    std::vector<std::shared_ptr<TransformerEncoderLayer<T>>> layers_;
    std::shared_ptr<LayerNorm<T>> norm_;

    template <class U>
    friend class TransformerEncoder;
};

}  // namespace tapegrad::nn
