// What every benchmark program measures: sizes, names and input data shared by tapegrad's
// program, the raw-BLAS floor and LibTorch's, so that scripts/bench.sh can pair rows by name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace workloads {

/// MLP 784-256-128-10 (ReLU), cross-entropy with logits, plain SGD.
inline constexpr std::size_t kIn = 784;
inline constexpr std::size_t kHidden1 = 256;
inline constexpr std::size_t kHidden2 = 128;
inline constexpr std::size_t kClasses = 10;
inline constexpr float kLr = 0.01F;
inline const std::vector<std::size_t> kMlpBatches = {1, 32, 256, 1024};

/// Autograd overhead: a chain of this many multiplications on a 0-d tensor, then backward.
inline constexpr int kChainOps = 100;

/// Linear 4096 -> 4096 at batch 512: forward and backward (dx, dW, db) are 3 GEMMs.
inline constexpr std::size_t kLinearBatch = 512;
inline constexpr std::size_t kLinearFeatures = 4096;

/// Batched matmul [8, 8, 128, 64] x [8, 8, 64, 128] (attention's scores: batch, heads, sequence,
/// head dim), forward and backward: 3 x 64 GEMMs of 128 x 128 x 64.
inline const std::vector<std::size_t> kBmmA = {8, 8, 128, 64};
inline const std::vector<std::size_t> kBmmB = {8, 8, 64, 128};
inline constexpr std::size_t kBmmProducts = 8 * 8;
inline const std::string kBmmName = "matmul_4d/8x8x128x64";

/// Linear 512 -> 512 over a sequence batch x [32, 128, 512], forward and backward (dx, dW, db).
inline constexpr std::size_t kSeqBatch = 32;
inline constexpr std::size_t kSeqLen = 128;
inline constexpr std::size_t kSeqFeatures = 512;
inline const std::string kSeqLinearName = "linear_3d/32x128x512";

/// Elementwise ops and softmax-cross-entropy sizes.
inline const std::vector<std::size_t> kElementwiseSizes = {1024, 1 << 20};
struct XentSize {
    std::size_t batch, classes;
};
inline const std::vector<XentSize> kXentSizes = {{32, 10}, {1024, 1000}};

/// Embedding-like lookups, forward + backward: index_select of kLookups rows of a kTableRows x
/// kTableCols float32 table along dim 0, and gather along dim 0 with a [kLookups, kTableCols] index.
inline constexpr std::size_t kTableRows = 10000;
inline constexpr std::size_t kTableCols = 256;
inline constexpr std::size_t kLookups = 4096;
inline const std::string kIndexSelectName = "index_select/10000x256/4096";
inline const std::string kGatherName = "gather/10000x256/4096x256";
/// Reductions on a float32 matrix, forward + backward: the 2-norm of all of it ("norm2/RxC") and
/// the variance of each row (dim 1, correction 1: "var_dim1/RxC"), backward from a fixed seed.
inline constexpr std::size_t kReduceRows = 1024;
inline constexpr std::size_t kReduceCols = 1024;
inline std::string reduce_name(const std::string& op) {
    return op + "/" + std::to_string(kReduceRows) + "x" + std::to_string(kReduceCols);
}

inline std::string mlp_name(std::size_t batch) {
    return "mlp_step/" + std::to_string(batch);
}
inline std::string xent_name(const XentSize& s) {
    return "softmax_xent/" + std::to_string(s.batch) + "x" + std::to_string(s.classes);
}

/// Deterministic values in [-scale, scale), the same in every program (xorshift64).
inline std::vector<float> uniform(std::size_t n, float scale, std::uint64_t seed) {
    std::vector<float> out(n);
    std::uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (auto& v : out) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v = scale * (static_cast<float>(s >> 40) / static_cast<float>(1ULL << 24) * 2.0F - 1.0F);
    }
    return out;
}

/// n token ids in [0, rows), scattered over the table with repeats (Knuth's multiplicative hash).
inline std::vector<std::int64_t> token_ids(std::size_t n, std::size_t rows) {
    std::vector<std::int64_t> out(n);
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<std::int64_t>((((i + 1) * 2654435761ULL) & 0xFFFFFFFFULL) % rows);
    return out;
}

/// Class labels for a batch: row i gets (3 i + 1) mod classes.
inline std::vector<std::int64_t> labels(std::size_t batch, std::size_t classes) {
    std::vector<std::int64_t> out(batch);
    for (std::size_t i = 0; i < batch; ++i) out[i] = static_cast<std::int64_t>((3 * i + 1) % classes);
    return out;
}

/// where(mask, a, b) on float32 [1024, 1024], forward and backward (da and db), the mask about half
/// true: uniform(n, 1, kWhereMaskSeed) > 0.
inline constexpr std::size_t kWhereSize = 1024;
inline constexpr std::uint64_t kWhereMaskSeed = 4;
inline const std::string kWhereName = "where/1024x1024";

/// Attention, forward + backward from a fixed seed: scaled_dot_product_attention of q, k, v
/// [8, 8, 256, 64] float32 with is_causal ("sdpa_causal"), and MultiheadAttention self-attention on
/// x [16, 128, 256] (batch_first, E = 256, 8 heads, need_weights false; "mha_self"), gradients of
/// the input and the parameters.
inline constexpr std::size_t kSdpaBatch = 8;
inline constexpr std::size_t kSdpaHeads = 8;
inline constexpr std::size_t kSdpaLen = 256;
inline constexpr std::size_t kSdpaDim = 64;
inline const std::string kSdpaName = "sdpa_causal/8x8x256x64";
inline constexpr std::size_t kMhaEmbed = 256;
inline constexpr std::size_t kMhaHeads = 8;
inline constexpr std::size_t kMhaBatch = 16;
inline constexpr std::size_t kMhaLen = 128;
inline const std::string kMhaName = "mha_self/16x128x256h8";

}  // namespace workloads

namespace workloads {

/// embedding(ids, table) forward + backward: a 65 x 256 float32 table (a character vocabulary)
/// and ids of shape [64, 256] (token_ids, repeats everywhere), the gradient seed uniform.
inline constexpr std::size_t kEmbedVocab = 65;
inline constexpr std::size_t kEmbedDim = 256;
inline constexpr std::size_t kEmbedBatch = 64;
inline constexpr std::size_t kEmbedSeq = 256;
inline const std::string kEmbeddingName = "embedding/65x256_ids64x256";

/// dropout(x, 0.1, training) forward + backward on float32 [4096, 1024], the gradient seed uniform.
inline constexpr std::size_t kDropoutRows = 4096;
inline constexpr std::size_t kDropoutCols = 1024;
inline constexpr double kDropoutP = 0.1;
inline const std::string kDropoutName = "dropout/4096x1024_p0.1";
/// Recurrent layers (LSTM, GRU): input 64, hidden 256, sequence 128, batch 32, 1 layer, float32,
/// [L, N, features] input that does not require grad; forward and backward from a fixed seed on the
/// output sequence. Parameters uniform(n, kRnnScale, 10 + k) for the k-th in registration order
/// (weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0), the same in both programs.
inline constexpr std::size_t kRnnInput = 64;
inline constexpr std::size_t kRnnHidden = 256;
inline constexpr std::size_t kRnnLen = 128;
inline constexpr std::size_t kRnnBatch = 32;
inline constexpr float kRnnScale = 0.0625F;  // 1 / sqrt(hidden), PyTorch's initialisation bound
inline std::string rnn_name(const std::string& kind) {
    return kind + "/64x256/L128xN32";
}

/// Normalisation of a transformer's activations, forward + backward: float32 x [4096, 512] (32
/// windows of 128 tokens, width 512) with weight and bias [512], all requiring grad, the gradient
/// seed uniform: layer_norm over the last dim ("layer_norm"), and batch_norm in training mode
/// with running statistics, momentum 0.1 ("batch_norm1d").
inline constexpr std::size_t kNormRows = 4096;
inline constexpr std::size_t kNormCols = 512;
inline const std::string kLayerNormName = "layer_norm/4096x512";
inline const std::string kBatchNormName = "batch_norm1d/4096x512";

}  // namespace workloads

namespace workloads {

/// Convolutions, forward + backward of x, weight and bias, float32, the gradient seed uniform:
/// a 3x3 64 -> 64 convolution with padding 1 on [8, 64, 56, 56] (a ResNet stage), and a depthwise
/// 3x3 (groups = 64) on the same input. Inputs uniform(n, 1, 1), weight uniform(n, 1/24, 2) (about
/// PyTorch's bound 1/sqrt(fan_in): 1/24 for 576 inputs), bias uniform(n, 0.1, 3), seed uniform(n, 1, 4).
inline constexpr std::size_t kConvBatch = 8;
inline constexpr std::size_t kConvChannels = 64;
inline constexpr std::size_t kConvSize = 56;
inline const std::string kConv3x3Name = "conv2d_3x3/64x64_56x56_b8";
inline const std::string kConvDepthwiseName = "conv2d_depthwise/64_56x56_b8";

/// max_pool2d(x, 2) forward + backward on float32 [8, 64, 56, 56] (a ResNet stem's pooling size
/// after the first stage), x uniform(n, 1, 1) requiring grad, the gradient seed uniform(n, 1, 2).
inline constexpr std::size_t kPoolBatch = 8;
inline constexpr std::size_t kPoolChannels = 64;
inline constexpr std::size_t kPoolSize = 56;
inline const std::string kMaxPoolName = "max_pool2d_2x2/64x56x56_b8";

}  // namespace workloads

namespace workloads {

/// One convolution row, forward + backward, float32, 3x3 kernel with padding 1 (the output as large
/// as the input), x and weight (and the bias, when there is one) requiring grad, the gradient seed
/// uniform(n, 1, 4); inputs uniform(n, 1, 1), weight uniform(n, weight_scale, 2), bias uniform(n, 0.1, 3).
struct ConvRow {
    std::string name;
    std::size_t batch, in_channels, out_channels, size, groups;
    bool bias;
    float weight_scale;
    /// Multiply-adds of the forward, times 2, times 3 for the forward, the input and the weight gradient
    /// (each the same count); the bias's sum is left out.
    double flops() const { return 3.0 * 2.0 * double(batch * out_channels * (in_channels / groups) * 9 * size * size); }
};

/// The two rows above (conv2d_3x3, conv2d_depthwise), and the example CNN's two convolutions at
/// batch 100 (README, examples/fashion_mnist --model cnn): 1 -> 32 at 28x28 and 32 -> 64 at 14x14,
/// no bias (a batch norm follows), weight scale 1/sqrt(fan_in) as PyTorch's bound.
inline const std::vector<ConvRow>& conv_rows() {
    static const std::vector<ConvRow> rows = {
        {kConv3x3Name, kConvBatch, kConvChannels, kConvChannels, kConvSize, 1, true, 1.0F / 24},
        {kConvDepthwiseName, kConvBatch, kConvChannels, kConvChannels, kConvSize, kConvChannels, true, 1.0F / 24},
        {"cnn_conv1/1x32_28x28_b100", 100, 1, 32, 28, 1, false, 1.0F / 3},
        {"cnn_conv2/32x64_14x14_b100", 100, 32, 64, 14, 1, false, 0.059F},
    };
    return rows;
}

/// One whole training step of examples/fashion_mnist's CNN (model.hpp; LibTorch: the same layers,
/// bench/libtorch_fashion_models.hpp) at batch 100, in training mode (batch norm's batch statistics,
/// dropout on): forward, cross-entropy, backward, Adam step (lr 1e-3, L2 weight decay 1e-4), each
/// framework's default initialisation. x [100, 784] uniform(n, 1, 1), labels(100, 10).
inline constexpr std::size_t kCnnStepBatch = 100;
inline const std::string kCnnStepName = "cnn_step/100";

}  // namespace workloads

namespace workloads {

/// Gradient checkpointing's workload: an MLP of 32 Dense 1024 -> 1024 layers, each followed by a
/// ReLU (64 modules), float32, batch 256, each framework's default initialisation; one step is
/// zero_grad, forward, loss = mean(square(output)), backward (no optimiser). x uniform(n, 1, 1).
/// tapegrad runs it plainly ("deep_mlp_step/32x1024_b256") and in k checkpointed segments
/// (".../ckpt<k>", Sequential::set_checkpoint_segments); LibTorch (no checkpoint in C++) plainly.
inline constexpr std::size_t kDeepLayers = 32;
inline constexpr std::size_t kDeepWidth = 1024;
inline constexpr std::size_t kDeepBatch = 256;
inline const std::string kDeepMlpName = "deep_mlp_step/32x1024_b256";

}  // namespace workloads
