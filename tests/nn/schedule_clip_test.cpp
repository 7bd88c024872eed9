// Learning-rate schedules and gradient clipping.
#include <cmath>
#include <numbers>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace optim = tapegrad::optim;

namespace {

// The lr after each of n schedule steps.
std::vector<double> lr_sequence(optim::OptimizerBase& opt, optim::LrSchedule& schedule, int n) {
    std::vector<double> out{opt.lr()};
    for (int i = 0; i < n; ++i) {
        schedule.step();
        out.push_back(opt.lr());
    }
    return out;
}

}  // namespace

TEST_CASE("StepLR: multiplies the lr by gamma every step_size epochs", "[nn][schedule]") {
    auto p = tg::zeros<float>({1}, true);
    optim::SGD<float> opt({p}, {.lr = 1.0});
    optim::StepLR schedule(opt, 2, 0.5);
    const std::vector<double> expected = {1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125};
    const auto got = lr_sequence(opt, schedule, 6);
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(expected[i]).epsilon(1e-15));
    CHECK(schedule.epoch() == 6);
    schedule.set_epoch(1);
    CHECK(opt.lr() == 1.0);
    CHECK(schedule.to_string() == "StepLR(step_size=2, gamma=0.5)");
}

TEST_CASE("CosineAnnealingLR: follows half a cosine from base_lr to eta_min", "[nn][schedule]") {
    auto p = tg::zeros<float>({1}, true);
    optim::Adam<float> opt({p}, {.lr = 1.0});
    optim::CosineAnnealingLR schedule(opt, 4, 0.1);
    // eta_min + (base - eta_min)(1 + cos(pi e / 4)) / 2 for e = 0..4, worked out by hand.
    const double c = std::cos(std::numbers::pi / 4);  // = sqrt(2)/2
    const std::vector<double> expected = {1.0, 0.1 + 0.9 * (1 + c) / 2, 0.55, 0.1 + 0.9 * (1 - c) / 2, 0.1};
    const auto got = lr_sequence(opt, schedule, 4);
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(expected[i]).epsilon(1e-14));
}

TEST_CASE("Schedules: invalid settings are ValueErrors", "[nn][schedule][errors]") {
    auto p = tg::zeros<float>({1}, true);
    optim::SGD<float> opt({p}, {.lr = 1.0});
    CHECK_THROWS_WITH(optim::StepLR(opt, 0), Catch::Contains("step_size is 0"));
    CHECK_THROWS_AS(optim::StepLR(opt, 1, -0.5), tg::ValueError);
    CHECK_THROWS_WITH(optim::CosineAnnealingLR(opt, 0), Catch::Contains("T_max is 0"));
    CHECK_THROWS_AS(optim::CosineAnnealingLR(opt, 5, -1.0), tg::ValueError);
}

TEST_CASE("clip_grad_norm: scales all gradients together down to max_norm", "[nn][clip]") {
    auto a = tg::zeros<double>({2}, true);
    auto b = tg::zeros<double>({1}, true);
    auto unused = tg::zeros<double>({3}, true);  // no gradient: skipped
    a.mutable_grad() = tg::Tensor<double>({3.0, 4.0});
    b.mutable_grad() = tg::Tensor<double>({12.0});
    const double total = nn::clip_grad_norm<double>({a, b, unused}, 6.5);
    CHECK(total == Approx(13.0).epsilon(1e-15));  // sqrt(9 + 16 + 144)
    const double coef = 6.5 / (13.0 + 1e-6);
    CHECK(a.grad().value()(0) == Approx(3.0 * coef).epsilon(1e-15));
    CHECK(a.grad().value()(1) == Approx(4.0 * coef).epsilon(1e-15));
    CHECK(b.grad().value()(0) == Approx(12.0 * coef).epsilon(1e-15));
    CHECK(nn::grad_norm<double>({a, b}) == Approx(6.5).epsilon(1e-6));
    CHECK_FALSE(unused.grad().defined());
}

TEST_CASE("clip_grad_norm: leaves gradients under the limit alone", "[nn][clip]") {
    auto a = tg::zeros<float>({2}, true);
    a.mutable_grad() = tg::Tensor<float>({0.3f, -0.4f});
    CHECK(nn::clip_grad_norm<float>({a}, 1.0) == Approx(0.5));
    CHECK(a.grad().value()(0) == 0.3f);
    CHECK(a.grad().value()(1) == -0.4f);
    CHECK_THROWS_WITH(nn::clip_grad_norm<float>({a}, -1.0), Catch::Contains("max_norm is -1"));
}
