// Checkpoints as one safetensors file: the keys and metadata documented in nn/checkpoint.hpp, a
// bitwise round trip of model, optimiser, schedule and extras, resumed training equal to the
// uninterrupted run, every corrupt or foreign file refused with nothing changed, and the folder
// format still written and read beside it.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <tapegrad/data/safetensors.hpp>
#include <tapegrad/nn/checkpoint.hpp>
#include <tapegrad/nn/safetensors.hpp>
#include <tapegrad/tapegrad.hpp>

#include "autograd/says.hpp"
#include "data/checkpoint_fixtures.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
namespace fs = std::filesystem;
using testing::entries;
using testing::values;
using Model = tg::nn::Sequential<float>;

namespace {

/// Dense, BatchNorm1d, ReLU, Dense: parameters and buffers (1.running_mean, ...).
Model norm_model(std::uint64_t seed) {
    tg::Generator gen(seed);
    Model model;
    model.push_back(std::make_shared<tg::nn::Dense<float>>(4, 8, gen));
    model.push_back(std::make_shared<tg::nn::BatchNorm1d<float>>(8));
    model.push_back(std::make_shared<tg::nn::ReLU<float>>());
    model.push_back(std::make_shared<tg::nn::Dense<float>>(8, 3, gen));
    return model;
}

std::vector<xt::xarray<float>> buffer_values(const Model& model) {
    std::vector<xt::xarray<float>> out;
    for (const auto& [name, b] : model.named_buffers()) out.push_back(b.value());
    return out;
}

std::vector<std::string> keys(const tg::data::SafetensorsFile& file) {
    std::vector<std::string> out;
    for (const auto& e : file.entries()) out.push_back(e.name);
    std::sort(out.begin(), out.end());
    return out;
}

/// The file's tensors and metadata, to be changed and written back by the refusal tests.
struct Contents {
    tg::data::NamedTensors<float> tensors;
    tg::data::SafetensorsMetadata metadata;
    void write(const std::string& path) const { tg::data::write_safetensors(path, tensors, metadata); }
    tg::Tensor<float>& at(const std::string& key) {
        for (auto& [name, t] : tensors)
            if (name == key) return t;
        FAIL("no tensor " << key);
        return tensors.front().second;
    }
    void erase(const std::string& key) {
        std::erase_if(tensors, [&](const auto& named) { return named.first == key; });
    }
};

Contents contents(const std::string& path) {
    return {tg::data::read_safetensors<float>(path), tg::data::SafetensorsFile(path).metadata()};
}

std::string dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    return std::to_string(child);
}

}  // namespace

TEST_CASE("checkpoint file: model, buffers, Adam, schedule and extras round-trip bitwise under the documented keys",
          "[nn][checkpoint][safetensors]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("run.safetensors");
    Model saved = norm_model(1);
    tg::optim::Adam<float> adam(saved.parameters(), {.lr = 1e-3});
    tg::optim::CosineAnnealingLR cosine(adam, 10);
    for (int e = 0; e < 3; ++e) {
        testing::train(saved, adam, 1);
        cosine.step();
    }
    const tg::nn::CheckpointExtras extras = {{"epoch", "3"}, {"bytes", std::string("\0\n\xff ", 4)}, {"empty", ""}};
    tg::nn::save_checkpoint(ckpt, saved, adam, cosine, extras);
    CHECK(entries(dir.path()) == std::vector<std::string>{"run.safetensors"});

    // What a Python user reads with safetensors.safe_open.
    const tg::data::SafetensorsFile file(ckpt);
    CHECK(
        keys(file) ==
        std::vector<std::string>{
            "model.0.bias",           "model.0.weight",         "model.1.bias",           "model.1.num_batches_tracked",
            "model.1.running_mean",   "model.1.running_var",    "model.1.weight",         "model.3.bias",
            "model.3.weight",         "optimizer.exp_avg.0",    "optimizer.exp_avg.1",    "optimizer.exp_avg.2",
            "optimizer.exp_avg.3",    "optimizer.exp_avg.4",    "optimizer.exp_avg.5",    "optimizer.exp_avg_sq.0",
            "optimizer.exp_avg_sq.1", "optimizer.exp_avg_sq.2", "optimizer.exp_avg_sq.3", "optimizer.exp_avg_sq.4",
            "optimizer.exp_avg_sq.5", "optimizer.lr.0",         "optimizer.step.0",       "optimizer.step.1",
            "optimizer.step.2",       "optimizer.step.3",       "optimizer.step.4",       "optimizer.step.5"});
    CHECK(file.entry("model.0.weight").dtype == "F32");
    CHECK(file.entry("model.0.weight").shape == tg::Shape{8, 4});
    const auto& meta = file.metadata();
    CHECK(meta.at("format") == "pt");
    CHECK(meta.at("checkpoint") == "tapegrad checkpoint v3");
    CHECK(meta.at("dtype") == "float32");
    CHECK(meta.at("buffers") == "1.running_mean 1.running_var 1.num_batches_tracked");
    CHECK(meta.at("optimizer") == "Adam");
    CHECK(meta.at("optimizer.lr") == fmt::format("{}", adam.lr()));
    CHECK(meta.at("schedule") == "CosineAnnealingLR");
    CHECK(meta.at("schedule.epoch") == "3");
    CHECK(meta.at("schedule.base_lr.0") == "0.001");
    CHECK(meta.at("extra.epoch") == "Mw==");      // base64.b64encode(b"3")
    CHECK(meta.at("extra.bytes") == "AAr/IA==");  // base64.b64encode(b"\0\n\xff ")
    CHECK(meta.at("extra.empty") == "");
    CHECK(meta.size() == 12);
    // The model part is model.state_dict() under "model.": what PyTorch's load_state_dict takes.
    for (const auto& [key, tensor] : saved.state_dict())
        CHECK(file.load<float>("model." + key).value() == tensor.value());

    Model loaded = norm_model(2);
    tg::optim::Adam<float> adam2(loaded.parameters(), {.lr = 0.5});
    tg::optim::CosineAnnealingLR cosine2(adam2, 10);
    REQUIRE(values(loaded) != values(saved));
    CHECK(tg::nn::load_checkpoint(ckpt, loaded, adam2, cosine2) == extras);
    CHECK(values(loaded) == values(saved));
    CHECK(buffer_values(loaded) == buffer_values(saved));
    CHECK(values(adam2) == values(adam));
    CHECK(adam2.lr() == adam.lr());  // exactly, not rounded to float32
    CHECK(cosine2.state() == cosine.state());
    CHECK(tg::nn::read_checkpoint_extras(ckpt) == extras);
    saved.eval();
    loaded.eval();
    tg::Generator gen(5);
    const auto x = tg::randn<float>({6, 4}, gen);
    CHECK(loaded(x).value() == saved(x).value());
}

TEST_CASE("checkpoint file: SGD with momentum and groups under StepLR resumes as the uninterrupted run",
          "[nn][checkpoint][safetensors]") {
    struct Rig {
        explicit Rig(std::uint64_t seed) {
            tg::Generator gen(seed);
            model = tg::nn::mlp<double>({3, 4, 2}, tg::nn::Activation::Tanh, gen);
            const auto p = model.parameters();
            sgd = std::make_unique<tg::optim::SGD<double>>(
                std::vector<tg::optim::SGDGroup<double>>{
                    {.params = {p[0], p[2]}, .momentum = 0.9},
                    {.params = {p[1], p[3]}, .lr = 0.01, .momentum = 0.5, .nesterov = true}},
                tg::optim::SGDOptions{.lr = 0.05});
            schedule = std::make_unique<tg::optim::StepLR>(*sgd, 2, 0.5);
        }
        void step() {
            tg::Generator gen(7);
            const auto x = tg::randn<double>({5, 3}, gen);
            const auto y = tg::randn<double>({5, 2}, gen);
            sgd->zero_grad();
            tg::sum(tg::square(model(x) - y)).backward();
            sgd->step();
            schedule->step();
        }
        std::vector<xt::xarray<double>> values() const {
            std::vector<xt::xarray<double>> out;
            for (const auto& p : model.parameters()) out.push_back(p.value());
            for (const auto& [name, t] : sgd->state()) out.push_back(t.value());
            return out;
        }
        tg::nn::Sequential<double> model;
        std::unique_ptr<tg::optim::SGD<double>> sgd;
        std::unique_ptr<tg::optim::StepLR> schedule;
    };
    testing::TempDir dir;
    const std::string ckpt = dir.file("sub/run.safetensors");  // its folder is created
    Rig whole(1), first(1), resumed(2);
    for (int s = 0; s < 6; ++s) whole.step();
    for (int s = 0; s < 3; ++s) first.step();
    tg::nn::save_checkpoint(ckpt, first.model, *first.sgd, *first.schedule);
    CHECK(tg::data::SafetensorsFile(ckpt).entry("optimizer.momentum_buffer.0").dtype == "F64");
    REQUIRE(resumed.values() != first.values());
    tg::nn::load_checkpoint(ckpt, resumed.model, *resumed.sgd, *resumed.schedule);
    CHECK(resumed.values() == first.values());
    CHECK(resumed.sgd->lrs() == first.sgd->lrs());
    for (int s = 0; s < 3; ++s) resumed.step();
    CHECK(resumed.values() == whole.values());
    CHECK(resumed.sgd->lrs() == whole.sgd->lrs());
    CHECK(resumed.schedule->state() == whole.schedule->state());
}

TEST_CASE("checkpoint file: a layer used twice is saved under both state_dict keys and loads back",
          "[nn][checkpoint][safetensors]") {
    auto build = [](std::uint64_t seed) {
        tg::Generator gen(seed);
        auto shared = std::make_shared<tg::nn::Dense<float>>(4, 4, gen);
        return Model{shared, std::make_shared<tg::nn::ReLU<float>>(), shared,
                     std::make_shared<tg::nn::Dense<float>>(4, 3, gen)};
    };
    testing::TempDir dir;
    const std::string ckpt = dir.file("tied.safetensors");
    Model saved = build(1);
    tg::optim::Adam<float> adam(saved.parameters(), {.lr = 0.015625});
    testing::train(saved, adam, 2);
    tg::nn::save_checkpoint(ckpt, saved, adam);
    const tg::data::SafetensorsFile file(ckpt);
    CHECK(file.load<float>("model.2.weight").value() == file.load<float>("model.0.weight").value());

    Model loaded = build(2);
    tg::optim::Adam<float> adam2(loaded.parameters(), {.lr = 0.5});
    tg::nn::load_checkpoint(ckpt, loaded, adam2);
    CHECK(values(loaded) == values(saved));
    CHECK(loaded.at<tg::nn::Dense<float>>(0)->weight().same(loaded.at<tg::nn::Dense<float>>(2)->weight()));
    testing::train(saved, adam, 1);
    testing::train(loaded, adam2, 1);
    CHECK(values(loaded) == values(saved));
}

TEST_CASE("checkpoint file: a corrupt, foreign or mismatched file is refused by name and changes nothing",
          "[nn][checkpoint][safetensors][errors]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("run.safetensors");
    Model saved = norm_model(1);
    tg::optim::Adam<float> saved_adam(saved.parameters());
    tg::optim::StepLR saved_step(saved_adam, 2);
    testing::train(saved, saved_adam, 1);
    saved_step.step();
    tg::nn::save_checkpoint(ckpt, saved, saved_adam, saved_step, {{"epoch", "1"}});

    Model model = norm_model(2);
    tg::optim::Adam<float> adam(model.parameters());
    tg::optim::StepLR step(adam, 2);
    testing::train(model, adam, 2);
    const auto before = values(model);
    const auto buffers_before = buffer_values(model);
    const auto state_before = values(adam);
    const auto refused = [&](const std::string& fault) {
        CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, model, adam, step), tg::IoError,
                             Says("checkpoint '" + ckpt + "'") && Says(fault));
        CHECK(values(model) == before);
        CHECK(buffer_values(model) == buffers_before);
        CHECK(values(adam) == state_before);
        CHECK(step.epoch() == 0);
    };
    Contents c = contents(ckpt);
    SECTION("truncated") {
        fs::resize_file(ckpt, fs::file_size(ckpt) - 4);
        refused("the tensors cover");
    }
    SECTION("not safetensors at all") {
        testing::write_plain(ckpt, testing::Bytes(200, 7));
        refused("safetensors '" + ckpt + "'");
    }
    SECTION("a safetensors file of weights only (foreign)") {
        tg::nn::save_safetensors(saved, ckpt);
        refused("its __metadata__ 'checkpoint' is missing, not 'tapegrad checkpoint v3'");
    }
    SECTION("another format version") {
        c.metadata["checkpoint"] = "tapegrad checkpoint v9";
        c.write(ckpt);
        refused("'checkpoint' is 'tapegrad checkpoint v9'");
    }
    SECTION("a parameter missing") {
        c.erase("model.3.bias");
        c.write(ckpt);
        refused("the model's parameter '3.bias' [3] is not in it");
    }
    SECTION("a buffer listed but missing") {
        c.erase("model.1.running_var");
        c.write(ckpt);
        refused("buffer '1.running_var' is in its __metadata__ 'buffers' but no tensor 'model.1.running_var'");
    }
    SECTION("a parameter the model does not have") {
        c.tensors.emplace_back("model.9.weight", tg::zeros<float>({2, 2}));
        c.write(ckpt);
        refused("parameter '9.weight' [2, 2] is not in the model");
    }
    SECTION("a shape mismatch") {
        c.at("model.3.weight") = tg::zeros<float>({3, 9});
        c.write(ckpt);
        refused("parameter '3.weight' has shape [3, 9] in the checkpoint, [3, 8] in the model");
    }
    SECTION("optimiser state of another shape") {
        c.at("optimizer.exp_avg.0") = tg::zeros<float>({4, 8});
        c.write(ckpt);
        refused("the optimizer refuses its state");
    }
    SECTION("a key of no checkpoint") {
        c.tensors.emplace_back("weights.0", tg::zeros<float>({2}));
        c.write(ckpt);
        refused("tensor 'weights.0' is not part of a tapegrad checkpoint");
    }
    SECTION("an unknown metadata entry") {
        c.metadata["comment"] = "hello";
        c.write(ckpt);
        refused("__metadata__ 'comment': not a key of a tapegrad checkpoint");
    }
    SECTION("an extra that is not base64") {
        c.metadata["extra.epoch"] = "M===";
        c.write(ckpt);
        refused("__metadata__ 'extra.epoch': 'M===' is not base64");
    }
    SECTION("an lr that is not a number") {
        c.metadata["optimizer.lr"] = "0.001x";
        c.write(ckpt);
        refused("__metadata__ 'optimizer.lr': '0.001x' is not a non-negative number");
    }
    SECTION("another dtype") {
        c.metadata["dtype"] = "float64";
        c.write(ckpt);
        refused("it holds float64 tensors, the model is float32");
    }
    SECTION("a tensor of another dtype") {
        tg::data::NamedTensors<double> doubles;
        for (const auto& [name, t] : c.tensors)
            doubles.emplace_back(name, tg::Tensor<double>(xt::cast<double>(t.value())));
        tg::data::write_safetensors(ckpt, doubles, c.metadata);
        refused("parameter '0.weight': tensor 'model.0.weight' is F64, expected F32");
    }
    SECTION("another schedule") {
        c.metadata["schedule"] = "CosineAnnealingLR";
        c.write(ckpt);
        refused("it holds CosineAnnealingLR state, the schedule is StepLR");
    }
    SECTION("a schedule state the schedule refuses: the optimiser's state goes back") {
        c.metadata.erase("schedule.epoch");
        c.write(ckpt);
        refused("the schedule StepLR(step_size=2, gamma=0.1) refuses its state");
    }
}

TEST_CASE("checkpoint file: the folder format is still written for other paths and old folders still load",
          "[nn][checkpoint][safetensors]") {
    testing::TempDir dir;
    Model saved = norm_model(1);
    tg::optim::SGD<float> sgd(saved.parameters(), {.lr = 0.1, .momentum = 0.9});
    testing::train(saved, sgd, 2);
    tg::nn::save_checkpoint(dir.file("folder"), saved, sgd, {{"epoch", "2"}});
    tg::nn::save_checkpoint(dir.file("file.safetensors"), saved, sgd, {{"epoch", "2"}});
    CHECK(fs::is_regular_file(dir.file("folder/manifest.txt")));
    CHECK(fs::is_regular_file(dir.file("file.safetensors")));

    for (const std::string path : {dir.file("folder"), dir.file("file.safetensors")}) {
        INFO(path);
        Model loaded = norm_model(2);
        tg::optim::SGD<float> sgd2(loaded.parameters(), {.lr = 0.5, .momentum = 0.9});
        CHECK(tg::nn::load_checkpoint(path, loaded, sgd2) == tg::nn::CheckpointExtras{{"epoch", "2"}});
        CHECK(values(loaded) == values(saved));
        CHECK(buffer_values(loaded) == buffer_values(saved));
        CHECK(values(sgd2) == values(sgd));
    }
    // A checkpoint file under a name without the extension is recognised as a file when loaded.
    fs::rename(dir.file("file.safetensors"), dir.file("renamed"));
    Model loaded = norm_model(3);
    tg::nn::load_checkpoint(dir.file("renamed"), loaded);
    CHECK(values(loaded) == values(saved));
    CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(dir.file("absent.safetensors"), loaded), tg::IoError,
                         Says("safetensors '" + dir.file("absent.safetensors") + "': cannot open"));
}

TEST_CASE("checkpoint file: a file that is not a checkpoint is never replaced, and check_checkpoint_path says so",
          "[nn][checkpoint][safetensors][errors]") {
    testing::TempDir dir;
    const Model model = norm_model(1);
    const std::string weights = dir.file("weights.safetensors");
    tg::nn::save_safetensors(model, weights);
    const auto bytes = testing::read_all(weights);
    CHECK_THROWS_MATCHES(tg::nn::save_checkpoint(weights, model), tg::IoError,
                         Says("'" + weights + "': it exists and is not a checkpoint; refusing to replace it"));
    CHECK_THROWS_MATCHES(tg::nn::check_checkpoint_path(weights), tg::IoError,
                         Says("it exists and is not a checkpoint"));
    CHECK(testing::read_all(weights) == bytes);
    fs::create_directories(dir.file("folder.safetensors"));
    CHECK_THROWS_MATCHES(tg::nn::save_checkpoint(dir.file("folder.safetensors"), model), tg::IoError,
                         Says("it exists and is not a checkpoint"));

    testing::write_plain(dir.file("file"), {1, 2, 3});
    CHECK_THROWS_MATCHES(tg::nn::check_checkpoint_path(dir.file("file/run.safetensors")), tg::IoError,
                         Says("cannot create '" + dir.file("file") + "'"));
    tg::nn::check_checkpoint_path(dir.file("new/run.safetensors"));
    CHECK(fs::is_empty(dir.file("new")));
    tg::nn::save_checkpoint(dir.file("new/run.safetensors"), model);
    tg::nn::check_checkpoint_path(dir.file("new/run.safetensors"));  // a checkpoint: may be replaced
    tg::nn::save_checkpoint(dir.file("new/run.safetensors"), model);
    CHECK(entries(dir.file("new")) == std::vector<std::string>{"run.safetensors"});
}

TEST_CASE("checkpoint file: the next save removes the temporary files of killed saves, and only those",
          "[nn][checkpoint][safetensors]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("run.safetensors");
    const Model model = norm_model(1);
    tg::nn::save_checkpoint(ckpt, model);
    const std::string dead = dead_pid();
    const std::string me = std::to_string(::getpid());
    // Stale: saves of processes that are gone, and of an earlier process with our pid (the writer's
    // counter starts at 0: our next name is taken too).
    std::vector<std::string> stale = {".run.safetensors.tmp-" + dead + "-0", ".run.safetensors.tmp-" + dead + "-17"};
    for (int n = 0; n < 50; ++n) stale.push_back(".run.safetensors.tmp-" + me + "-" + std::to_string(n));
    // Kept: a live process's save (pid 1 always runs), other files' temporaries, names we never make.
    const std::vector<std::string> kept = {".run.safetensors.tmp-1-0", ".other.safetensors.tmp-" + dead + "-0",
                                           "run.safetensors.tmp-" + dead + "-0", ".run.safetensors.tmp-" + dead,
                                           ".run.safetensors.tmp-" + dead + "-0x"};
    for (const auto& name : stale) testing::write_plain(dir.file(name), {1, 2});
    for (const auto& name : kept) testing::write_plain(dir.file(name), {1, 2});
    fs::create_directories(dir.file(".run.safetensors.tmp-" + dead + "-5"));  // a folder: not ours

    Model other = norm_model(2);
    tg::nn::save_checkpoint(ckpt, other);
    std::vector<std::string> expected = kept;
    expected.push_back("run.safetensors");
    expected.push_back(".run.safetensors.tmp-" + dead + "-5");
    std::sort(expected.begin(), expected.end());
    CHECK(entries(dir.path()) == expected);
    Model loaded = norm_model(3);
    tg::nn::load_checkpoint(ckpt, loaded);
    CHECK(values(loaded) == values(other));
}

TEST_CASE("checkpoint file: a save killed by a signal leaves the previous file whole, and the next save cleans up",
          "[nn][checkpoint][safetensors]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("run.safetensors");
    const auto model = testing::make_model(1, {1000, 1000, 10});  // 4 MB a save: long enough to be caught in it
    tg::nn::save_checkpoint(ckpt, model);
    const auto has_temporary = [&](const std::string& prefix) {
        for (const auto& name : entries(dir.path()))
            if (name.rfind(prefix, 0) == 0) return true;
        return false;
    };
    bool cut_mid_save = false;
    for (int attempt = 0; attempt < 20 && !cut_mid_save; ++attempt) {
        const pid_t child = ::fork();
        if (child == 0) {
            try {
                for (;;) tg::nn::save_checkpoint(ckpt, model);
            } catch (...) {
                ::_exit(1);
            }
        }
        const std::string prefix = ".run.safetensors.tmp-" + std::to_string(child) + "-";
        for (int wait = 0; wait < 100'000 && !has_temporary(prefix); ++wait) ::usleep(200);
        ::kill(child, SIGKILL);
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        REQUIRE(WIFSIGNALED(status));
        cut_mid_save = has_temporary(prefix);
    }
    REQUIRE(cut_mid_save);

    auto loaded = testing::make_model(2, {1000, 1000, 10});
    tg::nn::load_checkpoint(ckpt, loaded);  // the killed saves never touched the checkpoint itself
    CHECK(values(loaded) == values(model));
    tg::nn::save_checkpoint(ckpt, model);
    CHECK(entries(dir.path()) == std::vector<std::string>{"run.safetensors"});
}
