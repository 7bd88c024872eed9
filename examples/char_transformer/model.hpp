// The character-level language models of examples/char_transformer, as in
// docs/char_model_recipe.md: a decoder-only transformer (the default) and an LSTM of similar size.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <tapegrad/tapegrad.hpp>

namespace char_model {

/// A language model over token ids: logits of the next token at every position.
class CharModel : public tapegrad::nn::Module<float> {
public:
    /// idx [B, T] token ids -> logits [B, T, vocab]: position t sees tokens 0..t only.
    virtual tapegrad::Tensor<float> logits(const tapegrad::Indices& idx) = 0;
};

/// Token embedding plus learned positions, kLayers pre-norm TransformerEncoder blocks (causal
/// self-attention, GELU MLP, no dropout), a final LayerNorm, and an output layer whose weight IS the
/// token embedding (tied, no bias). Initialised as the recipe says: embeddings and weights
/// N(0, 0.02), the residual projections (out_proj, linear2) N(0, 0.02 / sqrt(2 kLayers)), biases 0,
/// norms 1 and 0.
class CharTransformer : public CharModel {
public:
    CharTransformer(std::size_t vocab, tapegrad::Generator& gen);
    tapegrad::Tensor<float> logits(const tapegrad::Indices& idx) override;
    std::string name() const override { return "CharTransformer"; }

private:
    std::shared_ptr<tapegrad::nn::Embedding<float>> tok_emb_;
    std::shared_ptr<tapegrad::nn::LearnedPositionalEmbedding<float>> pos_emb_;
    std::shared_ptr<tapegrad::nn::TransformerEncoder<float>> encoder_;
    std::shared_ptr<tapegrad::nn::Dense<float>> head_;
};

/// Embedding, a kLstmLayers LSTM (batch_first, zero initial state for every window) and a Dense
/// output layer, with PyTorch's default initialisation.
class CharLstm : public CharModel {
public:
    CharLstm(std::size_t vocab, tapegrad::Generator& gen);
    tapegrad::Tensor<float> logits(const tapegrad::Indices& idx) override;
    std::string name() const override { return "CharLstm"; }

private:
    std::shared_ptr<tapegrad::nn::Embedding<float>> emb_;
    std::shared_ptr<tapegrad::nn::LSTM<float>> lstm_;
    std::shared_ptr<tapegrad::nn::Dense<float>> out_;
};

/// "transformer" or "lstm" (else ValueError), its parameters drawn from `gen`.
std::unique_ptr<CharModel> make_model(const std::string& kind, std::size_t vocab, tapegrad::Generator& gen);

}  // namespace char_model
