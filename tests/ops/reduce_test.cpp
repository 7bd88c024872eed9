// The reduction families' results that the op table's random inputs never reach, against closed
// forms: ties (amax splits the gradient, max along a dim gives it to one index), exact zeros (prod
// and cumprod), a norm at 0 and at 1e200, std of a constant, NaN's place in argmax and sort, and the
// indices of max, argmax, sort and topk.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
using tg::TensorD;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

template <class T>
std::vector<double> flat(const tg::Tensor<T>& t) {
    return std::vector<double>(t.value().begin(), t.value().end());
}

std::vector<std::int64_t> flat(const tg::Indices& t) {
    return std::vector<std::int64_t>(t.begin(), t.end());
}

/// d sum(y) / dx.
TensorD grad_of_sum(const TensorD& y, const TensorD& x) {
    return tg::grad<double>({tg::sum(y)}, {x})[0];
}

/// d sum(y * w) / dx for the weights w = 1, 2, 3, ... (so each output counts differently).
TensorD weighted_grad(const TensorD& y, const TensorD& x) {
    xt::xarray<double> w = xt::xarray<double>::from_shape(y.shape());
    double k = 0;
    for (auto& v : w) v = (k += 1);
    return tg::grad<double>({tg::sum(y * TensorD(w))}, {x})[0];
}

}  // namespace

TEST_CASE("reduce: amax and amin split the gradient evenly among ties, max along a dim gives it to the first",
          "[ops][reduce][kinks]") {
    TensorD m({{4.0, 1.0, 4.0}, {2.0, 2.0, 2.0}}, true);
    CHECK(flat(grad_of_sum(tg::amax(m, {1}), m)) == std::vector<double>{0.5, 0.0, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3});
    CHECK(flat(grad_of_sum(tg::amin(m, {0}), m)) == std::vector<double>{0.0, 1.0, 0.0, 1.0, 0.0, 1.0});
    CHECK(flat(grad_of_sum(tg::min(m), m)) == std::vector<double>{0.0, 1.0, 0.0, 0.0, 0.0, 0.0});
    CHECK(flat(grad_of_sum(tg::max(m), m)) == std::vector<double>{0.5, 0.0, 0.5, 0.0, 0.0, 0.0});
    // PyTorch's max(x, dim): the whole gradient to the returned (first) index.
    const auto [values, indices] = tg::max(m, 1);
    CHECK(flat(values) == std::vector<double>{4.0, 2.0});
    CHECK(flat(indices) == std::vector<std::int64_t>{0, 0});
    CHECK(values.grad_fn_name() == "max");
    CHECK(flat(weighted_grad(values, m)) == std::vector<double>{1.0, 0.0, 0.0, 2.0, 0.0, 0.0});
    const auto low = tg::min(m, 0, true);
    CHECK(low.values.shape() == tg::Shape{1, 3});
    CHECK(low.indices.shape() == tg::Shape{1, 3});
    CHECK(flat(low.indices) == std::vector<std::int64_t>{1, 0, 1});
    CHECK(flat(weighted_grad(low.values, m)) == std::vector<double>{0.0, 2.0, 0.0, 1.0, 0.0, 3.0});
}

TEST_CASE("reduce: argmax and argmin take the first occurrence, and NaN counts as the extreme", "[ops][reduce][nan]") {
    const TensorD x({{1.0, 3.0, 3.0}, {kNaN, 5.0, kNaN}, {-1.0, -1.0, 0.0}});
    CHECK(tg::argmax(x).item() == 3);  // the first NaN, flattened
    CHECK(tg::argmin(x).item() == 3);
    CHECK(flat(tg::argmax(x, 1)) == std::vector<std::int64_t>{1, 0, 2});
    CHECK(flat(tg::argmin(x, 1)) == std::vector<std::int64_t>{0, 0, 0});
    CHECK(flat(tg::argmax(x, 0)) == std::vector<std::int64_t>{1, 1, 1});
    CHECK(flat(tg::argmin(x, -2)) == std::vector<std::int64_t>{1, 2, 1});
    CHECK(tg::argmax(x, 1, true).shape() == tg::Shape{3, 1});
    CHECK(tg::argmax(x).shape() == tg::Shape{});
    CHECK(tg::argmax(TensorD(2.5)).item() == 0);  // a 0-d x: its one element
    const auto [v, i] = tg::max(x, 1);
    CHECK(std::isnan(v.value()(1)));
    CHECK(flat(i) == std::vector<std::int64_t>{1, 0, 2});
    CHECK(std::isnan(tg::min(x).item()));
    const TensorD empty = tg::zeros<double>({0, 2});
    CHECK_THROWS_AS(tg::argmax(empty), tg::ValueError);
    CHECK_THROWS_WITH(tg::argmax(empty), Catch::Matchers::Contains("argmax") && Catch::Matchers::Contains("[0, 2]"));
    CHECK(tg::argmin(tg::zeros<double>({0, 2}), 1).shape() == tg::Shape{0});
}

TEST_CASE("reduce: prod's gradient is exact with zeros, first and second order", "[ops][reduce][zeros]") {
    TensorD none({2.0, -3.0, 4.0}, true);
    CHECK(flat(grad_of_sum(tg::prod(none), none)) == std::vector<double>{-12.0, 8.0, -6.0});
    TensorD one({2.0, 0.0, 3.0, 4.0}, true);
    CHECK(flat(grad_of_sum(tg::prod(one), one)) == std::vector<double>{0.0, 24.0, 0.0, 0.0});
    TensorD two({2.0, 0.0, 3.0, 0.0}, true);
    CHECK(flat(grad_of_sum(tg::prod(two), two)) == std::vector<double>{0.0, 0.0, 0.0, 0.0});
    // Along a dim: row 0 has one zero, row 1 none, row 2 two.
    TensorD m({{5.0, 0.0, 2.0}, {1.0, 2.0, 3.0}, {0.0, 7.0, 0.0}}, true);
    CHECK(flat(tg::prod(m, 1)) == std::vector<double>{0.0, 6.0, 0.0});
    CHECK(flat(grad_of_sum(tg::prod(m, -1, true), m)) ==
          std::vector<double>{0.0, 10.0, 0.0, 6.0, 3.0, 2.0, 0.0, 0.0, 0.0});
    // The Hessian of x0 x1 x2 at (2, 0, 3): d2/dxi dxj = the third element, 0 on the diagonal.
    TensorD h({2.0, 0.0, 3.0}, true);
    const auto g = tg::grad<double>({tg::prod(h)}, {h}, {}, std::nullopt, true)[0];
    CHECK(flat(tg::grad<double>({tg::slice(g, 0, 0, 1)}, {h}, {}, true)[0]) == std::vector<double>{0.0, 3.0, 0.0});
    CHECK(flat(tg::grad<double>({tg::slice(g, 0, 1, 2)}, {h})[0]) == std::vector<double>{3.0, 0.0, 2.0});
    // Finite differences at the zeros agree (a product is a polynomial: no kink there).
    for (const TensorD& x : {one, two, m}) {
        CHECK(tg::gradcheck<double>([](const auto& in) { return tg::prod(in[0]); }, {x}));
        CHECK(tg::gradgradcheck<double>([](const auto& in) { return tg::prod(in[0], 0); }, {x}));
    }
}

TEST_CASE("reduce: cumprod's gradient is exact with zeros, with and without create_graph", "[ops][scan][zeros]") {
    TensorD x({2.0, 0.0, 3.0, 4.0}, true);
    CHECK(flat(tg::cumprod(x, 0)) == std::vector<double>{2.0, 0.0, 0.0, 0.0});
    // dx_k = sum_{j >= k} prod_{i <= j, i != k} x_i: x_1 gets 2 + 2*3 + 2*3*4; those after the zero get 0.
    const std::vector<double> expected{1.0, 32.0, 0.0, 0.0};
    CHECK(flat(grad_of_sum(tg::cumprod(x, 0), x)) == expected);
    const auto composed = tg::grad<double>({tg::sum(tg::cumprod(x, 0))}, {x}, {}, std::nullopt, true)[0];
    CHECK(flat(composed) == expected);
    TensorD two({3.0, 0.0, 2.0, 0.0}, true);
    CHECK(flat(grad_of_sum(tg::cumprod(two, 0), two)) == std::vector<double>{1.0, 3.0 + 6.0, 0.0, 0.0});
    // Along dim 0 of a matrix (the slices are the columns), weighted.
    TensorD m({{1.0, 0.0}, {0.0, 2.0}, {3.0, 5.0}}, true);
    // Column 0: x = (1, 0, 3), w = (1, 3, 5): dx = (1, 1*3 + 1*3*5, 0). Column 1: x = (0, 2, 5), w = (2, 4, 6).
    CHECK(flat(weighted_grad(tg::cumprod(m, 0), m)) ==
          std::vector<double>{1.0, 2.0 + 4 * 2 + 6 * 10, 18.0, 0.0, 0.0, 0.0});
    for (const TensorD& t : {x, two, m}) {
        CHECK(tg::gradcheck<double>([](const auto& in) { return tg::cumprod(in[0], 0); }, {t}));
        CHECK(tg::gradgradcheck<double>([](const auto& in) { return tg::cumprod(in[0], 0); }, {t}));
    }
}

TEST_CASE("reduce: norm's gradient at 0 is 0, and a huge or tiny norm neither overflows nor underflows",
          "[ops][reduce][stability]") {
    for (const double p : {2.0, 1.0, 3.0, 0.5, kInf}) {
        INFO("p = " << p);
        TensorD z = tg::zeros<double>({2, 3}, true);
        CHECK(tg::norm(z, p).item() == 0.0);
        CHECK(flat(grad_of_sum(tg::norm(z, p), z)) == std::vector<double>(6, 0.0));
        CHECK(flat(grad_of_sum(tg::norm(z, p, {1}), z)) == std::vector<double>(6, 0.0));
    }
    // Exactly one zero element: 0 there (not NaN from 0^(p-1) for p < 1), the closed form elsewhere.
    TensorD x({0.0, 4.0}, true);
    CHECK(flat(grad_of_sum(tg::norm(x, 0.5), x)) == std::vector<double>{0.0, 1.0});
    TensorD big({3e200, -4e200}, true);
    CHECK(tg::norm(big).item() == Approx(5e200));
    const auto g = flat(grad_of_sum(tg::norm(big), big));
    CHECK(g[0] == Approx(0.6));
    CHECK(g[1] == Approx(-0.8));
    CHECK(tg::norm(big, 3).item() == Approx(std::cbrt(27.0 + 64.0) * 1e200));
    CHECK(tg::norm(TensorD({3e-200, 4e-200})).item() == Approx(5e-200));
    CHECK(tg::norm(tg::TensorF({3e30F, 4e30F})).item() == Approx(5e30F));
    CHECK(tg::norm(tg::TensorF({3e-30F, 4e-30F})).item() == Approx(5e-30F));
    CHECK(std::isnan(tg::norm(TensorD({1.0, kNaN, kInf})).item()));
    CHECK(tg::norm(TensorD({1.0, -kInf})).item() == kInf);
    // "fro" is the 2-norm over the dims.
    const TensorD m({{1.0, 2.0}, {2.0, 4.0}});
    CHECK(tg::norm(m, "fro", {0, 1}).item() == 5.0);
    CHECK(tg::norm(m, kInf).item() == 4.0);
    CHECK(tg::norm(m, -kInf, {1}).value() == xt::xarray<double>{1.0, 2.0});
}

TEST_CASE("reduce: var and std of a constant are exactly 0, and std's gradient there is 0 (PyTorch 2.x)",
          "[ops][reduce][stability]") {
    TensorD c = tg::full<double>({2, 3}, 0.1, true);  // 0.1 + 0.1 + 0.1 != 0.3: a mean that rounds
    CHECK(tg::var(c).item() == 0.0);
    CHECK(tg::std(c, {1}).value() == xt::xarray<double>{0.0, 0.0});
    CHECK(flat(grad_of_sum(tg::std(c, {1}), c)) == std::vector<double>(6, 0.0));
    CHECK(flat(grad_of_sum(tg::std(c), c)) == std::vector<double>(6, 0.0));
    // A constant row next to a varying one: the varying row keeps its gradient (x - mean) / ((n - 1) std).
    TensorD m({{2.0, 2.0, 2.0}, {1.0, 2.0, 3.0}}, true);
    CHECK(flat(grad_of_sum(tg::std(m, {1}), m)) == std::vector<double>{0.0, 0.0, 0.0, -0.5, 0.0, 0.5});
    // Its second derivative is finite too (the rule divides by std only where std > 0).
    const auto g = tg::grad<double>({tg::sum(tg::std(m, {1}))}, {m}, {}, std::nullopt, true)[0];
    const auto gg = flat(tg::grad<double>({tg::sum(g * g)}, {m})[0]);
    for (double v : gg) CHECK(std::isfinite(v));
}

TEST_CASE("reduce: var stays accurate when the mean is large next to the spread", "[ops][reduce][stability]") {
    const TensorD x({1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16});
    CHECK(tg::var(x).item() == 30.0);  // deviations -6, -3, 3, 6: 90 / 3
    CHECK(tg::var(x, {0}, 0).item() == 22.5);
    const tg::TensorF xf({1e4F + 1, 1e4F + 2, 1e4F + 3, 1e4F + 4});
    CHECK(tg::var(xf).item() == Approx(5.0F / 3).epsilon(1e-6));
    CHECK(tg::std(xf, {0}, 0).item() == Approx(std::sqrt(1.25F)).epsilon(1e-6));
}

TEST_CASE("reduce: sort puts NaN last ascending and first descending, and keeps equal values in order",
          "[ops][sort][nan]") {
    TensorD x({3.0, kNaN, 1.0, kNaN, 2.0, 1.0}, true);
    const auto up = tg::sort(x);
    CHECK(flat(up.indices) == std::vector<std::int64_t>{2, 5, 4, 0, 1, 3});
    const auto down = tg::sort(x, 0, true);
    CHECK(flat(down.indices) == std::vector<std::int64_t>{1, 3, 0, 4, 2, 5});
    CHECK(down.values.value()(2) == 3.0);
    CHECK(std::isnan(down.values.value()(0)));
    // Each element gets the gradient of the place it went to.
    TensorD y({0.5, -1.0, 2.0}, true);
    const auto s = tg::sort(y, -1, true);
    CHECK(flat(s.values) == std::vector<double>{2.0, 0.5, -1.0});
    CHECK(s.values.grad_fn_name() == "sort");
    CHECK(flat(weighted_grad(s.values, y)) == std::vector<double>{2.0, 3.0, 1.0});
    // Along dim 0 of a matrix.
    TensorD m({{3.0, 1.0}, {1.0, 2.0}, {2.0, 0.0}}, true);
    const auto c = tg::sort(m, 0);
    CHECK(flat(c.indices) == std::vector<std::int64_t>{1, 2, 2, 0, 0, 1});
    CHECK(flat(c.values) == std::vector<double>{1.0, 0.0, 2.0, 1.0, 3.0, 2.0});
    CHECK(flat(weighted_grad(c.values, m)) == std::vector<double>{5.0, 4.0, 1.0, 6.0, 3.0, 2.0});
}

TEST_CASE("reduce: topk takes NaN as the largest, ties by index, and scatters the gradient back", "[ops][sort][nan]") {
    TensorD x({1.0, kNaN, 3.0, 3.0, -2.0}, true);
    const auto top = tg::topk(x, 2);
    CHECK(flat(top.indices) == std::vector<std::int64_t>{1, 2});
    CHECK(std::isnan(top.values.value()(0)));
    const auto low = tg::topk(x, 3, 0, false);
    CHECK(flat(low.indices) == std::vector<std::int64_t>{4, 0, 2});
    CHECK(flat(low.values) == std::vector<double>{-2.0, 1.0, 3.0});
    CHECK(flat(weighted_grad(low.values, x)) == std::vector<double>{2.0, 0.0, 3.0, 0.0, 1.0});
    TensorD m({{1.0, 5.0, 2.0}, {4.0, 0.0, 6.0}}, true);
    const auto t = tg::topk(m, 1, 1);
    CHECK(t.values.shape() == tg::Shape{2, 1});
    CHECK(flat(t.indices) == std::vector<std::int64_t>{1, 2});
    CHECK(flat(weighted_grad(t.values, m)) == std::vector<double>{0.0, 1.0, 0.0, 0.0, 0.0, 2.0});
    CHECK(tg::topk(m, 3, 1).values.value() == tg::sort(m, 1, true).values.value());
}

TEST_CASE("reduce: cumsum's gradient is the reversed cumulative sum", "[ops][scan]") {
    TensorD x({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, true);
    CHECK(flat(tg::cumsum(x, 1)) == std::vector<double>{1.0, 3.0, 6.0, 4.0, 9.0, 15.0});
    // Weights 1..6: row 0 gets (1+2+3, 2+3, 3), row 1 (4+5+6, 5+6, 6).
    CHECK(flat(weighted_grad(tg::cumsum(x, 1), x)) == std::vector<double>{6.0, 5.0, 3.0, 15.0, 11.0, 6.0});
    CHECK(flat(weighted_grad(tg::cumsum(x, 0), x)) == std::vector<double>{5.0, 7.0, 9.0, 4.0, 5.0, 6.0});
}

TEST_CASE("reduce: logcumsumexp stays finite for large and -inf inputs", "[ops][scan][stability]") {
    TensorD x({1000.0, -1000.0, 1000.0}, true);
    const auto y = tg::logcumsumexp(x, 0);
    CHECK(y.value()(0) == 1000.0);
    CHECK(y.value()(1) == 1000.0);
    CHECK(y.value()(2) == Approx(1000.0 + std::log(2.0)));
    // dx_k = sum_{j >= k} e^(x_k - y_j): (1 + 1 + 1/2, 0, 1/2).
    const auto g = flat(grad_of_sum(y, x));
    CHECK(g[0] == Approx(2.5));
    CHECK(g[1] == 0.0);
    CHECK(g[2] == Approx(0.5));
    CHECK(flat(tg::logcumsumexp(TensorD({-kInf, 0.0, -kInf}), 0)) == std::vector<double>{-kInf, 0.0, 0.0});
    // -inf after a finite element gets 0; a slice starting with -inf gets NaN there (documented, as PyTorch's).
    TensorD after({0.0, -kInf}, true);
    CHECK(flat(grad_of_sum(tg::logcumsumexp(after, 0), after)) == std::vector<double>{2.0, 0.0});
    TensorD first({-kInf, 0.0}, true);
    const auto at_start = flat(grad_of_sum(tg::logcumsumexp(first, 0), first));
    CHECK(std::isnan(at_start[0]));
    CHECK(at_start[1] == 1.0);
    CHECK(flat(tg::logcumsumexp(TensorD({kInf, 1.0}), 0)) == std::vector<double>{kInf, kInf});
    const tg::TensorF f({80.0F, 90.0F});  // e^90 overflows float32
    CHECK(tg::logcumsumexp(f, 0).value()(1) == Approx(90.0F + std::log1p(std::exp(-10.0F))));
}
