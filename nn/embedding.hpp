/// \file
/// Embedding tables (PyTorch's nn.Embedding, with from_pretrained) and the positional encodings of
/// sequence models: the fixed sinusoidal table of "Attention is all you need" and a learned one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include <tapegrad/autograd/plain_tensor.hpp>
#include <tapegrad/autograd/random.hpp>
#include <tapegrad/nn/module.hpp>

namespace tapegrad::nn {

/// A lookup table of num_embeddings vectors of embedding_dim (torch::nn::Embedding): forward(idx)
/// is embedding(idx, weight, padding_idx), shape idx.shape + [embedding_dim]. Parameter `weight`,
/// num_embeddings x embedding_dim, initialised N(0, 1) as PyTorch's, with the padding row (if
/// any) zeroed; that row then gets no gradient, so it stays zero while training.
///
/// Weight tying (an output layer sharing the table): `Dense<float> head(emb.weight(), gen, false)`
/// holds the same tensor, so a model holding both lists it once in parameters() and an optimiser
/// steps it once, with the sum of both uses' gradients.
template <class T = float>
class Embedding : public Module<T> {
public:
    /// A table drawn from `gen`. padding_idx may be negative (counted from the end, stored
    /// resolved as PyTorch's); outside -num_embeddings..num_embeddings-1 it is a ValueError.
    Embedding(std::size_t num_embeddings, std::size_t embedding_dim, Generator& gen,
              std::optional<std::int64_t> padding_idx = std::nullopt);

    /// A table holding a copy of `weights` (2-d, else ShapeError) (torch::nn::Embedding::from_pretrained;
    /// PyTorch's shares the storage). With freeze the weight is still the parameter `weight` (so it is
    /// saved and loaded) but does not require grad, as PyTorch's: leave it out of an optimiser's list,
    /// which refuses tensors that do not require grad (PyTorch's skips them). The padding row is
    /// not zeroed, as PyTorch's.
    static Embedding from_pretrained(const Tensor<T>& weights, bool freeze = true,
                                     std::optional<std::int64_t> padding_idx = std::nullopt);

    /// embedding(idx, weight, padding_idx): IndexError for an id outside 0..num_embeddings-1. Call
    /// the module, `emb(idx)` (Module::operator()), to run its hooks.
    Tensor<T> forward(const Indices& idx) override;
    using Module<T>::forward;
    std::string name() const override { return "Embedding"; }
    /// "65, 256" or "65, 256, padding_idx=0" (PyTorch's repr).
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64), frozen when this one is.
    std::shared_ptr<Module<double>> to_float64() const override;

    /// Redraws the weight N(0, 1) from `gen` and zeroes the padding row, as the constructor does.
    void reset_parameters(Generator& gen);

    /// The table, num_embeddings x embedding_dim.
    const Tensor<T>& weight() const noexcept { return weight_; }
    /// Rows of the table.
    std::size_t num_embeddings() const noexcept { return weight_.shape()[0]; }
    /// Length of each vector.
    std::size_t embedding_dim() const noexcept { return weight_.shape()[1]; }
    /// The padding row, resolved to 0..num_embeddings-1, or none.
    std::optional<std::int64_t> padding_idx() const noexcept { return padding_; }

private:
    Embedding(Tensor<T> weight, std::optional<std::int64_t> padding_idx);

    Tensor<T> weight_;
    std::optional<std::int64_t> padding_;
};

/// Adds the fixed sinusoidal table of "Attention is all you need" (the PyTorch tutorial's
/// PositionalEncoding, without its dropout: follow it with nn::Dropout): buffer `pe`, max_len x
/// d_model, pe[pos][2i] = sin(pos / 10000^(2i / d_model)), pe[pos][2i + 1] = cos(the same angle)
/// (an odd d_model has one more sine column than cosine). forward(x) for x of shape
/// [..., seq, d_model] (usually [batch, seq, d_model]) is x + pe[0:seq]. No parameters.
template <class T = float>
class SinusoidalPositionalEncoding : public Module<T> {
public:
    /// A table for positions 0..max_len-1 (max_len and d_model positive, else ValueError).
    SinusoidalPositionalEncoding(std::size_t max_len, std::size_t d_model);

    /// x + pe[0:seq]; ShapeError naming the module and x's shape for x of fewer than 2 dims, a last dim
    /// other than d_model or seq beyond max_len.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "SinusoidalPositionalEncoding"; }
    /// "max_len=512, d_model=256".
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

    /// The table, max_len x d_model.
    const Tensor<T>& pe() const noexcept { return pe_; }

private:
    std::size_t max_len_;
    std::size_t d_model_;
    Tensor<T> pe_;
};

/// Adds a learned vector per position (GPT-2's wpe): parameter `weight`, max_len x d_model,
/// initialised N(0, 1) as nn::Embedding; forward(x) for x of shape [..., seq, d_model] is
/// x + weight[0:seq], the embedding of positions 0..seq-1 (taken as a slice: the same values and
/// gradient as embedding(arange(seq), weight), without building the ids).
template <class T = float>
class LearnedPositionalEmbedding : public Module<T> {
public:
    /// max_len x d_model positions drawn from `gen` (both positive, else ValueError).
    LearnedPositionalEmbedding(std::size_t max_len, std::size_t d_model, Generator& gen);

    /// x + weight[0:seq]; ShapeError as SinusoidalPositionalEncoding's.
    Tensor<T> forward(const Tensor<T>& x) override;
    std::string name() const override { return "LearnedPositionalEmbedding"; }
    /// "max_len=512, d_model=256".
    std::string extra_repr() const override;
    /// A float64 copy (Module::to_float64).
    std::shared_ptr<Module<double>> to_float64() const override;

    /// The table, max_len x d_model.
    const Tensor<T>& weight() const noexcept { return weight_; }

private:
    std::size_t max_len_;
    std::size_t d_model_;
    Tensor<T> weight_;
};

}  // namespace tapegrad::nn
