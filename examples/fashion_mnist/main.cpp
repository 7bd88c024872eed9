// The main job: an MLP 784-256-128-10 with ReLU, or a small CNN (--model cnn; model.hpp), trained
// on Fashion-MNIST with Adam and cross-entropy on logits. Reports test accuracy per epoch; after every epoch,
// atomically replaces a checkpoint holding everything a resumed run needs; writes the training curve as CSV and, with
// gnuplot installed, as a PNG. Ctrl-C stops after the current step with a checkpoint; --resume
// continues from it bit for bit.  fashion_mnist --help lists the flags.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include <tapegrad/nn/checkpoint.hpp>
#include <tapegrad/tapegrad.hpp>
#include "common/curve.hpp"
#include "common/interrupt.hpp"
#include "common/progress.hpp"
#include "curve.hpp"
#include "evaluate.hpp"
#include "model.hpp"
#include "options.hpp"
#include "run_state.hpp"

namespace tg = tapegrad;
namespace fs = std::filesystem;

namespace {

/// The state of every dropout stream of `model` as "<module name> <Generator::state()>" lines:
/// with the weights and the data order, what decides the rest of a run.
std::string dropout_streams(tg::nn::Module<float>& model) {
    std::string text;
    for (const auto& [name, module] : model.named_modules())
        if (auto* dropout = dynamic_cast<tg::nn::DropoutBase<float>*>(module))
            text += name + " " + dropout->generator().state() + "\n";
    return text;
}

/// Restores dropout_streams() from the checkpoint in `dir`; IoError when they are not this model's.
void set_dropout_streams(tg::nn::Module<float>& model, const std::string& dir, const std::string& text) {
    std::istringstream lines(text);
    std::string name, state;
    for (const auto& [expected, module] : model.named_modules()) {
        auto* dropout = dynamic_cast<tg::nn::DropoutBase<float>*>(module);
        if (!dropout) continue;
        if (!(lines >> name) || name != expected || !std::getline(lines >> std::ws, state))
            tg::fail<tg::IoError>("--resume '{}': no dropout stream for module '{}' in extra 'dropout'", dir, expected);
        dropout->generator().set_state(state);
    }
}

/// Everything training changes, built the same way afresh and when resuming (a checkpoint then
/// overwrites the values). Not copyable: the schedule refers to the optimiser.
struct Trainer {
    Trainer(const fashion::Options& o, const tg::data::Dataset<float>& train)
        : gen(o.seed),
          model(fashion::build_model(o.model, train.features(), gen)),
          adam(model.parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}),
          loader(train, {.batch_size = o.batch_size, .seed = o.seed + 1}),
          per_step(o.schedule == "onecycle") {
        if (o.schedule == "cosine") schedule = std::make_unique<tg::optim::CosineAnnealingLR>(adam, o.epochs);
        if (per_step)
            schedule = std::make_unique<tg::optim::OneCycleLR>(
                adam, o.lr, tg::optim::OneCycleLROptions{.total_steps = o.epochs * loader.size()});
    }
    Trainer(const Trainer&) = delete;

    void save(const fs::path& dir, const fashion::Options& o, const fashion::Progress& p) {
        auto extras = fashion::to_extras(o, p);
        extras["dropout"] = dropout_streams(model);
        if (schedule) tg::nn::save_checkpoint(dir.string(), model, adam, *schedule, extras);
        if (!schedule) tg::nn::save_checkpoint(dir.string(), model, adam, extras);
    }
    tg::nn::CheckpointExtras load(const std::string& dir) {
        auto extras =
            schedule ? tg::nn::load_checkpoint(dir, model, adam, *schedule) : tg::nn::load_checkpoint(dir, model, adam);
        set_dropout_streams(model, dir, extras.count("dropout") ? extras.at("dropout") : "");
        return extras;
    }
    /// After each optimiser step: steps a per-batch schedule (OneCycleLR).
    void stepped() {
        if (schedule && per_step) schedule->step();
    }
    /// After each epoch's training: steps a per-epoch schedule (cosine).
    void epoch_done() {
        if (schedule && !per_step) schedule->step();
    }

    tg::Generator gen;
    tg::nn::Sequential<float> model;
    tg::optim::Adam<float> adam;
    std::unique_ptr<tg::optim::LrSchedule> schedule;
    tg::data::DataLoader<float> loader;
    bool per_step;  // OneCycleLR steps after every batch, the others after every epoch
};

/// Takes the steps left in epoch p.epoch + 1, updating p after each. Returns false when a signal
/// asked to stop (after the step in progress).
bool train_steps(Trainer& t, fashion::Progress& p, examples::ProgressBar& bar) {
    t.model.train();
    t.loader.generator().set_state(p.rng);  // the order of this epoch, resumed or not
    t.loader.epoch();
    for (std::size_t samples = 0; p.step < t.loader.size(); ++p.step) {
        if (examples::interrupt_signal()) return false;
        const auto [x, y] = t.loader.batch(p.step);
        t.adam.zero_grad();
        const tg::Tensor<float> loss = tg::cross_entropy(t.model(x), y);
        loss.backward();
        t.adam.step();
        t.stepped();
        p.loss_sum += loss.item() * static_cast<double>(y.numel());
        p.seen += y.numel();
        samples += y.numel();
        bar.update(p.step + 1, p.loss_sum / static_cast<double>(p.seen), samples);
    }
    return true;
}

/// The first part of `path` that exists and is not a folder, or empty.
fs::path file_in_the_way(const fs::path& path) {
    fs::path prefix;
    for (const auto& part : path) {
        prefix /= part;
        std::error_code ec;
        if (fs::exists(prefix, ec) && !fs::is_directory(prefix, ec)) return prefix;
    }
    return {};
}

/// Refuses, before any data is read, an --out where the outputs cannot go.
void prepare_out(const fs::path& out, const fs::path& checkpoint, const std::string& resume) {
    if (const fs::path file = file_in_the_way(out); !file.empty())
        tg::fail<tg::IoError>("--out '{}': '{}' is a file, where a folder must go", out.string(), file.string());
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) tg::fail<tg::IoError>("--out '{}': cannot create it: {}", out.string(), ec.message());
    for (const char* file : {"curve.csv", "curve.png"})
        if (fs::is_directory(out / file))
            tg::fail<tg::IoError>("--out '{}': '{}' is a folder, where the curve goes", out.string(), file);
    try {
        tg::nn::check_checkpoint_path(checkpoint.string());
    } catch (const tg::IoError& e) {
        tg::fail<tg::IoError>("--out '{}': {}", out.string(), e.what());
    }
    if (fs::exists(checkpoint / "manifest.txt") && fs::path(resume).lexically_normal() != checkpoint.lexically_normal())
        fmt::print(
            "note: {0} holds an earlier checkpoint; this run replaces it after its first epoch "
            "(--resume {0} would continue that run instead)\n",
            checkpoint.string());
}

/// Says where training stopped and how to go on, having written its checkpoint unless `saved`
/// already; returns the exit code shells expect of a program ended by `signal`.
int stop(int signal, bool saved, Trainer& t, const fashion::Options& o, const fashion::Progress& p,
         const fs::path& ckpt, const std::string& program) {
    if (!saved) t.save(ckpt, o, p);
    const std::string where =
        p.step == 0 ? fmt::format("epoch {}/{}", p.epoch, o.epochs)
                    : fmt::format("step {}/{} of epoch {}/{}", p.step, t.loader.size(), p.epoch + 1, o.epochs);
    fmt::print("{} received: stopped after {}; checkpoint written to {}\nresume with: {} --resume {} --out {}{}\n",
               examples::signal_name(signal), where, ckpt.string(), program, ckpt.string(), o.out,
               o.threads > 0 ? fmt::format(" --threads {}", o.threads) : "");
    std::fflush(stdout);
    return 128 + signal;
}

/// Where training starts: afresh, or where the checkpoint `o.resume` (whose extras are `resumed`)
/// left off, loaded into `t`.
fashion::Progress start(Trainer& t, const fashion::Options& o, const tg::nn::CheckpointExtras& resumed) {
    fashion::Progress p{.rng = t.loader.generator().state()};
    if (o.resume.empty()) return p;
    const auto extras = t.load(o.resume);
    if (extras.count("run") == 0 || extras.at("run") != resumed.at("run"))
        tg::fail<tg::IoError>("--resume '{}': the checkpoint changed while it was being read", o.resume);
    p = fashion::read_progress(o.resume, extras);
    if (p.epoch > o.epochs || p.step >= t.loader.size())
        tg::fail<tg::IoError>("--resume '{}': epoch {} step {} is beyond the run ({} epochs of {} steps)", o.resume,
                              p.epoch, p.step, o.epochs, t.loader.size());
    t.loader.generator().set_state(p.rng);  // refuses a corrupt state before any training
    fmt::print("resuming from {} after epoch {}, step {}\n", o.resume, p.epoch, p.step);
    return p;
}

/// Trains the epochs left, saving the checkpoint after each; returns the exit code.
int train_epochs(Trainer& t, fashion::Progress& p, const fashion::Options& o, const tg::data::Dataset<float>& test,
                 const std::string& program) {
    const fs::path out(o.out);
    const fs::path ckpt = out / "checkpoint";
    examples::CurveWriter curve(out / "curve.csv", fashion::kCurveHeader, p.curve);
    const auto start = std::chrono::steady_clock::now();
    fashion::Evaluation last;
    for (std::size_t epoch = p.epoch + 1; epoch <= o.epochs; ++epoch) {
        examples::ProgressBar bar(fmt::format("epoch {}/{}", epoch, o.epochs), t.loader.size());
        const double lr = t.adam.lr();
        p.curve = curve.text();
        if (!train_steps(t, p, bar)) {
            bar.finish(
                fmt::format("epoch {}/{}: interrupted after step {}/{}", epoch, o.epochs, p.step, t.loader.size()));
            return stop(examples::interrupt_signal(), false, t, o, p, ckpt, program);
        }
        const double train_loss = p.loss_sum / static_cast<double>(p.seen);
        t.epoch_done();
        t.model.eval();
        last = fashion::evaluate(t.model, test);
        const double seconds = bar.seconds();
        curve.add(fashion::curve_row({epoch, train_loss, last.loss, last.accuracy, seconds}));
        p = {epoch, 0, 0, 0, t.loader.generator().state(), curve.text()};
        t.save(ckpt, o, p);
        bar.finish(
            fmt::format("epoch {}/{}: lr {:.2e}  train loss {:.4f}  test loss {:.4f}  test accuracy {:.2f}%  "
                        "{:.1f}s ({:.0f} samples/s)",
                        epoch, o.epochs, lr, train_loss, last.loss, 100 * last.accuracy, seconds,
                        static_cast<double>(t.loader.order().size()) / seconds));
        // After the last epoch there is nothing left to stop: the run ends normally.
        if (epoch < o.epochs && examples::interrupt_signal())
            return stop(examples::interrupt_signal(), true, t, o, p, ckpt, program);
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool plotted = examples::plot_curve(out / "curve.csv", out / "curve.png", fashion::kCurvePlot);
    fmt::print("final test accuracy {:.2f}% after {} epochs in {:.1f}s\nwrote {}, {}{}\n", 100 * last.accuracy,
               o.epochs, total, (out / "curve.csv").string(), ckpt.string(),
               plotted ? ", " + (out / "curve.png").string() : "");
    return 0;
}

int run(fashion::Options o, const std::string& program) {
    examples::install_interrupt_handlers();
    tg::nn::CheckpointExtras resumed;
    if (!o.resume.empty()) {
        resumed = tg::nn::read_checkpoint_extras(o.resume);
        fashion::merge_settings(o.resume, resumed, o);
    }
    if (o.threads > 0) tg::set_num_threads(static_cast<std::size_t>(o.threads));
    prepare_out(o.out, fs::path(o.out) / "checkpoint", o.resume);

    const auto load_start = std::chrono::steady_clock::now();
    const auto train = tg::data::load_fashion_mnist<float>(
        tg::data::Split::Train, o.data,
        {.mean = tg::data::kFashionMnistMean, .std = tg::data::kFashionMnistStd, .limit = o.limit});
    const auto test = tg::data::load_fashion_mnist<float>(tg::data::Split::Test, o.data);
    fmt::print("data: {} training and {} test images of {} pixels from {} ({:.1f}s)\n", train.size(), test.size(),
               train.features(), o.data,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count());

    Trainer t(o, train);
    fmt::print("model: {} ({} parameters)\nAdam lr {}, weight decay {}, schedule {}, batch {}, {} epochs, seed {}\n",
               t.model.to_string(), t.model.num_parameters(), o.lr, o.weight_decay,
               t.schedule ? t.schedule->to_string() : "none", o.batch_size, o.epochs, o.seed);
    fashion::Progress p = start(t, o, resumed);
    if (p.epoch == o.epochs) {
        fmt::print("the checkpoint holds all {} epochs; nothing left to train\n", o.epochs);
        return 0;
    }
    return train_epochs(t, p, o, test, program);
}

}  // namespace

int main(int argc, char** argv) {
    const fashion::Options options = fashion::parse_options(argc, argv);
    try {
        return run(options, argv[0]);
    } catch (const std::exception& e) {
        std::cerr << "fashion_mnist: " << e.what() << "\n";
        return 1;
    }
}
