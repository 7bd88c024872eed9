// Learning-rate schedules and gradient clipping.
#include <cmath>
#include <limits>
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

TEST_CASE("clip_grad_norm_: any p-norm and the inf-norm, over all gradients together", "[nn][clip]") {
    const auto fresh = [] {
        auto a = tg::zeros<double>({2}, true);
        auto b = tg::zeros<double>({1}, true);
        a.mutable_grad() = tg::Tensor<double>({3.0, -4.0});
        b.mutable_grad() = tg::Tensor<double>({12.0});
        return std::vector<tg::Tensor<double>>{a, b};
    };
    struct Case {
        double p, total;
    };
    for (const Case& c : {Case{1, 19.0}, Case{2, 13.0}, Case{3, std::cbrt(27.0 + 64.0 + 1728.0)},
                          Case{0.5, std::pow(std::sqrt(3.0) + 2.0 + std::sqrt(12.0), 2.0)},
                          Case{std::numeric_limits<double>::infinity(), 12.0}}) {
        INFO("norm_type " << c.p);
        auto ps = fresh();
        CHECK(nn::grad_norm<double>(ps, c.p) == Approx(c.total).epsilon(1e-14));
        const double total = nn::clip_grad_norm_<double>(ps, 2.0, c.p);
        CHECK(total == Approx(c.total).epsilon(1e-14));
        const double coef = 2.0 / (c.total + 1e-6);
        CHECK(ps[0].grad().value()(0) == Approx(3.0 * coef).epsilon(1e-14));
        CHECK(ps[0].grad().value()(1) == Approx(-4.0 * coef).epsilon(1e-14));
        CHECK(ps[1].grad().value()(0) == Approx(12.0 * coef).epsilon(1e-14));
    }
}

TEST_CASE("grad_norm: no overflow where the squares would overflow, 0 without gradients", "[nn][clip]") {
    auto a = tg::zeros<float>({2}, true);
    a.mutable_grad() = tg::Tensor<float>({3e30f, 4e30f});  // squares 1e61: beyond float, fine in double
    CHECK(nn::grad_norm<float>({a}) == Approx(5e30).epsilon(1e-6));
    auto b = tg::zeros<double>({2}, true);
    b.mutable_grad() = tg::Tensor<double>({3e200, 4e200});  // squares beyond double
    CHECK(nn::grad_norm<double>({b}) == Approx(5e200).epsilon(1e-14));
    CHECK(nn::grad_norm<double>({b}, 4.0) == Approx(std::pow(81.0 + 256.0, 0.25) * 1e200).epsilon(1e-14));
    CHECK(nn::grad_norm<double>({tg::zeros<double>({3}, true)}) == 0.0);
    CHECK(nn::clip_grad_norm_<double>({tg::zeros<double>({3}, true)}, 1.0) == 0.0);
}

TEST_CASE("clip_grad_norm_: a non-finite total is returned and scales the gradients as PyTorch's", "[nn][clip]") {
    const double inf = std::numeric_limits<double>::infinity();
    auto a = tg::zeros<double>({3}, true);
    a.mutable_grad() = tg::Tensor<double>({1.0, std::nan(""), 2.0});
    CHECK(std::isnan(nn::clip_grad_norm_<double>({a}, 1.0)));
    for (double g : a.grad().value()) CHECK(std::isnan(g));  // coef NaN: every element NaN
    a.mutable_grad() = tg::Tensor<double>({1.0, -inf, 2.0});
    CHECK(nn::clip_grad_norm_<double>({a}, 1.0) == inf);
    // coef max_norm / inf = 0: finite elements become 0, the infinite one NaN (inf * 0).
    CHECK(a.grad().value()(0) == 0.0);
    CHECK(std::isnan(a.grad().value()(1)));
    CHECK(a.grad().value()(2) == 0.0);
}

TEST_CASE("clip_grad_value_: clamps every element into [-clip_value, clip_value]", "[nn][clip]") {
    auto a = tg::zeros<double>({4}, true);
    auto b = tg::zeros<double>({1}, true);
    auto unused = tg::zeros<double>({2}, true);
    a.mutable_grad() = tg::Tensor<double>({-3.0, 0.25, 0.5, std::nan("")});
    b.mutable_grad() = tg::Tensor<double>({7.0});
    nn::clip_grad_value_<double>({a, b, unused}, 0.5);
    CHECK(a.grad().value()(0) == -0.5);
    CHECK(a.grad().value()(1) == 0.25);
    CHECK(a.grad().value()(2) == 0.5);
    CHECK(std::isnan(a.grad().value()(3)));  // torch.clamp keeps NaN
    CHECK(b.grad().value()(0) == 0.5);
    CHECK_FALSE(unused.grad().defined());
}
