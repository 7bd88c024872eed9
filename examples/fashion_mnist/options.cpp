#include "options.hpp"

#include <charconv>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <stdexcept>

namespace fashion {
namespace {

constexpr const char* kUsage = R"(usage: fashion_mnist [flags]

Trains an MLP 784-256-128-10 (ReLU) on Fashion-MNIST with Adam and cross-entropy, reports the
test accuracy after every epoch, and writes into --out: curve.csv (epoch, train_loss, test_loss,
test_accuracy, seconds), checkpoint/ (weights and Adam state as .npy files), and curve.png when
gnuplot is installed.

  --epochs N        training epochs (default 20)
  --batch-size N    minibatch size (default 128)
  --lr X            Adam learning rate (default 1e-3)
  --schedule S      cosine: anneal the lr to 0 over the epochs; none: constant (default cosine)
  --seed N          seeds the initial weights and the shuffling (default 0)
  --threads N       OpenBLAS threads (default: OpenBLAS's own choice, one per core)
  --data DIR        folder of the gzipped IDX files (default /usr/share/datasets/fashion-mnist)
  --out DIR         output folder (default out/fashion_mnist)
  --limit N         train on the first N samples only, e.g. for a quick check (default: all)
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
    }
    if (o.epochs == 0) bad("--epochs must be at least 1");
    if (o.batch_size == 0) bad("--batch-size must be at least 1");
    if (!(o.lr > 0)) bad("--lr must be positive");
    if (o.schedule != "cosine" && o.schedule != "none") bad("--schedule is cosine or none, not " + o.schedule);
    if (o.threads < 0) bad("--threads must not be negative");
    return o;
}

}  // namespace fashion
