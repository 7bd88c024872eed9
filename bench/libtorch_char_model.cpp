// examples/char_transformer's recipe in LibTorch, for the side-by-side in bench/RESULTS.md: the same
// data order (tapegrad's CharCorpus and Generator draw the windows), the same models, initialisation
// scheme, AdamW groups, warm-up + cosine schedule and clipping (examples/char_recipe.hpp,
// docs/char_model_recipe.md). Prints, per evaluation, step, train loss (mean over the steps since
// the last evaluation), validation loss in nats and bits per character and ms per training step
// (evaluation excluded); at the end the peak RSS and the unigram and bigram baselines.
// Usage: libtorch_char_model [--model transformer|lstm] [--steps N] [--eval-every N] [--data FILE]
//                            [--threads N] [--seed N]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <tapegrad/data/char_baselines.hpp>
#include <tapegrad/data/text.hpp>

#include "../examples/char_recipe.hpp"

namespace F = torch::nn::functional;
namespace R = char_recipe;

namespace {

struct Options {
    std::string model = "transformer";
    std::int64_t steps = R::kSteps;
    std::int64_t eval_every = R::kEvalEvery;
    std::string data;  // empty: the fortunes corpus
    int threads = 2;
    std::uint64_t seed = R::kSeed;
};

Options parse(int argc, char** argv) {
    Options o;
    if (argc % 2 == 0) throw std::invalid_argument(std::string("flag without a value: ") + argv[argc - 1]);
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--model")
            o.model = value;
        else if (flag == "--steps")
            o.steps = std::stoll(value);
        else if (flag == "--eval-every")
            o.eval_every = std::stoll(value);
        else if (flag == "--data")
            o.data = value;
        else if (flag == "--threads")
            o.threads = std::stoi(value);
        else if (flag == "--seed")
            o.seed = std::stoull(value);
        else
            throw std::invalid_argument("unknown flag " + flag);
    }
    if (o.model != "transformer" && o.model != "lstm") throw std::invalid_argument("--model is transformer or lstm");
    if (o.steps <= 0 || o.eval_every <= 0) throw std::invalid_argument("--steps and --eval-every must be positive");
    return o;
}

/// A pre-norm block: x + attn(ln_1(x)), then x + mlp(ln_2(x)); x is [T, B, d] (MultiheadAttention
/// in LibTorch 1.13 has no batch_first).
struct BlockImpl : torch::nn::Module {
    BlockImpl()
        : ln_1(register_module("ln_1",
                               torch::nn::LayerNorm(torch::nn::LayerNormOptions({R::kModel}).eps(R::kLayerNormEps)))),
          attn(register_module("attn", torch::nn::MultiheadAttention(R::kModel, R::kHeads))),
          ln_2(register_module("ln_2",
                               torch::nn::LayerNorm(torch::nn::LayerNormOptions({R::kModel}).eps(R::kLayerNormEps)))),
          fc(register_module("fc", torch::nn::Linear(R::kModel, R::kHidden))),
          proj(register_module("proj", torch::nn::Linear(R::kHidden, R::kModel))) {
        torch::NoGradGuard no_grad;
        attn->in_proj_weight.normal_(0, R::kInitStd);
        attn->in_proj_bias.zero_();
        attn->out_proj->weight.normal_(0, R::kResidualInitStd);
        attn->out_proj->bias.zero_();
        fc->weight.normal_(0, R::kInitStd);
        fc->bias.zero_();
        proj->weight.normal_(0, R::kResidualInitStd);
        proj->bias.zero_();
    }
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& causal) {
        const auto h = ln_1(x);
        x = x + std::get<0>(attn->forward(h, h, h, torch::Tensor(), /*need_weights=*/false, causal));
        return x + proj(F::gelu(fc(ln_2(x))));
    }
    torch::nn::LayerNorm ln_1;
    torch::nn::MultiheadAttention attn;
    torch::nn::LayerNorm ln_2;
    torch::nn::Linear fc, proj;
};
TORCH_MODULE(Block);

/// Decoder-only transformer; the output layer is the token embedding (tied, no bias).
struct TransformerImpl : torch::nn::Module {
    explicit TransformerImpl(std::int64_t vocab)
        : tok(register_module("tok_emb", torch::nn::Embedding(vocab, R::kModel))),
          pos(register_module("pos_emb", torch::nn::Embedding(R::kBlock, R::kModel))),
          ln_f(register_module("ln_f",
                               torch::nn::LayerNorm(torch::nn::LayerNormOptions({R::kModel}).eps(R::kLayerNormEps)))) {
        torch::NoGradGuard no_grad;
        tok->weight.normal_(0, R::kInitStd);
        pos->weight.normal_(0, R::kInitStd);
        for (std::int64_t l = 0; l < R::kLayers; ++l)
            blocks.push_back(register_module("h" + std::to_string(l), Block()));
    }
    /// idx [B, T] -> logits [B, T, V].
    torch::Tensor forward(const torch::Tensor& idx) {
        const std::int64_t t = idx.size(1);
        // Additive causal mask: -inf above the diagonal (a position sees itself and the past).
        const auto causal = torch::full({t, t}, -std::numeric_limits<float>::infinity()).triu(1);
        auto x = (tok(idx) + pos->weight.slice(0, 0, t)).transpose(0, 1);  // [T, B, d]
        for (auto& block : blocks) x = block->forward(x, causal);
        return torch::matmul(ln_f(x), tok->weight.t()).transpose(0, 1);
    }
    torch::nn::Embedding tok, pos;
    std::vector<Block> blocks;
    torch::nn::LayerNorm ln_f;
};
TORCH_MODULE(Transformer);

/// Embedding, stacked LSTM (zero initial state for every window), Linear output; PyTorch's
/// default initialisation throughout.
struct LstmModelImpl : torch::nn::Module {
    explicit LstmModelImpl(std::int64_t vocab)
        : emb(register_module("emb", torch::nn::Embedding(vocab, R::kLstmEmbedding))),
          lstm(register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(R::kLstmEmbedding, R::kLstmHidden)
                                                           .num_layers(R::kLstmLayers)
                                                           .batch_first(true)))),
          out(register_module("out", torch::nn::Linear(R::kLstmHidden, vocab))) {}
    torch::Tensor forward(const torch::Tensor& idx) { return out(std::get<0>(lstm(emb(idx)))); }
    torch::nn::Embedding emb;
    torch::nn::LSTM lstm;
    torch::nn::Linear out;
};
TORCH_MODULE(LstmModel);

torch::Tensor to_torch(const tapegrad::Indices& ids) {
    std::vector<std::int64_t> shape(ids.shape().begin(), ids.shape().end());
    return torch::from_blob(const_cast<std::int64_t*>(ids.begin()), shape, torch::kInt64).clone();
}

/// Per-token cross-entropies (nats) of logits [B, T, V] against targets [B, T], summed or averaged.
torch::Tensor token_loss(const torch::Tensor& logits, const torch::Tensor& y, bool sum) {
    const auto options = sum ? F::CrossEntropyFuncOptions().reduction(torch::kSum)
                             : F::CrossEntropyFuncOptions().reduction(torch::kMean);
    return F::cross_entropy(logits.reshape({-1, logits.size(-1)}), y.reshape({-1}), options);
}

template <class Model>
double validation_loss(Model& model, const std::vector<tapegrad::data::TextBatch>& batches) {
    torch::NoGradGuard no_grad;
    model->eval();
    double sum = 0;
    std::int64_t targets = 0;
    for (const auto& b : batches) {
        const auto y = to_torch(b.y);
        sum += token_loss(model->forward(to_torch(b.x)), y, /*sum=*/true).template item<double>();
        targets += y.numel();
    }
    model->train();
    return sum / double(targets);
}

template <class Model>
int train(Model model, const Options& o, const tapegrad::data::CharCorpus& corpus) {
    // AdamW groups: decay on parameters of 2+ dims (weights, embeddings), none on biases and norms.
    std::vector<torch::Tensor> decay, no_decay;
    std::int64_t count = 0;
    for (const auto& p : model->parameters()) {
        (p.dim() >= 2 ? decay : no_decay).push_back(p);
        count += p.numel();
    }
    const auto options = [](double wd) {
        return std::make_unique<torch::optim::AdamWOptions>(
            torch::optim::AdamWOptions(R::kLr).betas({R::kBeta1, R::kBeta2}).eps(R::kAdamEps).weight_decay(wd));
    };
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, options(R::kWeightDecay));
    groups.emplace_back(no_decay, options(0.0));
    torch::optim::AdamW adamw(groups, torch::optim::AdamWOptions(R::kLr));

    const auto validation = corpus.validation_batches(R::kEvalRows, R::kBlock);
    tapegrad::Generator gen(o.seed);
    std::printf(
        "libtorch %s: %s, %lld parameters; corpus %s: %zu bytes (train %zu, validation %zu), vocabulary %zu; "
        "batch %lld x block %lld, %lld steps, intra-op threads %d\n",
        TORCH_VERSION, o.model.c_str(), static_cast<long long>(count), corpus.name().c_str(), corpus.size(),
        corpus.train_size(), corpus.validation_size(), corpus.vocab_size(), static_cast<long long>(R::kBatch),
        static_cast<long long>(R::kBlock), static_cast<long long>(o.steps), torch::get_num_threads());
    std::fflush(stdout);

    double loss_sum = 0, train_seconds = 0, val = 0;
    std::int64_t since = 0;
    for (std::int64_t step = 0; step < o.steps; ++step) {
        const auto start = std::chrono::steady_clock::now();
        const double lr = R::learning_rate(step, o.steps);
        for (auto& g : adamw.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
        const auto batch = corpus.batch(gen, R::kBatch, R::kBlock);
        adamw.zero_grad();
        const auto loss = token_loss(model->forward(to_torch(batch.x)), to_torch(batch.y), /*sum=*/false);
        loss.backward();
        torch::nn::utils::clip_grad_norm_(model->parameters(), R::kClipNorm);
        adamw.step();
        loss_sum += loss.template item<double>();
        ++since;
        train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if ((step + 1) % o.eval_every == 0 || step + 1 == o.steps) {
            const auto eval_start = std::chrono::steady_clock::now();
            val = validation_loss(model, validation);
            const double eval_seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();
            std::printf(
                "step %lld/%lld: lr %.2e  train loss %.4f  val loss %.4f nats (%.4f bits/char)  %.1f ms/step  "
                "(eval %.1f s)\n",
                static_cast<long long>(step + 1), static_cast<long long>(o.steps), lr, loss_sum / double(since), val,
                val / std::numbers::ln2, 1000 * train_seconds / double(since), eval_seconds);
            std::fflush(stdout);
            loss_sum = 0;
            train_seconds = 0;
            since = 0;
        }
    }
    const auto unigram = tapegrad::data::unigram_cross_entropy(corpus);
    const auto bigram = tapegrad::data::bigram_cross_entropy(corpus);
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("final val loss %.4f nats (%.4f bits/char) after %lld steps; peak RSS %ld kB\n", val,
                val / std::numbers::ln2, static_cast<long long>(o.steps), usage.ru_maxrss);
    std::printf(
        "baselines on the same validation targets: unigram %.4f nats (%.4f bits/char), bigram %.4f nats "
        "(%.4f bits/char), add-one smoothing\n",
        unigram.nats, unigram.bits, bigram.nats, bigram.bits);
    return 0;
}

int run(const Options& o) {
    torch::set_num_threads(o.threads);
    torch::manual_seed(o.seed);
    const auto corpus = o.data.empty()
                            ? tapegrad::data::load_fortunes(tapegrad::data::kFortunesDir, R::kValidationFraction)
                            : tapegrad::data::CharCorpus::from_file(o.data, R::kValidationFraction);
    const auto vocab = static_cast<std::int64_t>(corpus.vocab_size());
    if (o.model == "lstm") return train(LstmModel(vocab), o, corpus);
    return train(Transformer(vocab), o, corpus);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "libtorch_char_model: %s\n", e.what());
        return 1;
    }
}
