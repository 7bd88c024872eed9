#include "options.hpp"

#include <charconv>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <stdexcept>

#include <tapegrad/autograd/threads.hpp>

namespace fashion {
namespace {

constexpr const char* kUsage = R"(usage: fashion_mnist [flags]

Trains an MLP 784-256-128-10 (ReLU) on Fashion-MNIST with Adam and cross-entropy, reports the
test accuracy after every epoch, and writes into --out: curve.csv (epoch, train_loss, test_loss,
test_accuracy, seconds), checkpoint/ (weights, Adam and schedule state as .npy and text files,
replaced atomically after every epoch), and curve.png when gnuplot is installed.

Ctrl-C (SIGINT) or SIGTERM: the current step finishes, the checkpoint is written, the program
says how to resume and exits with 130 (SIGINT) or 143 (SIGTERM). A second signal ends it at once;
the previous checkpoint stays intact. --resume continues from the step where the run stopped,
bit for bit as if it had not stopped (with the same --threads).

  --epochs N        training epochs (default 20)
  --batch-size N    minibatch size (default 128)
  --lr X            Adam learning rate (default 1e-3)
  --schedule S      cosine: anneal the lr to 0 over the epochs; none: constant (default cosine)
  --seed N          seeds the initial weights and the shuffling (default 0)
  --threads N       OpenBLAS threads, at most the hardware threads (default: one per core)
  --data DIR        folder of the gzipped IDX files (default /usr/share/datasets/fashion-mnist)
  --out DIR         output folder (default out/fashion_mnist)
  --limit N         train on the first N samples only, e.g. for a quick check (default: all)
  --resume DIR      continue the run saved in the checkpoint folder DIR (out/fashion_mnist/checkpoint);
                    its settings fill in the flags not given; a flag that differs is refused
  --help            this text
)";

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

Options parse_options(int argc, char** argv) {
    Options o;
    const std::map<std::string, std::function<void(const std::string&)>> flags = {
        {"--epochs", [&](const std::string& v) { o.epochs = number<std::size_t>("--epochs", v); }},
        {"--batch-size", [&](const std::string& v) { o.batch_size = number<std::size_t>("--batch-size", v); }},
        {"--lr", [&](const std::string& v) { o.lr = number<double>("--lr", v); }},
        {"--schedule", [&](const std::string& v) { o.schedule = v; }},
        {"--seed", [&](const std::string& v) { o.seed = number<std::uint64_t>("--seed", v); }},
        {"--threads", [&](const std::string& v) { o.threads = number<int>("--threads", v); }},
        {"--data", [&](const std::string& v) { o.data = v; }},
        {"--out", [&](const std::string& v) { o.out = v; }},
        {"--limit", [&](const std::string& v) { o.limit = number<std::size_t>("--limit", v); }},
        {"--resume", [&](const std::string& v) { o.resume = v; }},
    };
    for (int i = 1; i < argc; ++i) {
        std::string flag = argv[i];
        if (flag == "--help" || flag == "-h") {
            std::cout << kUsage;
            std::exit(0);
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
    if (o.epochs == 0) bad("--epochs must be at least 1");
    if (o.batch_size == 0) bad("--batch-size must be at least 1");
    if (!(o.lr > 0)) bad("--lr must be positive");
    if (o.schedule != "cosine" && o.schedule != "none") bad("--schedule is cosine or none, not " + o.schedule);
    if (o.threads < 0) bad("--threads must not be negative");
    if (static_cast<std::size_t>(o.threads) > tapegrad::max_num_threads())
        bad("--threads is " + std::to_string(o.threads) + ", but this machine has " +
            std::to_string(tapegrad::max_num_threads()) + " hardware threads (the most --threads accepts)");
    if (o.given.count("--resume") && o.resume.empty()) bad("--resume needs a checkpoint folder");
    return o;
}

}  // namespace fashion
