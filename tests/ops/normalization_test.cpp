// Normalisation beyond the op table: inputs with a large mean (float32 against a long double
// reference), rms_norm's default eps, and batch_norm's in-place running statistics.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace {

/// (x - mean) / sqrt(var + eps) of one row, in long double, the mean first.
std::vector<double> standardized(const std::vector<double>& x, double eps) {
    long double mean = 0, var = 0;
    for (double v : x) mean += v;
    mean /= static_cast<long double>(x.size());
    for (double v : x) var += (v - mean) * (v - mean);
    var /= static_cast<long double>(x.size());
    std::vector<double> out;
    for (double v : x) out.push_back(static_cast<double>((v - mean) / std::sqrt(var + eps)));
    return out;
}

}  // namespace

TEST_CASE("layer_norm: float32 inputs around 1e4 to 1e6 keep their digits", "[ops][normalization][stability]") {
    for (const float base : {1e4f, 1e5f, 1e6f}) {
        // Spread 1 around the base: a one-pass E[x^2] - E[x]^2 in float32 would lose everything at 1e6.
        std::vector<float> row;
        for (int i = 0; i < 64; ++i) row.push_back(base + static_cast<float>((i * 37) % 64) / 32.0f - 1.0f);
        const std::vector<double> exact = standardized(std::vector<double>(row.begin(), row.end()), 1e-5);
        tg::TensorF x(xt::xarray<float>::from_shape({1, 64}));
        std::copy(row.begin(), row.end(), x.mutable_value().begin());
        const tg::TensorF y = tg::layer_norm(x, {64});
        for (std::size_t i = 0; i < row.size(); ++i) {
            INFO("base " << base << ", element " << i);
            CHECK(std::abs(y.value()(0, i) - exact[i]) < 1e-5);
        }
    }
}

TEST_CASE("batch_norm and group_norm: float32 channels around 1e6 keep their digits",
          "[ops][normalization][stability]") {
    // [4, 2] with channel c = 1e6 c + small steps; batch_norm per channel and group_norm with one
    // group per channel of [1, 2, 4] (the same values transposed) see the same four numbers.
    const std::vector<std::vector<double>> channels = {{1e6, 1e6 + 0.5, 1e6 + 1, 1e6 + 2},
                                                       {2e6 + 3, 2e6, 2e6 + 1, 2e6 + 1.5}};
    tg::TensorF x(xt::xarray<float>::from_shape({4, 2})), xt_(xt::xarray<float>::from_shape({1, 2, 4}));
    for (std::size_t c = 0; c < 2; ++c) {
        for (std::size_t n = 0; n < 4; ++n) {
            x.mutable_value()(n, c) = static_cast<float>(channels[c][n]);
            xt_.mutable_value()(0, c, n) = static_cast<float>(channels[c][n]);
        }
    }
    const tg::TensorF b = tg::batch_norm(x, {}, {}, {}, {}, true);
    const tg::TensorF g = tg::group_norm(xt_, 2);
    for (std::size_t c = 0; c < 2; ++c) {
        const std::vector<double> exact = standardized(channels[c], 1e-5);
        for (std::size_t n = 0; n < 4; ++n) {
            INFO("channel " << c << ", sample " << n);
            CHECK(std::abs(b.value()(n, c) - exact[n]) < 1e-5);
            CHECK(std::abs(g.value()(0, c, n) - exact[n]) < 1e-5);
        }
    }
}

TEST_CASE("rms_norm: eps defaults to the machine epsilon of the dtype", "[ops][normalization]") {
    // mean(x^2) = 1e-8, next to float32's epsilon 1.19e-7: y = x / sqrt(1e-8 + 2^-23).
    const tg::TensorF x{1e-4f, -1e-4f};
    const tg::TensorF y = tg::rms_norm(x, {2});
    const double expected = 1e-4 / std::sqrt(1e-8 + std::ldexp(1.0, -23));
    CHECK(y.value()(0) == Approx(expected).epsilon(1e-6));
    CHECK(y.value()(1) == Approx(-expected).epsilon(1e-6));
    // float64's epsilon 2^-52: y = x / sqrt(1e-8 + 2^-52), 1 - 1.1e-8 (float32's eps would give 0.28).
    const tg::TensorD yd = tg::rms_norm(tg::TensorD{1e-4, -1e-4}, {2});
    CHECK(yd.value()(0) == Approx(1e-4 / std::sqrt(1e-8 + std::ldexp(1.0, -52))).epsilon(1e-12));
    CHECK(yd.value()(0) < 1 - 1e-8);
}

TEST_CASE("batch_norm: training updates the running statistics with the unbiased variance", "[ops][normalization]") {
    // Channel 0 holds 1, 2, 3, 6 (mean 3, unbiased var 14/3); channel 1 holds 0, 0, 4, 4 (mean 2, var 16/3).
    const tg::TensorD x{{1, 0}, {2, 0}, {3, 4}, {6, 4}};
    tg::TensorD rm{0.5, -1}, rv{2, 1};
    tg::batch_norm(x, rm, rv, {}, {}, true, 0.25);
    CHECK(rm.value()(0) == Approx(0.75 * 0.5 + 0.25 * 3));
    CHECK(rm.value()(1) == Approx(0.75 * -1 + 0.25 * 2));
    CHECK(rv.value()(0) == Approx(0.75 * 2 + 0.25 * 14.0 / 3));
    CHECK(rv.value()(1) == Approx(0.75 * 1 + 0.25 * 16.0 / 3));
    CHECK(!rm.requires_grad());
    // Eval uses them: (x - rm) / sqrt(rv + eps).
    const tg::TensorD y = tg::batch_norm(x, rm, rv);
    CHECK(y.value()(3, 0) == Approx((6 - rm.value()(0)) / std::sqrt(rv.value()(0) + 1e-5)));
}

TEST_CASE("batch_norm: a failed call leaves the running statistics as they were", "[ops][normalization][errors]") {
    const tg::TensorD x{{1, 0, 2}};  // one value per channel
    tg::TensorD rm{0.5, -1, 0}, rv{2, 1, 1};
    CHECK_THROWS_AS(tg::batch_norm(x, rm, rv, {}, {}, true), tg::ValueError);
    CHECK(rm.value()(0) == 0.5);
    CHECK(rv.value()(0) == 2);
}
