// Checkpoints of optimisers with parameter groups and of every schedule: a run saved mid-way and
// resumed into a model, optimiser and schedule built afresh continues exactly as the uninterrupted
// run; a checkpoint in the format of before parameter groups still loads.
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

#include "autograd/says.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace optim = tapegrad::optim;
namespace fs = std::filesystem;

namespace {

/// A model, its optimiser (weights and biases in two groups) and a schedule, built the same way
/// for the uninterrupted run, the saved one and the resumed one.
struct Rig {
    explicit Rig(std::uint64_t seed) : model(make_model(seed)) {}
    static nn::Sequential<double> make_model(std::uint64_t seed) {
        tg::Generator gen(seed);
        return nn::mlp<double>({3, 4, 2}, nn::Activation::Tanh, gen);
    }
    std::vector<tg::Tensor<double>> weights() const { return {model.parameters()[0], model.parameters()[2]}; }
    std::vector<tg::Tensor<double>> biases() const { return {model.parameters()[1], model.parameters()[3]}; }

    /// One optimiser step on fixed data, then one schedule step; returns the loss.
    double step() {
        tg::Generator gen(7);
        const auto x = tg::randn<double>({5, 3}, gen);
        const auto y = tg::randn<double>({5, 2}, gen);
        opt->zero_grad();
        tg::Tensor<double> loss = tg::sum(tg::square(model(x) - y));
        loss.backward();
        opt->step();
        if (auto* plateau = dynamic_cast<optim::ReduceLROnPlateau*>(schedule.get())) {
            plateau->step(loss.item());
        } else {
            static_cast<optim::LrSchedule&>(*schedule).step();
        }
        return loss.item();
    }

    nn::Sequential<double> model;
    std::unique_ptr<optim::Optimizer<double>> opt;
    std::unique_ptr<optim::LrScheduler> schedule;
};

using Build = std::function<void(Rig&)>;

std::vector<xt::xarray<double>> values(const Rig& r) {
    std::vector<xt::xarray<double>> out;
    for (const auto& p : r.model.parameters()) out.push_back(p.value());
    for (const auto& [name, t] : r.opt->state()) out.push_back(t.value());
    return out;
}

/// Six steps in one go, against three steps, a checkpoint, and three more steps in a rig built
/// afresh (another seed, so that only the checkpoint can make them agree).
void check_resume(const Build& build, const std::string& what) {
    INFO(what);
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    Rig whole(1), first(1), resumed(2);
    for (Rig* r : {&whole, &first, &resumed}) build(*r);
    for (int s = 0; s < 6; ++s) whole.step();
    for (int s = 0; s < 3; ++s) first.step();
    nn::save_checkpoint(ckpt, first.model, *first.opt, *first.schedule);
    nn::load_checkpoint(ckpt, resumed.model, *resumed.opt, *resumed.schedule);
    CHECK(resumed.schedule->state() == first.schedule->state());
    CHECK(resumed.opt->lrs() == first.opt->lrs());
    for (int s = 0; s < 3; ++s) resumed.step();
    CHECK(values(resumed) == values(whole));
    CHECK(resumed.opt->lrs() == whole.opt->lrs());
    CHECK(resumed.schedule->state() == whole.schedule->state());
    CHECK(resumed.schedule->epoch() == 6);
}

std::string read_all(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_all(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("checkpoint: Adam with groups and amsgrad under OneCycleLR (beta1 cycled) resumes exactly",
          "[nn][optim][checkpoint]") {
    check_resume(
        [](Rig& r) {
            auto adam = std::make_unique<optim::Adam<double>>(
                std::vector<optim::AdamGroup<double>>{{.params = r.weights(), .amsgrad = true},
                                                      {.params = r.biases(), .lr = 0.01, .weight_decay = 0.1}},
                optim::AdamOptions{.lr = 0.05});
            r.schedule = std::make_unique<optim::OneCycleLR>(*adam, std::vector<double>{0.1, 0.02},
                                                             optim::OneCycleLROptions{.total_steps = 8});
            r.opt = std::move(adam);
        },
        "Adam + OneCycleLR");
}

TEST_CASE("checkpoint: RMSprop (centered, momentum) under SequentialLR resumes exactly", "[nn][optim][checkpoint]") {
    check_resume(
        [](Rig& r) {
            auto rms = std::make_unique<optim::RMSprop<double>>(
                std::vector<optim::RMSpropGroup<double>>{{.params = r.weights(), .momentum = 0.5, .centered = true},
                                                         {.params = r.biases(), .lr = 0.003}},
                optim::RMSpropOptions{.lr = 0.01});
            std::vector<std::unique_ptr<optim::LrSchedule>> s;
            s.push_back(std::make_unique<optim::LinearLR>(*rms, 0.2, 1.0, 2));
            s.push_back(std::make_unique<optim::CosineAnnealingLR>(*rms, 6, 1e-4));
            r.schedule = std::make_unique<optim::SequentialLR>(*rms, std::move(s), std::vector<std::size_t>{2});
            r.opt = std::move(rms);
        },
        "RMSprop + SequentialLR");
}

TEST_CASE("checkpoint: Adagrad under LambdaLR, SGD under ReduceLROnPlateau resume exactly", "[nn][optim][checkpoint]") {
    check_resume(
        [](Rig& r) {
            auto adagrad = std::make_unique<optim::Adagrad<double>>(
                std::vector<optim::AdagradGroup<double>>{{.params = r.weights(), .lr_decay = 0.1},
                                                         {.params = r.biases(), .initial_accumulator_value = 0.5}},
                optim::AdagradOptions{.lr = 0.2});
            r.schedule = std::make_unique<optim::LambdaLR>(*adagrad, [](std::size_t e) { return 1.0 / (1.0 + e); });
            r.opt = std::move(adagrad);
        },
        "Adagrad + LambdaLR");
    check_resume(
        [](Rig& r) {
            auto sgd = std::make_unique<optim::SGD<double>>(
                std::vector<optim::SGDGroup<double>>{{.params = r.weights(), .nesterov = true},
                                                     {.params = r.biases(), .lr = 0.05, .maximize = false}},
                optim::SGDOptions{.lr = 0.02, .momentum = 0.9});
            // patience 0 and a large threshold: the lr drops on most steps, so best and the counters matter.
            r.schedule = std::make_unique<optim::ReduceLROnPlateau>(
                *sgd, optim::ReduceLROnPlateauOptions{.factor = 0.5, .patience = 0, .threshold = 0.3, .cooldown = 1});
            r.opt = std::move(sgd);
        },
        "SGD + ReduceLROnPlateau");
}

TEST_CASE("checkpoint: one saved before parameter groups (lr.npy, 'schedule <kind> <epoch> <base_lr>') still loads",
          "[nn][optim][checkpoint]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    Rig saved(1), loaded(2);
    for (Rig* r : {&saved, &loaded}) {
        auto sgd =
            std::make_unique<optim::SGD<double>>(r->model.parameters(), optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
        r->schedule = std::make_unique<optim::StepLR>(*sgd, 2, 0.5);
        r->opt = std::move(sgd);
    }
    for (int s = 0; s < 3; ++s) saved.step();
    nn::save_checkpoint(ckpt, saved.model, *saved.opt, *saved.schedule);
    // Rewrite it as tapegrad wrote it before: "lr", and the schedule on one line.
    std::string manifest = read_all(ckpt + "/manifest.txt");
    const auto replace = [&](const std::string& from, const std::string& to) {
        const auto at = manifest.find(from);
        REQUIRE(at != std::string::npos);
        manifest.replace(at, from.size(), to);
    };
    replace("state lr.0 []\n", "state lr []\n");
    replace("schedule StepLR\nschedule_state epoch 3\nschedule_state base_lr.0 0.1\n", "schedule StepLR 3 0.1\n");
    write_all(ckpt + "/manifest.txt", manifest);
    fs::rename(ckpt + "/optimizer/lr.0.npy", ckpt + "/optimizer/lr.npy");

    nn::load_checkpoint(ckpt, loaded.model, *loaded.opt, *loaded.schedule);
    CHECK(loaded.schedule->epoch() == 3);
    CHECK(loaded.opt->lr() == 0.05);
    saved.step();
    loaded.step();
    CHECK(values(loaded) == values(saved));
}

TEST_CASE("checkpoint: a schedule state that does not fit is an IoError, nothing changes", "[nn][optim][checkpoint]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    Rig saved(1), loaded(2);
    for (Rig* r : {&saved, &loaded}) {
        auto adam = std::make_unique<optim::Adam<double>>(r->model.parameters(), optim::AdamOptions{.lr = 0.01});
        r->schedule = std::make_unique<optim::StepLR>(*adam, 2, 0.5);
        r->opt = std::move(adam);
    }
    for (int s = 0; s < 2; ++s) saved.step();
    loaded.step();
    nn::save_checkpoint(ckpt, saved.model, *saved.opt, *saved.schedule);
    std::string manifest = read_all(ckpt + "/manifest.txt");
    manifest += "schedule_state gamma 0.5\n";
    write_all(ckpt + "/manifest.txt", manifest);
    const auto before = values(loaded);
    const auto lrs = loaded.opt->lrs();
    CHECK_THROWS_MATCHES(nn::load_checkpoint(ckpt, loaded.model, *loaded.opt, *loaded.schedule), tg::IoError,
                         Says("refuses its state: StepLR::load_state: unknown entry 'gamma'"));
    CHECK(values(loaded) == before);
    CHECK(loaded.opt->lrs() == lrs);
    CHECK(loaded.schedule->epoch() == 1);
}

TEST_CASE("checkpoint: ReduceLROnPlateau's infinite best (no step yet, max mode) round-trips",
          "[nn][optim][checkpoint]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    Rig saved(1), loaded(2);
    using O = optim::ReduceLROnPlateauOptions;
    for (Rig* r : {&saved, &loaded}) {
        auto sgd = std::make_unique<optim::SGD<double>>(r->model.parameters(), optim::SGDOptions{.lr = 0.1});
        r->schedule = std::make_unique<optim::ReduceLROnPlateau>(*sgd, O{.mode = O::Mode::Max});
        r->opt = std::move(sgd);
    }
    loaded.step();  // best 'loss' so far, finite
    nn::save_checkpoint(ckpt, saved.model, *saved.opt, *saved.schedule);
    CHECK(read_all(ckpt + "/manifest.txt").find("schedule_state best -inf\n") != std::string::npos);
    nn::load_checkpoint(ckpt, loaded.model, *loaded.opt, *loaded.schedule);
    const auto& plateau = dynamic_cast<const optim::ReduceLROnPlateau&>(*loaded.schedule);
    CHECK(plateau.best() == -std::numeric_limits<double>::infinity());
    CHECK(plateau.epoch() == 0);
}
