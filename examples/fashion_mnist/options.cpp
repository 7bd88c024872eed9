#include "options.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <stdexcept>

#include <tapegrad/autograd/threads.hpp>

namespace fashion {
namespace {

constexpr const char* kUsage = R"(usage: fashion_mnist [flags]

Trains a model on Fashion-MNIST with Adam and cross-entropy: --model mlp, an MLP 784-256-128-10
(ReLU), or --model cnn, two convolution blocks (3x3 convolution, batch norm, ReLU, 2x2 max pooling;
32 then 64 channels), dropout and a classifier 3136-128-10 (examples/fashion_mnist/model.hpp).
Reports the test accuracy after every epoch, and writes into --out: curve.csv (epoch, train_loss,
test_loss, test_accuracy, seconds), checkpoint/ (weights, batch norm's running statistics, Adam,
schedule and dropout stream states as .npy and text files, replaced atomically after every
epoch; --checkpoint puts it elsewhere, as one safetensors file for a name ending in .safetensors),
and curve.png when gnuplot is installed.

Ctrl-C (SIGINT) or SIGTERM: the current step finishes, the checkpoint is written, the program
says how to resume and exits with 130 (SIGINT) or 143 (SIGTERM). A second signal ends it at once;
the previous checkpoint stays intact. --resume continues from the step where the run stopped,
bit for bit as if it had not stopped (with the same --threads).

Defaults are the MLP's; with --model cnn, those marked "cnn:" replace them (a flag given wins).
  --model M         mlp or cnn (default mlp)
  --epochs N        training epochs (default 20; cnn: 15)
  --batch-size N    minibatch size (default 128; cnn: 100)
  --lr X            Adam learning rate, onecycle's peak (default 1e-3; cnn: 3e-3)
  --weight-decay X  Adam's L2 weight decay (default 0; cnn: 1e-4)
  --schedule S      cosine: anneal the lr to 0 over the epochs; onecycle: PyTorch's OneCycleLR
                    stepped per batch (from lr/25 up to lr over the first 30% of the steps, then
                    down to lr/25e4, Adam's beta1 cycled 0.95-0.85-0.95); none: constant
                    (default cosine; cnn: onecycle)
  --seed N          seeds the initial weights and the shuffling (default 0)
  --threads N       OpenBLAS threads, at most the hardware threads (default: one per core)
  --data DIR        folder of the gzipped IDX files (default /usr/share/datasets/fashion-mnist)
  --out DIR         output folder (default out/fashion_mnist)
  --limit N         train on the first N samples only, e.g. for a quick check (default: all)
  --test-limit N    evaluate on the first N of the 10000 test images only (default: all)
  --checkpoint PATH where the checkpoint goes (default OUT/checkpoint, a folder); a PATH ending in
                    .safetensors is one safetensors file (PyTorch reads its model.* tensors)
  --resume PATH     continue the run saved in the checkpoint PATH (out/fashion_mnist/checkpoint, or a
                    .safetensors file);
                    its settings fill in the flags not given; a flag that differs is refused
  --distributed     data-parallel over the ranks of an MPI job: mpirun -np N fashion_mnist --distributed
                    (without mpirun, a job of one). Each rank trains on 1/N of every batch (--batch-size
                    is the whole batch, a multiple of N), gradients are averaged across the ranks during
                    backward, rank 0 alone prints and writes the checkpoint. The data order comes from
                    DistributedSampler (seed + 1, one order per epoch), the same for every N, so the run
                    is the same run at any N up to rounding, and resumes at any N
  --help            this text
)";

/// --model cnn's recipe (the flags not given take these): Adam with a OneCycleLR peaking at 3e-3
/// and a little L2, batch 100, 15 epochs: 93.1% test accuracy at seed 0 (README.md).
const std::map<std::string, std::string> kCnnDefaults = {{"--epochs", "15"},
                                                         {"--batch-size", "100"},
                                                         {"--lr", "3e-3"},
                                                         {"--weight-decay", "1e-4"},
                                                         {"--schedule", "onecycle"}};

[[noreturn]] void bad(const std::string& message) {
    std::cerr << "fashion_mnist: " << message << "\n(try --help)\n";
    std::exit(2);
}

template <class N>
N number(const std::string& flag, const std::string& text) {
    N value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) bad(flag + " expects a number, got '" + text + "'");
    return value;
}

}  // namespace

std::string checkpoint_path(const Options& options) {
    return options.checkpoint.empty() ? (std::filesystem::path(options.out) / "checkpoint").string()
                                      : options.checkpoint;
}

Options parse_options(int argc, char** argv) {
    Options o;
    const std::map<std::string, std::function<void(const std::string&)>> flags = {
        {"--model", [&](const std::string& v) { o.model = v; }},
        {"--epochs", [&](const std::string& v) { o.epochs = number<std::size_t>("--epochs", v); }},
        {"--batch-size", [&](const std::string& v) { o.batch_size = number<std::size_t>("--batch-size", v); }},
        {"--lr", [&](const std::string& v) { o.lr = number<double>("--lr", v); }},
        {"--weight-decay", [&](const std::string& v) { o.weight_decay = number<double>("--weight-decay", v); }},
        {"--schedule", [&](const std::string& v) { o.schedule = v; }},
        {"--seed", [&](const std::string& v) { o.seed = number<std::uint64_t>("--seed", v); }},
        {"--threads", [&](const std::string& v) { o.threads = number<int>("--threads", v); }},
        {"--data", [&](const std::string& v) { o.data = v; }},
        {"--out", [&](const std::string& v) { o.out = v; }},
        {"--limit", [&](const std::string& v) { o.limit = number<std::size_t>("--limit", v); }},
        {"--test-limit", [&](const std::string& v) { o.test_limit = number<std::size_t>("--test-limit", v); }},
        {"--resume", [&](const std::string& v) { o.resume = v; }},
        {"--checkpoint", [&](const std::string& v) { o.checkpoint = v; }},
    };
    for (int i = 1; i < argc; ++i) {
        std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::cout << kUsage;
            std::exit(0);
        }
        if (flag == "--distributed") {  // the one flag without a value
            o.distributed = true;
            o.given.insert(flag);
            continue;
        }
        std::string value;
        if (const auto eq = flag.find('='); eq != std::string::npos) {  // --epochs=5 works too
            value = flag.substr(eq + 1);
            flag.resize(eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            bad(flag + " needs a value");
        }
        const auto it = flags.find(flag);
        if (it == flags.end()) bad("unknown flag " + flag);
        it->second(value);
        o.given.insert(flag);
    }
    if (o.model != "mlp" && o.model != "cnn") bad("--model is mlp or cnn, not " + o.model);
    if (o.model == "cnn")
        for (const auto& [flag, value] : kCnnDefaults)
            if (!o.given.count(flag)) flags.at(flag)(value);
    if (o.epochs == 0) bad("--epochs must be at least 1");
    if (o.batch_size == 0) bad("--batch-size must be at least 1");
    if (!(o.lr > 0)) bad("--lr must be positive");
    if (!(o.weight_decay >= 0) || !std::isfinite(o.weight_decay)) bad("--weight-decay must be 0 or more");
    if (o.schedule != "cosine" && o.schedule != "onecycle" && o.schedule != "none")
        bad("--schedule is cosine, onecycle or none, not " + o.schedule);
    if (o.threads < 0) bad("--threads must not be negative");
    if (static_cast<std::size_t>(o.threads) > tapegrad::max_num_threads())
        bad("--threads is " + std::to_string(o.threads) + ", but this machine has " +
            std::to_string(tapegrad::max_num_threads()) + " hardware threads (the most --threads accepts)");
    if (o.given.count("--resume") && o.resume.empty()) bad("--resume needs a checkpoint folder or file");
    if (o.given.count("--checkpoint") && o.checkpoint.empty()) bad("--checkpoint needs a path");
    return o;
}

}  // namespace fashion
