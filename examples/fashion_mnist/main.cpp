// The main job: an MLP 784-256-128-10 with ReLU, or a small CNN (--model cnn; model.hpp), trained
// on Fashion-MNIST with Adam and cross-entropy on logits. Reports test accuracy per epoch; after every epoch,
// atomically replaces a checkpoint holding everything a resumed run needs; writes the training curve as CSV and, with
// gnuplot installed, as a PNG. Ctrl-C stops after the current step with a checkpoint; --resume
// continues from it bit for bit. With --distributed, under mpirun, every rank trains on its share of
// each batch (ranks.hpp). fashion_mnist --help lists the flags.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <xtensor/xview.hpp>

#include <tapegrad/nn/checkpoint.hpp>
#include <tapegrad/tapegrad.hpp>
#include "common/curve.hpp"
#include "common/interrupt.hpp"
#include "common/progress.hpp"
#include "curve.hpp"
#include "evaluate.hpp"
#include "model.hpp"
#include "options.hpp"
#include "ranks.hpp"
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

/// The training data's loader. Alone: shuffled by its own generator (seeded seed + 1). Distributed:
/// each rank's share of a DistributedSampler's order (drawn from seed + 1 + epoch, the same for any
/// number of ranks) in batches of batch_size / ranks, so that the ranks' batches together make up
/// the batch one process would take from the same order.
tg::data::DataLoader<float> make_loader(const fashion::Options& o, const tg::data::Dataset<float>& train,
                                        const fashion::Ranks& ranks) {
    if (!ranks.distributed())
        return tg::data::DataLoader<float>(train, {.batch_size = o.batch_size, .seed = o.seed + 1});
    const auto n = static_cast<std::size_t>(ranks.size());
    if (o.batch_size % n != 0)
        tg::fail<tg::ValueError>("--batch-size {} is not a multiple of the {} ranks: each rank takes an equal share",
                                 o.batch_size, n);
    const tg::data::DistributedSamplerOptions share{
        .num_replicas = n, .rank = static_cast<std::size_t>(ranks.rank()), .seed = o.seed + 1};
    return tg::data::DataLoader<float>(train, tg::data::DistributedSampler(train.size(), share),
                                       {.batch_size = o.batch_size / n});
}

/// Everything training changes, built the same way afresh and when resuming (a checkpoint then
/// overwrites the values). Not copyable: the schedule refers to the optimiser.
struct Trainer {
    Trainer(const fashion::Options& o, const tg::data::Dataset<float>& train, const fashion::Ranks& ranks)
        : gen(o.seed),
          model(std::make_shared<tg::nn::Sequential<float>>(fashion::build_model(o.model, train.features(), gen))),
          net(ranks.wrap(model)),
          adam(model->parameters(), {.lr = o.lr, .weight_decay = o.weight_decay}),
          loader(make_loader(o, train, ranks)),
          per_step(o.schedule == "onecycle") {
        if (o.schedule == "cosine") schedule = std::make_unique<tg::optim::CosineAnnealingLR>(adam, o.epochs);
        if (per_step)
            schedule = std::make_unique<tg::optim::OneCycleLR>(
                adam, o.lr, tg::optim::OneCycleLROptions{.total_steps = o.epochs * loader.size()});
    }
    Trainer(const Trainer&) = delete;

    /// Writes the checkpoint: rank 0 only (every rank holds the same weights and optimiser state),
    /// atomically; the others wait until it is complete.
    void save(const fs::path& dir, const fashion::Options& o, const fashion::Progress& p, const fashion::Ranks& ranks) {
        if (ranks.rank() == 0) {
            auto extras = fashion::to_extras(o, p);
            extras["dropout"] = dropout_streams(*model);
            if (schedule) tg::nn::save_checkpoint(dir.string(), *model, adam, *schedule, extras);
            if (!schedule) tg::nn::save_checkpoint(dir.string(), *model, adam, extras);
        }
        ranks.barrier();
    }
    tg::nn::CheckpointExtras load(const std::string& dir) {
        auto extras = schedule ? tg::nn::load_checkpoint(dir, *model, adam, *schedule)
                               : tg::nn::load_checkpoint(dir, *model, adam);
        set_dropout_streams(*model, dir, extras.count("dropout") ? extras.at("dropout") : "");
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
    std::shared_ptr<tg::nn::Sequential<float>> model;
    std::shared_ptr<tg::nn::Module<float>> net;  // what trains: the model, or a DataParallel over it
    tg::optim::Adam<float> adam;
    std::unique_ptr<tg::optim::LrSchedule> schedule;
    tg::data::DataLoader<float> loader;
    bool per_step;  // OneCycleLR steps after every batch, the others after every epoch
};

/// Takes the steps left in epoch p.epoch + 1, updating p after each (p's loss_sum and seen count
/// this rank's samples). Returns 0, or the signal that asked to stop (after the step in progress):
/// the ranks agree on it before every step, so all stop after the same one.
int train_steps(Trainer& t, fashion::Progress& p, examples::ProgressBar& bar, const fashion::Ranks& ranks) {
    t.model->train();
    if (ranks.distributed()) {
        t.loader.epoch(p.epoch);  // the sampler's order for this epoch, resumed or not
    } else {
        t.loader.generator().set_state(p.rng);  // the order of this epoch, resumed or not
        t.loader.epoch();
    }
    for (std::size_t samples = 0; p.step < t.loader.size(); ++p.step) {
        if (const int signal = ranks.max(examples::interrupt_signal())) return signal;
        const auto [x, y] = t.loader.batch(p.step);
        t.adam.zero_grad();
        const tg::Tensor<float> loss = tg::cross_entropy((*t.net)(x), y);
        loss.backward();
        t.adam.step();
        t.stepped();
        p.loss_sum += loss.item() * static_cast<double>(y.numel());
        p.seen += y.numel();
        samples += y.numel();
        bar.update(p.step + 1, p.loss_sum / static_cast<double>(p.seen), samples);
    }
    return 0;
}

/// The training loss so far over every rank's samples (rank 0 reports and saves it; the others
/// then count from zero, so that the next sum is again the total).
void sum_progress(fashion::Progress& p, const fashion::Ranks& ranks) {
    std::vector<double> sums{p.loss_sum, static_cast<double>(p.seen)};
    ranks.sum(sums);
    p.loss_sum = ranks.rank() == 0 ? sums[0] : 0;
    p.seen = ranks.rank() == 0 ? static_cast<std::size_t>(sums[1]) : 0;
}

/// This rank's share of the test set: rows [r n / N, (r + 1) n / N).
tg::data::Dataset<float> test_share(const tg::data::Dataset<float>& test, const fashion::Ranks& ranks) {
    const auto n = test.size(), parts = static_cast<std::size_t>(ranks.size());
    const auto r = static_cast<std::size_t>(ranks.rank());
    const std::size_t begin = r * n / parts, end = (r + 1) * n / parts;
    tg::Labels labels = tg::Labels::full({end - begin}, 0);
    for (std::size_t i = begin; i < end; ++i) labels[i - begin] = test.labels[i];
    return {xt::xarray<float>(xt::view(test.images, xt::range(begin, end), xt::all())), labels};
}

/// Test loss and accuracy over the whole test set, each rank evaluating its share with rank 0's
/// batch norm statistics (those the checkpoint holds).
fashion::Evaluation evaluate(Trainer& t, const tg::data::Dataset<float>& share, std::size_t test_size,
                             const fashion::Ranks& ranks) {
    ranks.share_buffers(*t.model);
    t.model->eval();
    const fashion::Evaluation mine = fashion::evaluate(*t.model, share);
    if (!ranks.distributed()) return mine;
    const auto n = static_cast<double>(share.size());
    std::vector<double> sums{mine.loss * n, std::round(mine.accuracy * n)};  // the correct count, exactly
    ranks.sum(sums);
    return {sums[0] / static_cast<double>(test_size), sums[1] / static_cast<double>(test_size)};
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
    const bool earlier = fs::exists(checkpoint / "manifest.txt") || fs::is_regular_file(checkpoint);
    if (earlier && fs::path(resume).lexically_normal() != checkpoint.lexically_normal())
        fmt::print(
            "note: {0} holds an earlier checkpoint; this run replaces it after its first epoch "
            "(--resume {0} would continue that run instead)\n",
            checkpoint.string());
}

/// Says where training stopped and how to go on, having written its checkpoint unless `saved`
/// already; returns the exit code shells expect of a program ended by `signal`.
int stop(int signal, bool saved, Trainer& t, const fashion::Options& o, fashion::Progress& p, const fs::path& ckpt,
         const std::string& program, const fashion::Ranks& ranks) {
    if (!saved) {
        sum_progress(p, ranks);
        t.save(ckpt, o, p, ranks);
    }
    const std::string where =
        p.step == 0 ? fmt::format("epoch {}/{}", p.epoch, o.epochs)
                    : fmt::format("step {}/{} of epoch {}/{}", p.step, t.loader.size(), p.epoch + 1, o.epochs);
    const std::string launcher = ranks.distributed() ? fmt::format("mpirun -np {} ", ranks.size()) : "";
    fmt::print("{} received: stopped after {}; checkpoint written to {}\nresume with: {}{} --resume {}{} --out {}{}\n",
               examples::signal_name(signal), where, ckpt.string(), launcher, program, ckpt.string(),
               o.checkpoint.empty() ? "" : " --checkpoint " + o.checkpoint, o.out,
               o.threads > 0 ? fmt::format(" --threads {}", o.threads) : "");
    std::fflush(stdout);
    return 128 + signal;
}

/// Where training starts: afresh, or where the checkpoint `o.resume` (whose extras are `resumed`)
/// left off, loaded into `t`.
fashion::Progress start(Trainer& t, const fashion::Options& o, const tg::nn::CheckpointExtras& resumed,
                        const fashion::Ranks& ranks) {
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
    if (ranks.rank() != 0) {                // the saved sums are every rank's: rank 0 carries them on
        p.loss_sum = 0;
        p.seen = 0;
    }
    fmt::print("resuming from {} after epoch {}, step {}\n", o.resume, p.epoch, p.step);
    return p;
}

/// Trains the epochs left, saving the checkpoint after each; returns the exit code.
int train_epochs(Trainer& t, fashion::Progress& p, const fashion::Options& o, const tg::data::Dataset<float>& test,
                 const std::string& program, const fashion::Ranks& ranks) {
    const fs::path out(o.out);
    const fs::path ckpt = fashion::checkpoint_path(o);
    // Rank 0 writes the curve (the other ranks' stdout is /dev/null, and they write no files).
    const fs::path csv = ranks.rank() == 0 ? out / "curve.csv" : fs::path("/dev/null");
    examples::CurveWriter curve(csv, fashion::kCurveHeader, p.curve);
    const tg::data::Dataset<float> share = ranks.distributed() ? test_share(test, ranks) : tg::data::Dataset<float>();
    const tg::data::Dataset<float>& my_test = ranks.distributed() ? share : test;
    const auto start = std::chrono::steady_clock::now();
    fashion::Evaluation last;
    for (std::size_t epoch = p.epoch + 1; epoch <= o.epochs; ++epoch) {
        examples::ProgressBar bar(fmt::format("epoch {}/{}", epoch, o.epochs), t.loader.size());
        const double lr = t.adam.lr();
        p.curve = curve.text();
        if (const int signal = train_steps(t, p, bar, ranks)) {
            bar.finish(
                fmt::format("epoch {}/{}: interrupted after step {}/{}", epoch, o.epochs, p.step, t.loader.size()));
            return stop(signal, false, t, o, p, ckpt, program, ranks);
        }
        sum_progress(p, ranks);
        const double train_loss = p.loss_sum / static_cast<double>(p.seen);
        t.epoch_done();
        last = evaluate(t, my_test, test.size(), ranks);
        const double seconds = bar.seconds();
        curve.add(fashion::curve_row({epoch, train_loss, last.loss, last.accuracy, seconds}));
        p = {epoch, 0, 0, 0, t.loader.generator().state(), curve.text()};
        t.save(ckpt, o, p, ranks);
        bar.finish(
            fmt::format("epoch {}/{}: lr {:.2e}  train loss {:.4f}  test loss {:.4f}  test accuracy {:.2f}%  "
                        "{:.1f}s ({:.0f} samples/s)",
                        epoch, o.epochs, lr, train_loss, last.loss, 100 * last.accuracy, seconds,
                        static_cast<double>(t.loader.order().size() * ranks.size()) / seconds));
        // After the last epoch there is nothing left to stop: the run ends normally.
        if (epoch < o.epochs)
            if (const int signal = ranks.max(examples::interrupt_signal()))
                return stop(signal, true, t, o, p, ckpt, program, ranks);
    }
    const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const bool plotted =
        ranks.rank() == 0 && examples::plot_curve(out / "curve.csv", out / "curve.png", fashion::kCurvePlot);
    fmt::print("final test accuracy {:.2f}% after {} epochs in {:.1f}s\nwrote {}, {}{}\n", 100 * last.accuracy,
               o.epochs, total, (out / "curve.csv").string(), ckpt.string(),
               plotted ? ", " + (out / "curve.png").string() : "");
    return 0;
}

/// The run; `ranks` is set once the settings (perhaps from a checkpoint) say whether it is distributed.
int run(fashion::Options o, const std::string& program, std::optional<fashion::Ranks>& ranks_slot) {
    examples::install_interrupt_handlers();
    tg::nn::CheckpointExtras resumed;
    if (!o.resume.empty()) {
        resumed = tg::nn::read_checkpoint_extras(o.resume);
        fashion::merge_settings(o.resume, resumed, o);
    }
    const fashion::Ranks& ranks = ranks_slot.emplace(o.distributed);
    // Rank 0 alone reports; the others' stdout goes nowhere (their errors still reach stderr).
    if (ranks.rank() != 0 && !std::freopen("/dev/null", "w", stdout))
        tg::fail<tg::IoError>("rank {}: cannot send stdout to /dev/null", ranks.rank());
    if (o.threads > 0) tg::set_num_threads(static_cast<std::size_t>(o.threads));
    if (ranks.rank() == 0) prepare_out(o.out, fashion::checkpoint_path(o), o.resume);
    if (ranks.distributed())
        fmt::print("distributed: {} ranks, each {} samples of every batch of {}\n", ranks.size(),
                   o.batch_size / static_cast<std::size_t>(ranks.size()), o.batch_size);

    const auto load_start = std::chrono::steady_clock::now();
    const auto train = tg::data::load_fashion_mnist<float>(
        tg::data::Split::Train, o.data,
        {.mean = tg::data::kFashionMnistMean, .std = tg::data::kFashionMnistStd, .limit = o.limit});
    const auto test = tg::data::load_fashion_mnist<float>(
        tg::data::Split::Test, o.data,
        {.mean = tg::data::kFashionMnistMean, .std = tg::data::kFashionMnistStd, .limit = o.test_limit});
    fmt::print("data: {} training and {} test images of {} pixels from {} ({:.1f}s)\n", train.size(), test.size(),
               train.features(), o.data,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count());

    Trainer t(o, train, ranks);
    fmt::print("model: {} ({} parameters)\nAdam lr {}, weight decay {}, schedule {}, batch {}, {} epochs, seed {}\n",
               t.model->to_string(), t.model->num_parameters(), o.lr, o.weight_decay,
               t.schedule ? t.schedule->to_string() : "none", o.batch_size, o.epochs, o.seed);
    fashion::Progress p = start(t, o, resumed, ranks);
    if (p.epoch == o.epochs) {
        fmt::print("the checkpoint holds all {} epochs; nothing left to train\n", o.epochs);
        return 0;
    }
    return train_epochs(t, p, o, test, program, ranks);
}

}  // namespace

int main(int argc, char** argv) {
    const fashion::Options options = fashion::parse_options(argc, argv);
    std::optional<fashion::Ranks> ranks;
    try {
        return run(options, argv[0], ranks);
    } catch (const std::exception& e) {
        const std::string message = fmt::format("fashion_mnist: {}", e.what());
        if (ranks) ranks->fail(message);  // distributed: ends every rank, which would wait for this one
        std::cerr << message << "\n";
        return 1;
    }
}
