// Initialisers: bounds and sample statistics against the formulas, and determinism.
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace init = tapegrad::nn::init;

namespace {

struct Stats {
    double mean = 0, var = 0, max_abs = 0;
};

Stats stats_of(const tg::Tensor<double>& t) {
    Stats s;
    const auto& v = t.value();
    for (double x : v) s.mean += x;
    s.mean /= static_cast<double>(v.size());
    for (double x : v) {
        s.var += (x - s.mean) * (x - s.mean);
        s.max_abs = std::max(s.max_abs, std::abs(x));
    }
    s.var /= static_cast<double>(v.size() - 1);
    return s;
}

// 200 x 300 = 60000 draws: the sample variance is within 5% of the true one with a margin of
// more than 10 standard errors (relative SE sqrt(0.8 / n) = 0.4% for uniform, sqrt(2 / n) = 0.6%
// for normal), and the mean within 5 standard errors of 0.
void check_stats(const tg::Tensor<double>& t, double expected_var) {
    const Stats s = stats_of(t);
    CHECK(s.var == Approx(expected_var).epsilon(0.05));
    CHECK(std::abs(s.mean) < 5 * std::sqrt(expected_var / static_cast<double>(t.numel())));
}

}  // namespace

TEST_CASE("init: fans and gains are PyTorch's", "[nn][init]") {
    CHECK(init::fan_in_and_fan_out({5, 3}) == std::pair<std::size_t, std::size_t>{3, 5});
    CHECK(init::fan_in_and_fan_out({4, 3, 2, 2}) == std::pair<std::size_t, std::size_t>{12, 16});
    CHECK_THROWS_AS(init::fan_in_and_fan_out({7}), tg::ValueError);
    CHECK(init::calculate_gain(init::Nonlinearity::Linear) == 1.0);
    CHECK(init::calculate_gain(init::Nonlinearity::Tanh) == Approx(5.0 / 3.0));
    CHECK(init::calculate_gain(init::Nonlinearity::ReLU) == Approx(std::sqrt(2.0)));
    CHECK(init::calculate_gain(init::Nonlinearity::LeakyReLU, 0.2) == Approx(std::sqrt(2.0 / 1.04)));
}

TEST_CASE("init: xavier_uniform stays in its bound with variance gain^2 2 / (fan_in + fan_out)", "[nn][init]") {
    tg::Generator gen(11);
    auto w = init::xavier_uniform_(tg::zeros<double>({200, 300}), gen, 2.0);
    const double a = 2.0 * std::sqrt(6.0 / 500.0);
    CHECK(stats_of(w).max_abs <= a);
    check_stats(w, a * a / 3);
}

TEST_CASE("init: xavier_normal has std gain sqrt(2 / (fan_in + fan_out))", "[nn][init]") {
    tg::Generator gen(12);
    auto w = init::xavier_normal_(tg::zeros<double>({200, 300}), gen);
    check_stats(w, 2.0 / 500.0);
}

TEST_CASE("init: kaiming_uniform for ReLU, fan_in mode", "[nn][init]") {
    tg::Generator gen(13);
    auto w =
        init::kaiming_uniform_(tg::zeros<double>({200, 300}), gen, 0.0, init::FanMode::FanIn, init::Nonlinearity::ReLU);
    const double bound = std::sqrt(2.0) * std::sqrt(3.0 / 300.0);
    CHECK(stats_of(w).max_abs <= bound);
    check_stats(w, 2.0 / 300.0);
}

TEST_CASE("init: kaiming_normal for ReLU, fan_out mode", "[nn][init]") {
    tg::Generator gen(14);
    auto w =
        init::kaiming_normal_(tg::zeros<double>({200, 300}), gen, 0.0, init::FanMode::FanOut, init::Nonlinearity::ReLU);
    check_stats(w, 2.0 / 200.0);
}

TEST_CASE("init: zeros, ones and constant fill every element", "[nn][init]") {
    tg::Generator gen(15);
    auto t = tg::randn<float>({3, 4}, gen);
    init::constant_(t, 0.25);
    for (float v : t.value()) CHECK(v == 0.25f);
    init::ones_(t);
    for (float v : t.value()) CHECK(v == 1.0f);
    init::zeros_(t);
    for (float v : t.value()) CHECK(v == 0.0f);
}

TEST_CASE("init: writes in place and bumps the tensor's version, recording nothing", "[nn][init]") {
    tg::Generator gen(16);
    auto w = tg::zeros<double>({3, 3}, /*requires_grad=*/true);
    auto alias = w;
    const auto before = tg::Tape::current().size();
    const auto version = w.version();
    init::xavier_uniform_(w, gen);
    CHECK(alias.value() == w.value());
    CHECK(w.version() > version);
    CHECK(tg::Tape::current().size() == before);
}

TEST_CASE("Dense: default init is U(-1/sqrt(in), 1/sqrt(in)) for weight and bias", "[nn][init]") {
    tg::Generator gen(17);
    nn::Dense<double> fc(400, 300, gen);
    const double bound = 1.0 / std::sqrt(400.0);
    const Stats w = stats_of(fc.weight());
    CHECK(w.max_abs <= bound);
    CHECK(w.max_abs > 0.99 * bound);
    CHECK(w.var == Approx(bound * bound / 3).epsilon(0.05));
    const Stats b = stats_of(fc.bias());
    CHECK(b.max_abs <= bound);
    CHECK(b.max_abs > 0.9 * bound);  // 300 draws: P(all inside 0.9 bound) = 0.9^300, negligible
}

TEST_CASE("init: the same seed gives the same model bit for bit", "[nn][init]") {
    auto build = [](std::uint64_t seed) {
        tg::Generator gen(seed);
        return nn::mlp<float>({5, 7, 3}, nn::Activation::ReLU, gen);
    };
    auto a = build(42), b = build(42), c = build(43);
    auto pa = a.parameters(), pb = b.parameters(), pc = c.parameters();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        CHECK(pa[i].value() == pb[i].value());
        CHECK_FALSE(pa[i].same(pb[i]));  // equal values, separate storage
    }
    CHECK(pa[0].value() != pc[0].value());

    tg::Generator g1(7), g2(7);
    auto x = init::kaiming_normal_(tg::zeros<double>({4, 6}), g1);
    auto y = init::kaiming_normal_(tg::zeros<double>({4, 6}), g2);
    CHECK(x.value() == y.value());
}

TEST_CASE("init: uniform_ refuses bounds that are no interval and leaves the tensor as it was", "[nn][init][errors]") {
    tg::Generator gen(1);
    auto w = tg::full<double>({2, 2}, 3.0);
    const auto version = w.version();
    CHECK_THROWS_MATCHES(init::uniform_(w, gen, 1.0, -1.0), tg::ValueError, Says("uniform_: low is 1 and high is -1"));
    CHECK_THROWS_MATCHES(init::uniform_(w, gen, 0.0, std::numeric_limits<double>::infinity()), tg::ValueError,
                         Says("uniform_: low is 0 and high is inf"));
    CHECK_THROWS_MATCHES(init::uniform_(w, gen, std::numeric_limits<double>::quiet_NaN(), 1.0), tg::ValueError,
                         Says("uniform_: low is nan"));
    CHECK(w.value() == tg::full<double>({2, 2}, 3.0).value());
    CHECK(w.version() == version);
}
