/// \file
/// The character-level language model's recipe, shared by examples/char_transformer (tapegrad)
/// and bench/libtorch_char_model.cpp (LibTorch): every hyperparameter and the learning-rate
/// schedule, as constants with no dependency on either library. docs/char_model_recipe.md
/// describes the models, their initialisation and the data order line by line.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>

namespace char_recipe {

// Data (tapegrad::data::CharCorpus over tapegrad::data::load_fortunes()).
inline constexpr double kValidationFraction = 0.1;  ///< the last 10% of the bytes
inline constexpr std::int64_t kBlock = 128;         ///< context length (tokens per window)
inline constexpr std::int64_t kBatch = 32;          ///< windows per training step
inline constexpr std::uint64_t kSeed = 1;           ///< Generator(kSeed) draws the windows; torch::manual_seed(kSeed)
inline constexpr std::int64_t kEvalRows = 64;       ///< validation windows per forward pass (no effect on the loss)

// Transformer (--model transformer, the default).
inline constexpr std::int64_t kModel = 128;          ///< d_model: embedding and residual width
inline constexpr std::int64_t kLayers = 4;           ///< pre-norm blocks
inline constexpr std::int64_t kHeads = 4;            ///< attention heads (head size 32)
inline constexpr std::int64_t kHidden = 4 * kModel;  ///< MLP width (GELU, exact erf form)
inline constexpr double kLayerNormEps = 1e-5;        ///< PyTorch's default
inline constexpr double kInitStd = 0.02;             ///< N(0, 0.02) for weights and embeddings
/// Residual output projections (attention out_proj, second MLP layer): N(0, 0.02 / sqrt(2 layers)).
inline const double kResidualInitStd = kInitStd / std::sqrt(2.0 * double(kLayers));

// LSTM (--model lstm): about the transformer's parameter count.
inline constexpr std::int64_t kLstmEmbedding = 128;  ///< embedding width (the LSTM's input)
inline constexpr std::int64_t kLstmHidden = 240;     ///< hidden size of each layer
inline constexpr std::int64_t kLstmLayers = 2;       ///< stacked layers, batch_first

// Optimisation (both models).
inline constexpr std::int64_t kSteps = 1500;       ///< training steps
inline constexpr std::int64_t kWarmupSteps = 100;  ///< linear warm-up
inline constexpr std::int64_t kEvalEvery = 250;    ///< steps between validation passes (and after the last)
inline constexpr double kLr = 2e-3;                ///< peak learning rate
inline constexpr double kMinLr = kLr / 10;         ///< the cosine's floor, reached at the last step
inline constexpr double kBeta1 = 0.9;              ///< AdamW betas
inline constexpr double kBeta2 = 0.95;
inline constexpr double kAdamEps = 1e-8;     ///< PyTorch's default
inline constexpr double kWeightDecay = 0.1;  ///< AdamW's decoupled decay, on parameters of 2+ dims only
inline constexpr double kClipNorm = 1.0;     ///< total gradient 2-norm clipped to this before each step

/// The learning rate of step `step` (0-based, the step about to be taken): linear warm-up
/// kLr * (step + 1) / kWarmupSteps for the first kWarmupSteps steps, then a half cosine from kLr
/// down to kMinLr at step kSteps - 1.
inline double learning_rate(std::int64_t step, std::int64_t steps = kSteps) {
    if (step < kWarmupSteps) return kLr * double(step + 1) / double(kWarmupSteps);
    const double progress =
        steps - 1 > kWarmupSteps ? double(step - kWarmupSteps) / double(steps - 1 - kWarmupSteps) : 1.0;
    return kMinLr + 0.5 * (kLr - kMinLr) * (1 + std::cos(std::numbers::pi * std::fmin(progress, 1.0)));
}

}  // namespace char_recipe
