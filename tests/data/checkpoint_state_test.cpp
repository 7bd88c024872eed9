// Everything a resumed run needs comes back exactly from one checkpoint: the optimiser's lr, the lr
// schedule's state, the caller's extras (epoch, the data order's generator state, ...).
#include <catch2/catch.hpp>

#include <filesystem>

#include <tapegrad/nn/checkpoint.hpp>
#include "autograd/says.hpp"
#include "data/checkpoint_fixtures.hpp"
#include "data/files.hpp"

namespace tg = tapegrad;
namespace fs = std::filesystem;
using testing::make_model;
using testing::values;

TEST_CASE("checkpoint: the optimiser's lr comes back exactly, not rounded to float32", "[data][checkpoint]") {
    testing::TempDir dir;
    auto model = make_model(1);
    tg::optim::Adam<float> adam(model.parameters(), {.lr = 1e-3});
    testing::train(model, adam, 1);
    tg::nn::save_checkpoint(dir.file("ckpt"), model, adam);
    auto restored = make_model(2);
    tg::optim::Adam<float> adam2(restored.parameters(), {.lr = 0.5});
    tg::nn::load_checkpoint(dir.file("ckpt"), restored, adam2);
    CHECK(adam2.lr() == 1e-3);
    testing::train(model, adam, 2);
    testing::train(restored, adam2, 2);
    CHECK(values(restored) == values(model));
}

TEST_CASE("checkpoint: the lr schedule's state round-trips, and another kind or none is refused",
          "[data][checkpoint][schedule]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    auto model = make_model(1);
    tg::optim::Adam<float> adam(model.parameters(), {.lr = 1e-3});
    tg::optim::CosineAnnealingLR cosine(adam, 10);
    for (int e = 0; e < 3; ++e) {
        testing::train(model, adam, 1);
        cosine.step();
    }
    tg::nn::save_checkpoint(ckpt, model, adam, cosine);

    auto restored = make_model(2);
    tg::optim::Adam<float> adam2(restored.parameters(), {.lr = 0.5});
    tg::optim::CosineAnnealingLR cosine2(adam2, 10);
    SECTION("same kind: epoch, base lr and lr come back") {
        tg::nn::load_checkpoint(ckpt, restored, adam2, cosine2);
        CHECK(cosine2.epoch() == 3);
        CHECK(cosine2.base_lr() == 1e-3);
        CHECK(adam2.lr() == adam.lr());
        for (int e = 0; e < 3; ++e) {
            cosine.step();
            cosine2.step();
            CHECK(adam2.lr() == adam.lr());
        }
    }
    SECTION("another kind, or no schedule saved: refused, nothing changes") {
        tg::optim::StepLR step(adam2, 2);
        step.step();
        const auto before = values(restored);
        const auto state_before = values(adam2);
        CHECK_THROWS_MATCHES(
            tg::nn::load_checkpoint(ckpt, restored, adam2, step), tg::IoError,
            Says("checkpoint '" + ckpt +
                 "': it holds CosineAnnealingLR state, the schedule is StepLR(step_size=2, gamma=0.1)"));
        tg::nn::save_checkpoint(dir.file("plain"), model, adam);
        CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(dir.file("plain"), restored, adam2, step), tg::IoError,
                             Says("it holds no schedule, the schedule is StepLR"));
        CHECK(values(restored) == before);
        CHECK(values(adam2) == state_before);
        CHECK(step.epoch() == 1);
        CHECK(adam2.lr() == 0.5);
    }
    SECTION("a schedule of another optimiser: refused at save and at load") {
        CHECK_THROWS_MATCHES(tg::nn::save_checkpoint(dir.file("other"), model, adam, cosine2), tg::ValueError,
                             Says("schedule CosineAnnealingLR(T_max=10, eta_min=0) sets the lr of another optimizer"));
        CHECK_FALSE(fs::exists(dir.file("other")));
        CHECK_THROWS_AS(tg::nn::load_checkpoint(ckpt, model, adam, cosine2), tg::ValueError);
    }
}

TEST_CASE("checkpoint: extras are saved with the model and returned by load", "[data][checkpoint]") {
    testing::TempDir dir;
    const std::string ckpt = dir.file("ckpt");
    auto model = make_model(1);
    tg::optim::SGD<float> sgd(model.parameters(), {.lr = 0.1});
    const tg::nn::CheckpointExtras extras = {{"epoch", "4"}, {"bytes", std::string("\0\n\xff ", 4)}, {"empty", ""}};
    tg::nn::save_checkpoint(ckpt, model, sgd, extras);
    CHECK(tg::nn::load_checkpoint(ckpt, model, sgd) == extras);
    CHECK(tg::nn::load_checkpoint(ckpt, model) == extras);
    CHECK(tg::nn::read_checkpoint_extras(ckpt) == extras);

    SECTION("a cut extra is refused and changes nothing") {
        fs::resize_file(ckpt + "/extra/bytes", 2);
        auto other = make_model(2);
        const auto before = values(other);
        CHECK_THROWS_MATCHES(tg::nn::load_checkpoint(ckpt, other), tg::IoError,
                             Says("extra '" + ckpt + "/extra/bytes' holds 2 bytes, the manifest says 4"));
        CHECK(values(other) == before);
    }
    SECTION("a name that cannot be a file name is refused, writing nothing") {
        CHECK_THROWS_MATCHES(tg::nn::save_checkpoint(dir.file("bad"), model, sgd, {{"a/b", "x"}}), tg::ValueError,
                             Says("extra name 'a/b' cannot be a file name"));
        CHECK_FALSE(fs::exists(dir.file("bad")));
    }
}

TEST_CASE("checkpoint: check_checkpoint_path refuses a file or a foreign folder where the checkpoint goes",
          "[data][checkpoint][errors]") {
    testing::TempDir dir;
    testing::write_plain(dir.file("file"), {1, 2, 3});
    CHECK_THROWS_MATCHES(tg::nn::check_checkpoint_path(dir.file("file")), tg::IoError,
                         Says("'" + dir.file("file") + "': it exists and is not a checkpoint"));
    CHECK_THROWS_MATCHES(tg::nn::check_checkpoint_path(dir.file("file/ckpt")), tg::IoError, Says(dir.file("file")));
    CHECK(testing::read_all(dir.file("file")) == testing::Bytes{1, 2, 3});
    tg::nn::check_checkpoint_path(dir.file("new/ckpt"));
    CHECK(fs::is_empty(dir.file("new")));
}

TEST_CASE("Generator: set_state(state()) continues the same stream, and a foreign state is refused", "[data][random]") {
    tg::Generator a(7);
    a.normal();  // leaves a spare normal value in the state
    tg::Generator b(1);
    b.set_state(a.state());
    for (int i = 0; i < 5; ++i) CHECK(a.normal() == b.normal());
    CHECK(a.below(1000) == b.below(1000));
    const std::string before = b.state();
    CHECK_THROWS_MATCHES(b.set_state("1 2 3"), tg::ValueError, Says("Generator::set_state"));
    CHECK_THROWS_MATCHES(b.set_state(before + " 5"), tg::ValueError, Says("Generator::set_state"));
    CHECK(b.state() == before);
}

TEST_CASE("DataLoader: restoring its generator's state resumes the same epoch orders", "[data][loader]") {
    tg::data::Dataset<float> data{xt::zeros<float>({50, 2}), tg::Labels::full({50}, 0)};
    tg::data::DataLoader<float> a(data, {.batch_size = 8, .seed = 3});
    a.epoch();
    const std::string after_one = a.generator().state();
    a.epoch();
    const auto second = a.order();
    tg::data::DataLoader<float> b(data, {.batch_size = 8, .seed = 99});
    b.generator().set_state(after_one);
    b.epoch();
    CHECK(b.order() == second);
}
