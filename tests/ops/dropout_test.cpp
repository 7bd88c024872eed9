// Dropout beyond its op-table rows: the kept fraction over 1e6 elements within a binomial 5-sigma
// band, kept values exactly x / (1 - p), p = 0 and p = 1 exact (no NaN in the gradient), nothing
// recorded when not training, reproducibility from a generator's state (and from manual_seed for
// the default-generator overloads), and whole channels for dropout2d and dropout1d.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
using tg::TensorD;
using tg::TensorF;

TEST_CASE("dropout: kept fraction within 5 sigma of 1 - p over 1e6 elements, kept values x / (1 - p)",
          "[ops][dropout]") {
    const std::size_t n = 1000000;
    for (const double p : {0.1, 0.5, 0.75}) {
        tg::Generator gen(3);
        const TensorF x = tg::full<float>({1000, 1000}, 1.5f);
        const TensorF y = tg::dropout(x, p, true, gen);
        std::size_t kept = 0;
        bool exact = true;
        const auto expected = static_cast<float>(1.5 / (1 - p));  // x / (1 - p), rounded once
        for (const float v : y.value()) {
            if (v == 0.0f) continue;
            ++kept;
            // p = 0.5 and 0.75 scale by an exact power of two; for 0.1, 1 / 0.9 is rounded first
            // (PyTorch's x * (1 / (1 - p)) too), so allow the one rounding of the product.
            exact = exact && (p == 0.1 ? std::abs(v - expected) <= 2e-7f * expected : v == expected);
        }
        const double mean = static_cast<double>(n) * (1 - p), sigma = std::sqrt(static_cast<double>(n) * p * (1 - p));
        INFO("p " << p << ": kept " << kept << ", expected " << mean << " +- 5 * " << sigma);
        CHECK(std::abs(static_cast<double>(kept) - mean) <= 5 * sigma);
        CHECK(exact);
    }
}

TEST_CASE("dropout: the gradient is g * mask / (1 - p), the mask the forward drew", "[ops][dropout]") {
    tg::Generator gen(5);
    const TensorD x = tg::randn<double>({50, 40}, gen, 0, 1, true);
    const TensorD y = tg::dropout(x, 0.25, true, gen);
    tg::sum(y).backward();
    for (std::size_t i = 0; i < x.numel(); ++i) {
        const double yi = y.value().data()[i], gi = x.grad().value().data()[i];
        CHECK(gi == (yi == 0.0 ? 0.0 : 1.0 / 0.75));
    }
}

TEST_CASE("dropout: p = 0 is x, p = 1 exact zeros with a zero gradient", "[ops][dropout]") {
    tg::Generator gen(1);
    const std::string before = gen.state();
    const TensorD x = TensorD(xt::xarray<double>{1e300, -2, 3}, true);
    const TensorD same = tg::dropout(x, 0.0, true, gen);
    CHECK(same.value() == x.value());
    const TensorD zero = tg::dropout(x, 1.0, true, gen);
    CHECK(zero.value() == xt::xarray<double>{0, 0, 0});
    CHECK(gen.state() == before);  // neither draws
    tg::sum(zero + same).backward();
    CHECK(x.grad().value() == xt::xarray<double>{1, 1, 1});  // 1 from p = 0, 0 (not NaN) from p = 1
}

TEST_CASE("dropout: not training returns x itself and records nothing", "[ops][dropout]") {
    tg::Generator gen(1);
    const std::string before = gen.state();
    const TensorD x = tg::randn<double>({4, 4}, gen, 0, 1, true);
    const std::string after_x = gen.state();
    const TensorD y = tg::dropout(x, 0.5, false, gen);
    CHECK(y.id() == x.id());
    CHECK(y.is_leaf());
    CHECK(tg::dropout2d(tg::reshape(x, tg::Shape{1, 1, 4, 4}), 0.5, false, gen).grad_fn_name() == "reshape");
    CHECK(gen.state() == after_x);
    CHECK(before != after_x);
}

TEST_CASE("dropout: the same generator state gives the same mask, the default generator follows manual_seed",
          "[ops][dropout]") {
    const TensorF x = tg::ones<float>({64, 64});
    tg::Generator a(42), b(42);
    const TensorF ya = tg::dropout(x, 0.5, true, a);
    CHECK(ya.value() == tg::dropout(x, 0.5, true, b).value());
    CHECK(ya.value() != tg::dropout(x, 0.5, true, a).value());  // the stream moved on
    tg::manual_seed(42);
    CHECK(tg::dropout(x).value() == ya.value());  // p = 0.5 by default, from Generator(42)'s stream
}

TEST_CASE("dropout2d and dropout1d: whole channels are zeroed or kept together", "[ops][dropout]") {
    tg::Generator gen(9);
    const TensorF x = tg::ones<float>({8, 16, 3, 5});
    const TensorF y = tg::dropout2d(x, 0.5, true, gen);
    const TensorF z = tg::dropout1d(tg::ones<float>({16, 7}), 0.5, true, gen);  // unbatched [C, L]
    std::size_t dropped = 0;
    for (std::size_t c = 0; c < 8 * 16; ++c) {
        const float* channel = y.value().data() + c * 15;
        const bool all_same = std::all_of(channel, channel + 15, [&](float v) { return v == channel[0]; });
        CHECK(all_same);
        CHECK((channel[0] == 0.0f || channel[0] == 2.0f));
        dropped += channel[0] == 0.0f;
    }
    CHECK(dropped > 0);  // 128 channels at p = 0.5: none or all dropped has probability 2^-127
    CHECK(dropped < 128);
    for (std::size_t c = 0; c < 16; ++c) {
        const float* channel = z.value().data() + c * 7;
        CHECK(std::all_of(channel, channel + 7, [&](float v) { return v == channel[0]; }));
    }
}
