// The main job: an MLP 784-256-128-10 with ReLU, trained on Fashion-MNIST with Adam and
// cross-entropy on logits. Reports test accuracy per epoch; writes a checkpoint, the training
// curve as CSV and, with gnuplot installed, as a PNG.  fashion_mnist --help lists the flags.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "curve.hpp"
#include "nn/checkpoint.hpp"
#include "options.hpp"
#include "progress.hpp"
#include "tapegrad.hpp"

namespace tg = tapegrad;

namespace {

struct Evaluation {
    double loss = 0;
    double accuracy = 0;
};

/// Mean cross-entropy and accuracy over a dataset, in chunks, without recording anything.
Evaluation evaluate(tg::nn::Module<float>& model, const tg::Dataset<float>& data) {
    tg::NoGradGuard no_grad;
    tg::DataLoader<float> loader(data, {.batch_size = 1000, .shuffle = false});
    double loss_sum = 0;
    std::size_t correct = 0;
    for (const auto& [x, y] : loader.epoch()) {
        const tg::Tensor<float> logits = model(x);
        loss_sum += tg::cross_entropy(logits, y, tg::Reduction::Sum).item();
        const auto& z = logits.value();
        const std::size_t classes = z.shape()[1];
        for (std::size_t r = 0; r < y.size(); ++r) {
            const float* row = z.data() + r * classes;
            const auto best = std::max_element(row, row + classes) - row;
            correct += best == y[r];
        }
    }
    const auto n = static_cast<double>(data.size());
    return {loss_sum / n, static_cast<double>(correct) / n};
}

/// One pass over the training set; returns the mean training loss.
double train_epoch(tg::nn::Module<float>& model, tg::optim::Optimizer<float>& optimizer, tg::DataLoader<float>& loader,
                   fashion::ProgressBar& bar) {
    model.train();
    double loss_sum = 0;
    std::size_t seen = 0;
    std::size_t done = 0;
    for (const auto& [x, y] : loader.epoch()) {
        optimizer.zero_grad();
        const tg::Tensor<float> loss = tg::cross_entropy(model(x), y);
        loss.backward();
        optimizer.step();
        loss_sum += loss.item() * static_cast<double>(y.size());
        seen += y.size();
        bar.update(++done, loss_sum / static_cast<double>(seen), seen);
    }
    return loss_sum / static_cast<double>(seen);
}

int run(const fashion::Options& o) {
    if (o.threads > 0) tg::set_num_threads(o.threads);
    const auto load_start = std::chrono::steady_clock::now();
    const auto train = tg::load_fashion_mnist<float>(
        tg::Split::Train, o.data, {.mean = tg::kFashionMnistMean, .std = tg::kFashionMnistStd, .limit = o.limit});
    const auto test = tg::load_fashion_mnist<float>(tg::Split::Test, o.data);
    fmt::print("data: {} training and {} test images of {} pixels from {} ({:.1f}s)\n", train.size(), test.size(),
               train.features(), o.data,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count());

    tg::Generator gen(o.seed);
    auto model = tg::nn::mlp<float>({train.features(), 256, 128, 10}, tg::nn::Activation::ReLU, gen);
    tg::optim::Adam<float> adam(model.parameters(), {.lr = o.lr});
    std::unique_ptr<tg::optim::LrSchedule> schedule;
    if (o.schedule == "cosine") schedule = std::make_unique<tg::optim::CosineAnnealingLR>(adam, o.epochs);
    tg::DataLoader<float> loader(train, {.batch_size = o.batch_size, .seed = o.seed + 1});
    fmt::print("model: {} ({} parameters)\nAdam lr {}, schedule {}, batch {}, {} epochs, seed {}\n", model.to_string(),
               model.num_parameters(), o.lr, schedule ? schedule->to_string() : "none", o.batch_size, o.epochs, o.seed);

    const std::filesystem::path out(o.out);
    std::filesystem::create_directories(out);
    fashion::CurveWriter curve(out / "curve.csv");
    const auto start = std::chrono::steady_clock::now();
    Evaluation last;
    for (std::size_t epoch = 1; epoch <= o.epochs; ++epoch) {
        fashion::ProgressBar bar(fmt::format("epoch {}/{}", epoch, o.epochs), loader.size());
        const double lr = adam.lr();
        const double train_loss = train_epoch(model, adam, loader, bar);
        if (schedule) schedule->step();
        model.eval();
        last = evaluate(model, test);
        const double seconds = bar.seconds();
        curve.add({epoch, train_loss, last.loss, last.accuracy, seconds});
        bar.finish(
            fmt::format("epoch {}/{}: lr {:.2e}  train loss {:.4f}  test loss {:.4f}  test accuracy {:.2f}%  "
                        "{:.1f}s ({:.0f} samples/s)",
                        epoch, o.epochs, lr, train_loss, last.loss, 100 * last.accuracy, seconds,
                        static_cast<double>(train.size()) / seconds));
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    tg::nn::save_checkpoint((out / "checkpoint").string(), model, adam);
    const bool plotted = fashion::plot_curve(out / "curve.csv", out / "curve.png");
    fmt::print("final test accuracy {:.2f}% after {} epochs in {:.1f}s\nwrote {}, {}{}\n", 100 * last.accuracy,
               o.epochs, total, (out / "curve.csv").string(), (out / "checkpoint").string(),
               plotted ? ", " + (out / "curve.png").string() : "");
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const fashion::Options options = fashion::parse_options(argc, argv);
    try {
        return run(options);
    } catch (const std::exception& e) {
        std::cerr << "fashion_mnist: " << e.what() << "\n";
        return 1;
    }
}
