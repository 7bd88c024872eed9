// DP-SGD (Abadi et al. 2016, "Deep learning with differential privacy"): the Fashion-MNIST MLP of
// examples/fashion_mnist (784-256-128-10, ReLU; the same model and data loading code) trained by
// SGD on per-sample gradients, each clipped to L2 norm C over all parameters, summed, with Gaussian
// noise N(0, (sigma C)^2) added to each coordinate, divided by the batch size. The clipping uses
// nn::per_sample_grad_norms (ghost norms: no per-sample gradient is materialised for the Dense
// layers) and one more backward of sum_i w_i loss_i with w_i = min(1, C / ||g_i||), which is
// exactly sum_i clip(g_i) (ghost clipping, Li et al. 2022). Privacy accounting (the epsilon
// the run spends) is out of scope: this shows the mechanism only.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include <tapegrad/tapegrad.hpp>
#include "fashion_mnist/evaluate.hpp"
#include "fashion_mnist/model.hpp"

namespace tg = tapegrad;

namespace {

constexpr const char* kUsage = R"(usage: dp_sgd [flags]

Trains the Fashion-MNIST MLP 784-256-128-10 (ReLU) with DP-SGD's mechanism: each sample's gradient
is clipped to L2 norm --clip (over all parameters), the clipped gradients are summed, Gaussian
noise of standard deviation --noise-multiplier times --clip is added to every coordinate, the sum
is divided by the batch size and plain SGD takes the step. Prints the test accuracy, the clip norm
and the noise multiplier after every epoch.

Privacy accounting (the epsilon, delta a run spends) is out of scope: use an accountant (Opacus's
RDP or PRV accountant) on --noise-multiplier, the sampling rate and the number of steps. Batches
are shuffled minibatches, not the Poisson sampling the accountants assume.

  --clip C              per-sample gradient norm bound C (default 1.0)
  --noise-multiplier S  noise standard deviation in units of C (default 1.1)
  --epochs N            training epochs (default 3)
  --batch-size N        samples per step (default 256)
  --lr X                SGD learning rate (default 0.5)
  --limit N             use only the first N training samples; 0 uses all 60000 (default 0)
  --seed N              weights, batch order and noise (default 0)
  --data DIR            the Fashion-MNIST files (default /usr/share/datasets/fashion-mnist)
  --help                this text
)";

struct Options {
    double clip = 1.0;
    double noise_multiplier = 1.1;
    std::size_t epochs = 3;
    std::size_t batch_size = 256;
    double lr = 0.5;
    std::size_t limit = 0;
    std::uint64_t seed = 0;
    std::string data = tg::data::kFashionMnistDir;
};

[[noreturn]] void usage_error(const std::string& problem) {
    std::cerr << "dp_sgd: " << problem << "\n\n" << kUsage;
    std::exit(2);
}

template <class N>
N number(std::string_view flag, std::string_view text) {
    N value{};
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        usage_error(fmt::format("{} takes a number, not '{}'", flag, text));
    return value;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view flag = argv[i];
        if (flag == "--help") {
            std::cout << kUsage;
            std::exit(0);
        }
        if (i + 1 >= argc) usage_error(fmt::format("{} needs a value (or is not a flag)", flag));
        const std::string_view v = argv[++i];
        if (flag == "--clip")
            o.clip = number<double>(flag, v);
        else if (flag == "--noise-multiplier")
            o.noise_multiplier = number<double>(flag, v);
        else if (flag == "--epochs")
            o.epochs = number<std::size_t>(flag, v);
        else if (flag == "--batch-size")
            o.batch_size = number<std::size_t>(flag, v);
        else if (flag == "--lr")
            o.lr = number<double>(flag, v);
        else if (flag == "--limit")
            o.limit = number<std::size_t>(flag, v);
        else if (flag == "--seed")
            o.seed = number<std::uint64_t>(flag, v);
        else if (flag == "--data")
            o.data = std::string(v);
        else
            usage_error(fmt::format("unknown flag {}", flag));
    }
    if (!(o.clip > 0)) usage_error("--clip must be positive");
    if (!(o.noise_multiplier >= 0)) usage_error("--noise-multiplier must be >= 0");
    if (o.batch_size == 0) usage_error("--batch-size must be positive");
    return o;
}

const auto per_sample_loss = [](const tg::Tensor<float>& logits, const tg::Labels& y) {
    return tg::cross_entropy(logits, y, tg::Reduction::None);
};

// One DP-SGD step on the batch (x, y); returns the fraction of samples whose gradient was clipped.
double dp_step(tg::nn::Module<float>& model, tg::optim::SGD<float>& sgd, const tg::Tensor<float>& x,
               const tg::Labels& y, const Options& o, tg::Generator& noise) {
    const auto norms = tg::nn::per_sample_grad_norms(model, per_sample_loss, x, y).value();
    // clip(g_i) = g_i min(1, C / ||g_i||): the weights w_i make sum_i w_i g_i the sum of clipped gradients.
    const xt::xarray<float> weights = xt::minimum(1.0f, static_cast<float>(o.clip) / (norms + 1e-6f));
    const double clipped = static_cast<double>(xt::sum(xt::cast<double>(norms > static_cast<float>(o.clip)))()) /
                           static_cast<double>(norms.size());
    sgd.zero_grad();
    tg::sum(per_sample_loss(model(x), y) * tg::Tensor<float>(weights)).backward();
    tg::NoGradGuard no_grad;
    const auto batch = static_cast<float>(y.numel());
    for (auto& p : model.parameters()) {
        auto z = tg::randn<float>(p.shape(), noise, 0.0f, static_cast<float>(o.noise_multiplier * o.clip));
        auto& g = p.mutable_grad().mutable_value();
        g = (g + z.value()) / batch;
    }
    sgd.step();
    return clipped;
}

}  // namespace

int main(int argc, char** argv) try {
    const Options o = parse(argc, argv);
    const auto train = tg::data::load_fashion_mnist<float>(
        tg::data::Split::Train, o.data,
        {.mean = tg::data::kFashionMnistMean, .std = tg::data::kFashionMnistStd, .limit = o.limit});
    const auto test = tg::data::load_fashion_mnist<float>(tg::data::Split::Test, o.data);
    tg::Generator gen(o.seed);
    auto model = fashion::build_model("mlp", train.features(), gen);
    tg::optim::SGD<float> sgd(model.parameters(), {.lr = o.lr});
    tg::data::DataLoader<float> loader(train, {.batch_size = o.batch_size, .seed = o.seed + 1});
    tg::Generator noise(o.seed + 2);
    std::cout << fmt::format(
        "DP-SGD on {} training images, batch {}, lr {}, clip norm C = {}, noise multiplier "
        "sigma = {} (privacy accounting is out of scope)\n",
        train.size(), o.batch_size, o.lr, o.clip, o.noise_multiplier);
    for (std::size_t epoch = 1; epoch <= o.epochs; ++epoch) {
        model.train();
        double clipped = 0;
        std::size_t steps = 0;
        for (const auto& [x, y] : loader.epoch()) {
            clipped += dp_step(model, sgd, x, y, o, noise);
            ++steps;
        }
        const auto eval = fashion::evaluate(model, test);
        std::cout << fmt::format(
            "epoch {}/{}: test accuracy {:.2f}%, clip norm {}, noise multiplier {}, "
            "{:.0f}% of the per-sample gradients clipped\n",
            epoch, o.epochs, 100 * eval.accuracy, o.clip, o.noise_multiplier,
            100 * clipped / static_cast<double>(std::max<std::size_t>(steps, 1)));
    }
    return 0;
} catch (const std::exception& e) {
    std::cerr << "dp_sgd: " << e.what() << "\n";
    return 1;
}
