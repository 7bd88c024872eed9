// Numerical edge cases the op table's random inputs never reach: huge logits, probabilities of
// exactly 0 or 1, NaN inputs, ties and kinks.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace {

template <class T>
bool all_finite(const tg::Tensor<T>& t) {
    for (auto v : t.value()) {
        if (!std::isfinite(v)) return false;
    }
    return true;
}

template <class T>
std::vector<double> flat(const tg::Tensor<T>& t) {
    return std::vector<double>(t.value().begin(), t.value().end());
}

// Gradient of sum(f(x) * weights) with respect to x (weights fixed, so every output counts).
template <class T, class F>
tg::Tensor<T> grad_of(F f, const tg::Tensor<T>& x) {
    tg::Tensor<T> y = f(x);
    tg::Tensor<T> w(xt::xarray<T>(xt::xarray<T>::from_shape(y.shape())));
    T k = 1;
    for (auto& v : w.mutable_value()) v = (k += 1);
    return tg::grad<T>({tg::sum(y * w)}, {x})[0];
}

template <class T>
tg::Tensor<T> huge_logits() {
    const T big = 1e4;
    return tg::Tensor<T>(xt::xarray<T>{{big, -big, 0}, {-big, -big, big - 1}}, true);
}

}  // namespace

TEMPLATE_TEST_CASE("stability: softmax family with logits of +-1e4", "[ops][stability]", float, double) {
    using T = TestType;
    auto x = huge_logits<T>();
    const auto s = tg::softmax(x), ls = tg::log_softmax(x), lse = tg::logsumexp(x);
    REQUIRE(all_finite(s));
    REQUIRE(all_finite(ls));
    REQUIRE(all_finite(lse));
    CHECK(s.value()(0, 0) == Approx(1.0));
    CHECK(s.value()(0, 1) == 0);
    CHECK(ls.value()(0, 1) == Approx(-2e4));
    CHECK(lse.value()(0) == Approx(1e4));
    CHECK(lse.value()(1) == Approx(1e4 - 1));
    CHECK(all_finite(grad_of([](const auto& v) { return tg::softmax(v); }, x)));
    CHECK(all_finite(grad_of([](const auto& v) { return tg::logsumexp(v); }, x)));
    // d/dx sum_j log_softmax_j = 1 - C softmax: row 0 is [1 - 3, 1, 1].
    auto g = tg::grad<T>({tg::sum(ls)}, {x})[0];
    CHECK(flat(g)[0] == Approx(-2.0));
    CHECK(flat(g)[1] == Approx(1.0));
    CHECK(flat(g)[2] == Approx(1.0));
}

TEMPLATE_TEST_CASE("stability: cross_entropy with logits of +-1e4", "[ops][stability]", float, double) {
    using T = TestType;
    auto x = huge_logits<T>();
    const auto loss = tg::cross_entropy(x, tg::Labels{1, 2}, tg::Reduction::Sum);
    REQUIRE(all_finite(loss));
    CHECK(loss.item() == Approx(2e4));  // row 0: 2e4; row 1 (its label has the largest logit): ~e^-2e4
    auto g = tg::grad<T>({loss}, {x})[0];
    REQUIRE(all_finite(g));
    CHECK(flat(g)[0] == Approx(1.0));  // softmax - onehot: [1, -1, 0] in row 0
    CHECK(flat(g)[1] == Approx(-1.0));
    CHECK(flat(g)[5] == Approx(0.0).margin(1e-6));
}

TEMPLATE_TEST_CASE("stability: sigmoid, softplus, bce_with_logits at |x| = 1e4", "[ops][stability]", float, double) {
    using T = TestType;
    tg::Tensor<T> z(xt::xarray<T>{T(1e4), T(-1e4)}, true);
    tg::Tensor<T> y(xt::xarray<T>{T(0), T(1)});
    const auto s = tg::sigmoid(z), sp = tg::softplus(z);
    const auto bce = tg::binary_cross_entropy_with_logits(z, y, tg::Reduction::Sum);
    REQUIRE(all_finite(s));
    REQUIRE(all_finite(sp));
    REQUIRE(all_finite(bce));
    CHECK(flat(s) == std::vector<double>{1.0, 0.0});
    CHECK(flat(sp)[0] == Approx(1e4));
    CHECK(flat(sp)[1] == Approx(0.0).margin(1e-30));
    CHECK(bce.item() == Approx(2e4));
    const auto gs = tg::grad<T>({tg::sum(s)}, {z})[0];
    const auto gsp = tg::grad<T>({tg::sum(sp)}, {z})[0];
    const auto gb = tg::grad<T>({bce}, {z})[0];
    REQUIRE(all_finite(gs));
    REQUIRE(all_finite(gsp));
    REQUIRE(all_finite(gb));
    CHECK(flat(gsp) == std::vector<double>{1.0, 0.0});
    CHECK(flat(gb) == std::vector<double>{1.0, -1.0});  // sigmoid(z) - y
}

TEST_CASE("stability: binary_cross_entropy with p exactly 0 or 1 is finite", "[ops][stability]") {
    tg::TensorD p(xt::xarray<double>{0.0, 1.0, 0.0, 1.0}, true);
    tg::TensorD y(xt::xarray<double>{0.0, 1.0, 1.0, 0.0});
    const auto loss = tg::binary_cross_entropy(p, y, tg::Reduction::Sum);
    REQUIRE(all_finite(loss));
    CHECK(loss.item() == Approx(200.0));  // each log clamped at -100, as PyTorch
    CHECK(all_finite(tg::grad<double>({loss}, {p})[0]));
}

TEST_CASE("stability: relu, leaky_relu, clamp and max propagate NaN", "[ops][nan]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    tg::TensorD x(xt::xarray<double>{1.0, nan, -1.0});
    CHECK(std::isnan(tg::relu(x).value()(1)));
    CHECK(std::isnan(tg::leaky_relu(x).value()(1)));
    CHECK(std::isnan(tg::clamp(x, -0.5, 0.5).value()(1)));
    CHECK(std::isnan(tg::max(x).item()));
    tg::TensorD m(xt::xarray<double>{{1.0, 5.0}, {nan, 2.0}});
    const auto col = tg::amax(m, {0});
    CHECK(std::isnan(col.value()(0)));
    CHECK(col.value()(1) == 5.0);
}

TEST_CASE("stability: max and amax split the gradient evenly among ties", "[ops][kinks]") {
    tg::TensorD x(xt::xarray<double>{1.0, 3.0, 3.0, 2.0}, true);
    CHECK(flat(tg::grad<double>({tg::max(x)}, {x})[0]) == std::vector<double>{0.0, 0.5, 0.5, 0.0});
    tg::TensorD m(xt::xarray<double>{{4.0, 4.0, 4.0}, {1.0, 0.0, 1.0}}, true);
    const auto g = tg::grad<double>({tg::sum(tg::amax(m, {1}))}, {m})[0];
    CHECK(g.value()(0, 0) == Approx(1.0 / 3));
    CHECK(g.value()(1, 0) == 0.5);
    CHECK(g.value()(1, 1) == 0.0);
}

TEST_CASE("stability: kinks use the documented subgradients", "[ops][kinks]") {
    tg::TensorD x(xt::xarray<double>{0.0, -1.0, 1.0}, true);
    auto g = [&x](const tg::TensorD& y) { return flat(tg::grad<double>({tg::sum(y)}, {x})[0]); };
    CHECK(g(tg::relu(x)) == std::vector<double>{0.0, 0.0, 1.0});              // relu'(0) = 0
    CHECK(g(tg::abs(x)) == std::vector<double>{0.0, -1.0, 1.0});              // sign(0) = 0
    CHECK(g(tg::clamp(x, -1.0, 0.0)) == std::vector<double>{1.0, 1.0, 0.0});  // inclusive bounds
    CHECK(g(tg::leaky_relu(x, 0.1)) == std::vector<double>{0.1, 0.1, 1.0});
}

TEMPLATE_TEST_CASE("stability: logsigmoid, silu, mish, elu, selu and celu at |x| = 1e4", "[ops][stability]", float,
                   double) {
    using T = TestType;
    tg::Tensor<T> x(xt::xarray<T>{T(1e4), T(-1e4)}, true);
    const auto ls = tg::logsigmoid(x);
    REQUIRE(all_finite(ls));
    CHECK(flat(ls)[0] == Approx(0.0).margin(1e-30));
    CHECK(flat(ls)[1] == Approx(-1e4));
    CHECK(flat(tg::grad<T>({tg::sum(ls)}, {x})[0]) == std::vector<double>{0.0, 1.0});  // sigmoid(-x)
    for (const auto& y : {tg::silu(x), tg::mish(x)}) {
        REQUIRE(all_finite(y));
        CHECK(flat(y)[0] == Approx(1e4));
        CHECK(flat(y)[1] == Approx(0.0).margin(1e-30));
        const auto g = tg::grad<T>({tg::sum(y)}, {x})[0];
        REQUIRE(all_finite(g));
        CHECK(flat(g)[0] == Approx(1.0));
        CHECK(flat(g)[1] == Approx(0.0).margin(1e-30));
    }
    // The elu family's derivative is written with y, so no e^x of x = 1e4 (inf) is ever formed.
    for (const auto& y : {tg::elu(x), tg::selu(x), tg::celu(x, T(0.5))}) {
        REQUIRE(all_finite(y));
        const auto g = tg::grad<T>({tg::sum(y)}, {x})[0];
        REQUIRE(all_finite(g));
        CHECK(flat(g)[1] == Approx(0.0).margin(1e-30));
    }
}

TEST_CASE("stability: softplus returns x above its threshold, as PyTorch", "[ops][stability]") {
    tg::TensorD x(xt::xarray<double>{25.0, 10.0}, true);
    const auto y = tg::softplus(x);  // threshold 20
    CHECK(flat(y)[0] == 25.0);
    CHECK(flat(y)[1] == Approx(10.0 + std::log1p(std::exp(-10.0))).epsilon(1e-15));
    CHECK(flat(tg::grad<double>({tg::sum(y)}, {x})[0])[0] == 1.0);
    const auto exact = tg::softplus(x, 1.0, std::numeric_limits<double>::infinity());
    CHECK(flat(exact)[0] - 25.0 == Approx(std::exp(-25.0)).epsilon(1e-3));  // to within 25's last bit
    // beta scales: softplus(x, 2, 20) = log(1 + e^(2x)) / 2, and x itself once 2x > 20.
    const auto scaled = tg::softplus(tg::TensorD(xt::xarray<double>{0.0, 10.5}), 2.0);
    CHECK(flat(scaled)[0] == Approx(std::log(2.0) / 2));
    CHECK(flat(scaled)[1] == 10.5);
    // binary_cross_entropy_with_logits keeps the exact softplus: the loss of z = 25, y = 1 is e^-25, not 0.
    const auto bce = tg::binary_cross_entropy_with_logits(tg::TensorD(xt::xarray<double>{25.0}),
                                                          tg::TensorD(xt::xarray<double>{1.0}));
    CHECK(bce.item() == Approx(std::exp(-25.0)).epsilon(1e-3));
}

TEMPLATE_TEST_CASE("stability: round halves to even, floor, ceil and sign have zero gradients", "[ops][kinks]", float,
                   double) {
    using T = TestType;
    tg::Tensor<T> x(xt::xarray<T>{T(0.5), T(1.5), T(2.5), T(-0.5), T(-2.5), T(-1.7)}, true);
    CHECK(flat(tg::round(x)) == std::vector<double>{0.0, 2.0, 2.0, -0.0, -2.0, -2.0});
    CHECK(flat(tg::floor(x)) == std::vector<double>{0.0, 1.0, 2.0, -1.0, -3.0, -2.0});
    CHECK(flat(tg::ceil(x)) == std::vector<double>{1.0, 2.0, 3.0, -0.0, -2.0, -1.0});
    CHECK(flat(tg::sign(x)) == std::vector<double>{1.0, 1.0, 1.0, -1.0, -1.0, -1.0});
    for (const auto& y : {tg::round(x), tg::floor(x), tg::ceil(x), tg::sign(x)}) {
        const auto g = tg::grad<T>({tg::sum(y)}, {x})[0];
        REQUIRE(g.defined());  // a gradient of zeros, not none (PyTorch's)
        CHECK(flat(g) == std::vector<double>(6, 0.0));
    }
    CHECK(flat(tg::sign(tg::Tensor<T>(xt::xarray<T>{T(0), T(-0.0)}))) == std::vector<double>{0.0, 0.0});
}

TEST_CASE("stability: pow(tensor, tensor) at a zero base, hypot of huge values", "[ops][stability]") {
    // PyTorch's masks: e = 0 gives the base a zero gradient, b = 0 with e >= 0 gives the exponent one.
    tg::TensorD b(xt::xarray<double>{0.0, 0.0, 2.0}, true);
    tg::TensorD e(xt::xarray<double>{2.0, 0.0, 0.0}, true);
    const auto y = tg::pow(b, e);
    CHECK(flat(y) == std::vector<double>{0.0, 1.0, 1.0});
    const auto g = tg::grad<double>({tg::sum(y)}, {b, e});
    CHECK(flat(g[0]) == std::vector<double>{0.0, 0.0, 0.0});
    CHECK(flat(g[1])[0] == 0.0);
    CHECK(flat(g[1])[1] == 0.0);
    CHECK(flat(g[1])[2] == Approx(std::log(2.0)));
    // hypot never squares: 1e200 and 1e300 stay finite where a^2 + b^2 overflows.
    tg::TensorD a(xt::xarray<double>{3e200, 1e300}, true);
    tg::TensorD c(xt::xarray<double>{4e200, 1e300}, true);
    const auto h = tg::hypot(a, c);
    REQUIRE(all_finite(h));
    CHECK(flat(h)[0] == Approx(5e200));
    CHECK(flat(h)[1] == Approx(std::sqrt(2.0) * 1e300));
    const auto gh = tg::grad<double>({tg::sum(h)}, {a, c});
    CHECK(flat(gh[0])[0] == Approx(0.6));
    CHECK(flat(gh[1])[0] == Approx(0.8));
}

TEST_CASE("stability: the hard activations' derivatives at their kinks are PyTorch's", "[ops][kinks]") {
    tg::TensorD x(xt::xarray<double>{-3.0, 3.0, -1.0, 1.0, 0.0}, true);
    auto g = [&x](const tg::TensorD& y) { return flat(tg::grad<double>({tg::sum(y)}, {x})[0]); };
    CHECK(g(tg::hardtanh(x)) == std::vector<double>{0.0, 0.0, 0.0, 0.0, 1.0});                 // strict: 0 at -1 and 1
    CHECK(g(tg::hardsigmoid(x)) == std::vector<double>{0.0, 0.0, 1.0 / 6, 1.0 / 6, 1.0 / 6});  // strict: 0 at -3 and 3
    const auto hs = g(tg::hardswish(x));
    CHECK(hs[0] == Approx(-0.5));  // the middle piece x/3 + 1/2 at -3 and 3
    CHECK(hs[1] == Approx(1.5));
    CHECK(g(tg::elu(x, 0.5))[4] == 0.5);  // alpha at 0
    CHECK(g(tg::celu(x, 0.5))[4] == 1.0);
}
