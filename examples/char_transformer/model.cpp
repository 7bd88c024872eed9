#include "model.hpp"

#include <string_view>

#include "../char_recipe.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace R = char_recipe;

namespace char_model {

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

CharTransformer::CharTransformer(std::size_t vocab, tg::Generator& gen) {
    const nn::TransformerEncoderLayerOptions block{.d_model = R::kModel,
                                                   .nhead = R::kHeads,
                                                   .dim_feedforward = R::kHidden,
                                                   .dropout = 0,
                                                   .activation = nn::TransformerActivation::GELU,
                                                   .layer_norm_eps = R::kLayerNormEps,
                                                   .batch_first = true,
                                                   .norm_first = true};
    tok_emb_ = std::make_shared<nn::Embedding<float>>(vocab, R::kModel, gen);
    pos_emb_ = std::make_shared<nn::LearnedPositionalEmbedding<float>>(R::kBlock, R::kModel, gen);
    encoder_ = std::make_shared<nn::TransformerEncoder<float>>(block, R::kLayers, gen, /*final_norm=*/true);
    head_ = std::make_shared<nn::Dense<float>>(tok_emb_->weight(), gen, /*bias=*/false);
    register_module("tok_emb", tok_emb_);
    register_module("pos_emb", pos_emb_);
    register_module("encoder", encoder_);
    register_module("head", head_);
    // The recipe's initialisation (GPT-2's), over PyTorch's defaults; norms keep their 1 and 0.
    for (auto& [name, p] : named_parameters()) {
        if (name.find("norm") != std::string::npos) continue;
        if (ends_with(name, "bias"))
            nn::init::zeros_(p);
        else if (ends_with(name, "out_proj.weight") || ends_with(name, "linear2.weight"))
            nn::init::normal_(p, gen, 0, R::kResidualInitStd);
        else
            nn::init::normal_(p, gen, 0, R::kInitStd);
    }
}

tg::Tensor<float> CharTransformer::logits(const tg::Indices& idx) {
    const tg::Tensor<float> x = (*pos_emb_)((*tok_emb_)(idx));
    return (*head_)(encoder_->forward(x, {.is_causal = true}));
}

CharLstm::CharLstm(std::size_t vocab, tg::Generator& gen) {
    emb_ = std::make_shared<nn::Embedding<float>>(vocab, R::kLstmEmbedding, gen);
    lstm_ = std::make_shared<nn::LSTM<float>>(R::kLstmEmbedding, R::kLstmHidden, gen,
                                              nn::RecurrentOptions{.num_layers = R::kLstmLayers, .batch_first = true});
    out_ = std::make_shared<nn::Dense<float>>(R::kLstmHidden, vocab, gen);
    register_module("emb", emb_);
    register_module("lstm", lstm_);
    register_module("out", out_);
}

tg::Tensor<float> CharLstm::logits(const tg::Indices& idx) {
    return (*out_)(lstm_->forward((*emb_)(idx)));
}

std::unique_ptr<CharModel> make_model(const std::string& kind, std::size_t vocab, tg::Generator& gen) {
    if (kind == "transformer") return std::make_unique<CharTransformer>(vocab, gen);
    if (kind == "lstm") return std::make_unique<CharLstm>(vocab, gen);
    tg::fail<tg::ValueError>("--model '{}': choose transformer or lstm", kind);
}

}  // namespace char_model
