// Checkpoints: a round trip restores predictions and optimiser state exactly; every corrupt
// checkpoint is refused with the fault named, leaving the model and the optimiser untouched.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <tapegrad/nn/checkpoint.hpp>
#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
namespace fs = std::filesystem;
using Model = tg::nn::Sequential<float>;
using State = tg::optim::Optimizer<float>::State;

namespace {

Model make_model(std::uint64_t seed, std::vector<std::size_t> sizes = {4, 8, 3}) {
    tg::Generator gen(seed);
    return tg::nn::mlp<float>(sizes, tg::nn::Activation::ReLU, gen);
}

tg::Tensor<float> inputs() {
    tg::Generator gen(99);
    return tg::randn<float>({6, 4}, gen);
}

/// A few Adam steps on fixed data, so that the optimiser has moments to save.
void train(Model& model, tg::optim::Adam<float>& adam, int steps) {
    const tg::Labels labels = {0, 1, 2, 0, 1, 2};
    for (int s = 0; s < steps; ++s) {
        adam.zero_grad();
        tg::cross_entropy(model(inputs()), labels).backward();
        adam.step();
    }
}

std::vector<xt::xarray<float>> values(const Model& model) {
    std::vector<xt::xarray<float>> out;
    for (const auto& [name, p] : model.named_parameters()) out.push_back(p.value());
    return out;
}

std::vector<std::pair<std::string, xt::xarray<float>>> values(const State& state) {
    std::vector<std::pair<std::string, xt::xarray<float>>> out;
    for (const auto& [name, t] : state) out.emplace_back(name, t.value());
    return out;
}

void overwrite_line(const std::string& path, const std::string& from, const std::string& to) {
    std::ifstream in(path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
    std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("checkpoint: a round trip gives identical predictions and optimiser state", "[data][checkpoint]") {
    testing::TempDir dir;
    Model trained = make_model(1);
    // The state stores lr as a float32 tensor: 2^-6 is exact, so resumed training matches bit for bit.
    tg::optim::Adam<float> adam(trained.parameters(), {.lr = 0.015625});
    train(trained, adam, 3);
    tg::nn::save_checkpoint(dir.file("ckpt"), trained, adam);
    CHECK(fs::exists(dir.file("ckpt/model/0.weight.npy")));
    CHECK(fs::exists(dir.file("ckpt/optimizer/exp_avg_sq.3.npy")));

    Model restored = make_model(2);
    tg::optim::Adam<float> adam2(restored.parameters(), {.lr = 0.5});
    REQUIRE(values(restored) != values(trained));
    tg::nn::load_checkpoint(dir.file("ckpt"), restored, adam2);
    CHECK(values(restored) == values(trained));
    CHECK(restored(inputs()).value() == trained(inputs()).value());
    CHECK(values(adam2.state()) == values(adam.state()));
    CHECK(adam2.lr() == 0.015625);

    // Training on from both gives the same weights: the moments and step counts came back too.
    train(trained, adam, 2);
    train(restored, adam2, 2);
    CHECK(values(restored) == values(trained));
}

TEST_CASE("checkpoint: a model holding the same layer twice saves it once and round-trips", "[data][checkpoint]") {
    auto build = [](std::uint64_t seed) {
        tg::Generator gen(seed);
        auto shared = std::make_shared<tg::nn::Dense<float>>(4, 4, gen);
        Model m{shared, std::make_shared<tg::nn::ReLU<float>>(), shared,
                std::make_shared<tg::nn::Dense<float>>(4, 3, gen)};
        return m;
    };
    testing::TempDir dir;
    Model trained = build(1);
    tg::optim::Adam<float> adam(trained.parameters(), {.lr = 0.015625});
    train(trained, adam, 3);
    tg::nn::save_checkpoint(dir.file("ckpt"), trained, adam);
    CHECK(fs::exists(dir.file("ckpt/model/0.weight.npy")));
    CHECK_FALSE(fs::exists(dir.file("ckpt/model/2.weight.npy")));  // the same tensor as 0.weight
    CHECK(fs::exists(dir.file("ckpt/model/3.weight.npy")));
    CHECK(fs::exists(dir.file("ckpt/optimizer/exp_avg.3.npy")));  // 0.weight, 0.bias, 3.weight, 3.bias

    Model restored = build(2);
    tg::optim::Adam<float> adam2(restored.parameters(), {.lr = 0.5});
    REQUIRE(values(restored) != values(trained));
    tg::nn::load_checkpoint(dir.file("ckpt"), restored, adam2);
    CHECK(values(restored) == values(trained));
    CHECK(restored(inputs()).value() == trained(inputs()).value());
    CHECK(values(adam2.state()) == values(adam.state()));
    // The restored layer is still one layer used twice: training continues identically.
    train(trained, adam, 1);
    train(restored, adam2, 1);
    CHECK(values(restored) == values(trained));
    CHECK(restored.at<tg::nn::Dense<float>>(0)->weight().same(restored.at<tg::nn::Dense<float>>(2)->weight()));
}

TEST_CASE("checkpoint: saving replaces an older checkpoint and leaves no temporary folder", "[data][checkpoint]") {
    testing::TempDir dir;
    Model a = make_model(1);
    Model b = make_model(2);
    tg::nn::save_checkpoint(dir.file("ckpt/"), a);
    tg::nn::save_checkpoint(dir.file("ckpt"), b);
    Model loaded = make_model(3);
    tg::nn::load_checkpoint(dir.file("ckpt"), loaded);
    CHECK(values(loaded) == values(b));
    std::vector<std::string> entries;
    for (const auto& e : fs::directory_iterator(dir.path())) entries.push_back(e.path().filename().string());
    CHECK(entries == std::vector<std::string>{"ckpt"});

    fs::create_directories(dir.file("precious"));
    std::ofstream(dir.file("precious/notes.txt")) << "keep me";
    CHECK_THROWS_MATCHES(tg::nn::save_checkpoint(dir.file("precious"), a), tg::IoError,
                         Says("is not a checkpoint; refusing to replace it"));
    CHECK(fs::exists(dir.file("precious/notes.txt")));
}

TEST_CASE("checkpoint: a corrupt checkpoint is refused and changes nothing", "[data][checkpoint][errors]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    Model saved = make_model(1);
    tg::optim::Adam<float> saved_adam(saved.parameters());
    train(saved, saved_adam, 1);
    tg::nn::save_checkpoint(ckpt, saved, saved_adam);

    Model model = make_model(2);
    tg::optim::Adam<float> adam(model.parameters());
    train(model, adam, 2);
    const auto before = values(model);
    const auto state_before = values(adam.state());
    auto refused = [&](const std::string& fault) {
        CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, model, adam), tg::IoError, Says(fault));
        CHECK(values(model) == before);
        CHECK(values(adam.state()) == state_before);
    };
    const std::string weight = ckpt + "/model/2.weight.npy";
    SECTION("no manifest") {
        fs::remove(ckpt + "/manifest.txt");
        refused("not a tapegrad checkpoint?");
    }
    SECTION("foreign manifest") {
        overwrite_line(ckpt + "/manifest.txt", "tapegrad checkpoint v2", "hello");
        refused("starts with 'hello'");
    }
    SECTION("missing parameter file") {
        fs::remove(weight);
        refused("2.weight.npy': cannot open");
    }
    SECTION("truncated parameter file") {
        fs::resize_file(weight, fs::file_size(weight) - 4);
        refused("parameter '2.weight' [3, 8]: npy file '" + weight + "': truncated for shape [3, 8]");
    }
    SECTION("extended parameter file") {
        std::ofstream(weight, std::ios::app) << "junk";
        refused("extra bytes");
    }
    SECTION("float64 parameter file") {
        tg::data::write_npy<double>(weight, xt::zeros<double>({3, 8}));
        refused("dtype '<f8', expected '<f4'");
    }
    SECTION("parameter file of another shape") {
        tg::data::write_npy<float>(weight, xt::zeros<float>({8, 3}));
        refused("parameter '2.weight': file '" + weight + "' has shape [8, 3], expected [3, 8]");
    }
    SECTION("foreign parameter file") {
        testing::write_plain(weight, testing::Bytes(200, 7));
        refused("not a .npy file");
    }
    SECTION("manifest shape differs from the model's") {
        overwrite_line(ckpt + "/manifest.txt", "parameter 2.weight [3,8]", "parameter 2.weight [3,9]");
        refused("parameter '2.weight' has shape [3, 9] in the checkpoint, [3, 8] in the model");
    }
    SECTION("parameter missing from the manifest") {
        overwrite_line(ckpt + "/manifest.txt", "parameter 2.bias [3]\n", "");
        refused("the model's parameter '2.bias' [3] is not in it");
    }
    SECTION("cut optimiser state file, valid parameters") {
        const std::string m = ckpt + "/optimizer/exp_avg.0.npy";
        fs::resize_file(m, fs::file_size(m) - 1);
        refused("optimizer state 'exp_avg.0' [8, 4]: npy file '" + m + "': truncated");
    }
    SECTION("incomplete optimiser state") {
        overwrite_line(ckpt + "/manifest.txt", "state exp_avg_sq.1 [8]\n", "");
        refused("the optimizer refuses its state");
    }
}

TEST_CASE("checkpoint: another architecture, dtype or optimiser is refused", "[data][checkpoint][errors]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    Model saved = make_model(1);
    tg::optim::Adam<float> adam(saved.parameters());
    tg::nn::save_checkpoint(ckpt, saved, adam);

    Model wider = make_model(2, {4, 9, 3});
    const auto before = values(wider);
    CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, wider), tg::IoError,
                         Says("parameter '0.weight' has shape [8, 4] in the checkpoint, [9, 4] in the model"));
    CHECK(values(wider) == before);

    Model deeper = make_model(2, {4, 8, 3, 3});
    CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, deeper), tg::IoError, Says("'4.weight' [3, 3] is not in it"));
    tg::Generator gen(0);
    Model no_bias = tg::nn::mlp<float>({4, 8, 3}, tg::nn::Activation::ReLU, gen, /*bias=*/false);
    CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, no_bias), tg::IoError,
                         Says("parameter '0.bias' [8] is not in the model"));

    auto doubles = tg::nn::mlp<double>({4, 8, 3}, tg::nn::Activation::ReLU, gen);
    CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, doubles), tg::IoError,
                         Says("holds float32 tensors, the model is float64"));

    Model model = make_model(3);
    tg::optim::SGD<float> sgd(model.parameters(), {.lr = 0.1});
    CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, model, sgd), tg::IoError,
                         Says("holds Adam state, the optimizer is SGD"));
}

namespace {

/// Dense, BatchNorm1d, ReLU, Dense: with track_running_stats the model has buffers
/// (1.running_mean, 1.running_var, 1.num_batches_tracked), without it the same parameters only.
Model batch_norm_model(std::uint64_t seed, bool track_running_stats = true) {
    tg::Generator gen(seed);
    Model model;
    model.push_back(std::make_shared<tg::nn::Dense<float>>(4, 8, gen));
    model.push_back(std::make_shared<tg::nn::BatchNorm1d<float>>(8, 1e-5, 0.1, true, track_running_stats));
    model.push_back(std::make_shared<tg::nn::ReLU<float>>());
    model.push_back(std::make_shared<tg::nn::Dense<float>>(8, 3, gen));
    return model;
}

std::vector<xt::xarray<float>> buffer_values(const Model& model) {
    std::vector<xt::xarray<float>> out;
    for (const auto& [name, b] : model.named_buffers()) out.push_back(b.value());
    return out;
}

}  // namespace

TEST_CASE("checkpoint: buffers (BatchNorm's running statistics) round-trip, so eval() predicts the same",
          "[data][checkpoint]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    Model saved = batch_norm_model(1);
    for (int s = 0; s < 3; ++s) saved(inputs());  // training-mode passes move the running statistics
    saved.eval();
    const auto expected = saved(inputs()).value();
    tg::nn::save_checkpoint(ckpt, saved);
    CHECK(fs::exists(ckpt + "/buffers/1.running_mean.npy"));

    Model loaded = batch_norm_model(2);
    REQUIRE(buffer_values(loaded) != buffer_values(saved));
    tg::nn::load_checkpoint(ckpt, loaded);
    CHECK(buffer_values(loaded) == buffer_values(saved));
    loaded.eval();
    const xt::xarray<float> predicted = loaded(inputs()).value();
    CHECK(predicted == expected);
}

TEST_CASE("checkpoint: a buffer missing from either side is refused by name and changes nothing",
          "[data][checkpoint][errors]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    Model norm = batch_norm_model(1);
    norm(inputs());
    tg::nn::save_checkpoint(ckpt, norm);

    // A model whose batch norm keeps no running statistics: same parameters, no buffers.
    Model untracked = batch_norm_model(2, false);
    const auto untracked_before = values(untracked);
    CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, untracked), tg::IoError,
                         Says("buffer '1.num_batches_tracked' [] is not in the model"));
    CHECK(values(untracked) == untracked_before);

    // A checkpoint without one of the model's buffers (as one saved before buffers were saved).
    overwrite_line(ckpt + "/manifest.txt", "buffer 1.running_var [8]\n", "");
    Model target = batch_norm_model(2);
    const auto params_before = values(target);
    const auto buffers_before = buffer_values(target);
    CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, target), tg::IoError,
                         Says("the model's buffer '1.running_var' [8] is not in it"));
    CHECK(values(target) == params_before);
    CHECK(buffer_values(target) == buffers_before);
}
