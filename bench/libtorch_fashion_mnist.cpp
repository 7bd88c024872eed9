// examples/fashion_mnist's recipes in LibTorch, for the epoch-time and peak-RSS comparison in bench/RESULTS.md:
// --model mlp (default): MLP 784-256-128-10 (ReLU), Adam lr 1e-3, batch 128, no schedule (bench.sh runs
// the example with --schedule none);
// --model cnn: the CNN of examples/fashion_mnist/model.hpp, layer for layer, with the example's cnn
// defaults: Adam (L2 weight decay 1e-4) under PyTorch's OneCycleLR peaking at 3e-3, stepped per batch
// (Adam's beta1 cycled), batch 100, train()/eval() around the evaluation.
// Both: cross-entropy on logits, a new shuffle each epoch, pixels standardised as tapegrad's loader does;
// the test set is evaluated after each epoch in chunks of 1000 and, as in the example, counts towards the
// epoch's time. The epoch lines use the example's format so that bench/report.py reads both alike.
// Usage: libtorch_fashion_mnist [--model mlp|cnn] [--epochs N] [--threads N (OpenBLAS; 0 keeps its default)]
//                               [--intra-op N (LibTorch's threads, default 1)] [--seed N] [--data DIR]
#include <cblas.h>
#include <sys/resource.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "libtorch_fashion_models.hpp"

namespace F = torch::nn::functional;

namespace {

constexpr double kMean = 0.2860;  // tapegrad::data::kFashionMnistMean
constexpr double kStd = 0.3530;   // tapegrad::data::kFashionMnistStd
constexpr std::int64_t kEvalChunk = 1000;

struct Options {
    std::string model = "mlp";
    int epochs = 2;
    int threads = 0;
    int intra_op = 1;
    std::uint64_t seed = 0;
    std::string data = "/usr/share/datasets/fashion-mnist";
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i], value = argv[i + 1];
        if (flag == "--model")
            o.model = value;
        else if (flag == "--epochs")
            o.epochs = std::stoi(value);
        else if (flag == "--intra-op")
            o.intra_op = std::stoi(value);
        else if (flag == "--threads")
            o.threads = std::stoi(value);
        else if (flag == "--seed")
            o.seed = std::stoull(value);
        else if (flag == "--data")
            o.data = value;
        else
            throw std::invalid_argument("unknown flag " + flag);
    }
    if (argc % 2 == 0) throw std::invalid_argument(std::string("flag without a value: ") + argv[argc - 1]);
    if (o.model != "mlp" && o.model != "cnn") throw std::invalid_argument("--model is mlp or cnn, not " + o.model);
    return o;
}

/// A gzipped IDX file's payload after its header (magic, then one big-endian 32-bit size per
/// dimension); `dims` receives the sizes.
std::vector<unsigned char> read_idx(const std::string& path, std::vector<std::int64_t>& dims) {
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) throw std::runtime_error("cannot open " + path);
    auto read = [&](void* into, unsigned n) {
        if (gzread(file, into, n) != static_cast<int>(n)) {
            gzclose(file);
            throw std::runtime_error("short read in " + path);
        }
    };
    unsigned char magic[4];
    read(magic, 4);
    dims.assign(magic[3], 0);
    std::int64_t total = 1;
    for (auto& d : dims) {
        unsigned char b[4];
        read(b, 4);
        d = (std::int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
        total *= d;
    }
    std::vector<unsigned char> bytes(static_cast<std::size_t>(total));
    read(bytes.data(), static_cast<unsigned>(total));
    gzclose(file);
    return bytes;
}

struct Split {
    torch::Tensor x;  // N x 784, standardised
    torch::Tensor y;  // N, int64
};

Split load(const std::string& folder, const std::string& prefix) {
    std::vector<std::int64_t> image_dims, label_dims;
    const auto pixels = read_idx(folder + "/" + prefix + "-images-idx3-ubyte.gz", image_dims);
    const auto labels = read_idx(folder + "/" + prefix + "-labels-idx1-ubyte.gz", label_dims);
    const std::int64_t n = image_dims[0], features = image_dims[1] * image_dims[2];
    // x = (byte / 255 - mean) / std, in double, stored as float: tapegrad's make_dataset.
    const double scale = 1.0 / (255.0 * kStd), shift = -kMean / kStd;
    auto x = torch::empty({n, features}, torch::kFloat32);
    float* xp = x.data_ptr<float>();
    for (std::size_t i = 0; i < pixels.size(); ++i) xp[i] = static_cast<float>(pixels[i] * scale + shift);
    auto y = torch::empty({n}, torch::kInt64);
    std::copy(labels.begin(), labels.end(), y.data_ptr<std::int64_t>());
    return {x, y};
}

std::pair<double, double> evaluate(torch::nn::Sequential& model, const Split& test) {
    torch::NoGradGuard no_grad;
    double loss_sum = 0;
    std::int64_t correct = 0;
    const std::int64_t n = test.x.size(0);
    for (std::int64_t at = 0; at < n; at += kEvalChunk) {
        const auto x = test.x.slice(0, at, std::min(n, at + kEvalChunk));
        const auto y = test.y.slice(0, at, std::min(n, at + kEvalChunk));
        const auto logits = model->forward(x);
        loss_sum += F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kSum)).item<double>();
        correct += logits.argmax(1).eq(y).sum().item<std::int64_t>();
    }
    return {loss_sum / double(n), double(correct) / double(n)};
}

/// The recipe of each model: what the example's defaults are (--model mlp with --schedule none).
struct Recipe {
    std::int64_t batch;
    double lr;            // Adam's; OneCycleLR's peak
    double weight_decay;  // Adam's L2 term
    bool one_cycle;
};

/// PyTorch's OneCycleLR at step `step` of `total` (its defaults: pct_start 0.3, cos anneal, div_factor 25,
/// final_div_factor 1e4, momentum 0.95 -> 0.85 -> 0.95): {lr, beta1}.
std::pair<double, double> one_cycle(double max_lr, std::int64_t step, std::int64_t total) {
    const double initial = max_lr / 25, final_lr = initial / 1e4, rise_end = 0.3 * double(total) - 1;
    const auto anneal = [](double start, double end, double pct) {
        return end + (start - end) / 2 * (1 + std::cos(M_PI * pct));
    };
    if (double(step) <= rise_end) {
        const double pct = double(step) / rise_end;
        return {anneal(initial, max_lr, pct), anneal(0.95, 0.85, pct)};
    }
    const double pct = (double(step) - rise_end) / (double(total) - 1 - rise_end);
    return {anneal(max_lr, final_lr, pct), anneal(0.85, 0.95, pct)};
}

void set_lr(torch::optim::Adam& adam, std::pair<double, double> lr_beta1) {
    for (auto& group : adam.param_groups()) {
        auto& options = static_cast<torch::optim::AdamOptions&>(group.options());
        options.lr(lr_beta1.first);
        options.betas({lr_beta1.second, 0.999});
    }
}

int run(const Options& o) {
    // MLP: LibTorch's best intra-op setting on 2 cores (bench/RESULTS.md); the CNN's convolutions use more.
    torch::set_num_threads(o.intra_op);
    if (o.threads > 0) openblas_set_num_threads(o.threads);
    torch::manual_seed(o.seed);
    const Split train = load(o.data, "train"), test = load(o.data, "t10k");
    const std::int64_t n = train.x.size(0);

    const Recipe recipe = o.model == "mlp" ? Recipe{128, 1e-3, 0, false} : Recipe{100, 3e-3, 1e-4, true};
    const std::int64_t steps = (n + recipe.batch - 1) / recipe.batch, total = steps * o.epochs;
    torch::nn::Sequential model = libtorch_fashion::build_model(o.model);
    torch::optim::Adam adam(model->parameters(),
                            torch::optim::AdamOptions(recipe.lr).weight_decay(recipe.weight_decay));
    if (recipe.one_cycle) set_lr(adam, one_cycle(recipe.lr, 0, total));
    auto shuffle = at::make_generator<at::CPUGeneratorImpl>(o.seed + 1);
    std::printf(
        "libtorch %s: %s, %lld training and %lld test images, batch %lld, Adam lr %g%s, weight decay %g, %d epochs, "
        "OpenBLAS threads %d, intra-op threads %d\n",
        TORCH_VERSION, o.model.c_str(), static_cast<long long>(n), static_cast<long long>(test.x.size(0)),
        static_cast<long long>(recipe.batch), recipe.lr, recipe.one_cycle ? " (OneCycleLR peak, per step)" : "",
        recipe.weight_decay, o.epochs, openblas_get_num_threads(), torch::get_num_threads());

    double accuracy = 0;
    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        const double lr = static_cast<torch::optim::AdamOptions&>(adam.param_groups()[0].options()).lr();
        model->train();
        const auto order = torch::randperm(n, shuffle, torch::kInt64);
        double loss_sum = 0;
        for (std::int64_t at = 0, step = (epoch - 1) * steps; at < n; at += recipe.batch) {
            const auto rows = order.slice(0, at, std::min(n, at + recipe.batch));
            const auto x = train.x.index_select(0, rows), y = train.y.index_select(0, rows);
            adam.zero_grad();
            const auto loss = F::cross_entropy(model->forward(x), y);
            loss.backward();
            adam.step();
            if (recipe.one_cycle) set_lr(adam, one_cycle(recipe.lr, ++step, total));
            loss_sum += loss.item<double>() * double(y.size(0));
        }
        model->eval();
        const auto [test_loss, test_accuracy] = evaluate(model, test);
        accuracy = test_accuracy;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::printf(
            "epoch %d/%d: lr %.2e  train loss %.4f  test loss %.4f  test accuracy %.2f%%  %.1fs (%.0f "
            "samples/s)\n",
            epoch, o.epochs, lr, loss_sum / double(n), test_loss, 100 * test_accuracy, seconds, double(n) / seconds);
        std::fflush(stdout);
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("final test accuracy %.2f%% after %d epochs; peak RSS %ld kB\n", 100 * accuracy, o.epochs,
                usage.ru_maxrss);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(parse(argc, argv));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "libtorch_fashion_mnist: %s\n", e.what());
        return 1;
    }
}
