// The pooling ops beyond the op table's rows: max pooling's ties, NaNs, -inf and padding against
// results worked by hand (PyTorch's CPU kernel: the first maximum in row-major window order, a NaN
// replacing it, padding never chosen), average pooling's divisors on a hand-computed example, and
// that a failing call leaves its argument as it was.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
using tg::TensorD;

namespace {

std::vector<double> flat(const TensorD& t) {
    return std::vector<double>(t.value().begin(), t.value().end());
}

/// A leaf requiring grad of the given shape, from a flat list.
TensorD leaf(const std::vector<double>& values, const tg::Shape& shape) {
    xt::xarray<double> v = xt::xarray<double>::from_shape(shape);
    std::copy(values.begin(), values.end(), v.begin());
    return TensorD(std::move(v), true);
}

/// x as [1, 1, rows, cols].
TensorD image(const std::vector<double>& values, std::size_t rows, std::size_t cols) {
    return leaf(values, {1, 1, rows, cols});
}

const double not_a_number = std::numeric_limits<double>::quiet_NaN();
const double inf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("max_pool2d: ties go to the first maximum in row-major window order", "[ops][pool]") {
    const TensorD all_equal = image({1, 1, 1, 1}, 2, 2);
    tg::sum(tg::max_pool2d(all_equal, 2)).backward();
    CHECK(flat(all_equal.grad()) == std::vector<double>{1, 0, 0, 0});

    const TensorD anti_diagonal = image({0, 3, 3, 1}, 2, 2);  // (0, 1) comes before (1, 0)
    tg::sum(tg::max_pool2d(anti_diagonal, 2)).backward();
    CHECK(flat(anti_diagonal.grad()) == std::vector<double>{0, 1, 0, 0});

    // Overlapping windows [0, 1] and [1, 2] of a constant row: each takes its own first element.
    const TensorD row = leaf({5, 5, 5}, {1, 1, 3});
    tg::sum(tg::max_pool1d(row, 2, 1)).backward();
    CHECK(flat(row.grad()) == std::vector<double>{1, 1, 0});
}

TEST_CASE("max_pool2d: a NaN wins its window (the last NaN, as PyTorch's CPU kernel)", "[ops][pool]") {
    const TensorD x = image({1, not_a_number, not_a_number, 2}, 2, 2);
    const TensorD y = tg::max_pool2d(x, 2);
    CHECK(std::isnan(y.value()(0, 0, 0, 0)));
    tg::sum(y).backward();
    CHECK(flat(x.grad()) == std::vector<double>{0, 0, 1, 0});

    const TensorD first = image({not_a_number, 7, 8, 9}, 2, 2);  // a NaN before larger values still wins
    const TensorD y2 = tg::max_pool2d(first, 2);
    CHECK(std::isnan(y2.value()(0, 0, 0, 0)));
    tg::sum(y2).backward();
    CHECK(flat(first.grad()) == std::vector<double>{1, 0, 0, 0});
}

TEST_CASE("max_pool2d: -inf windows pick their first element, padding is never chosen", "[ops][pool]") {
    const TensorD minus_inf = image({-inf, -inf, -inf, -inf}, 2, 2);
    const TensorD y = tg::max_pool2d(minus_inf, 2);
    CHECK(y.value()(0, 0, 0, 0) == -inf);
    tg::sum(y).backward();
    CHECK(flat(minus_inf.grad()) == std::vector<double>{1, 0, 0, 0});

    // Negative values with padding 1: the padded zeros would win if they were values.
    const TensorD negative = leaf({-3, -2, -4}, {1, 3});
    const TensorD z = tg::max_pool1d(negative, 3, 2, 1);  // windows [pad, -3, -2] and [-2, -4, pad]
    CHECK(flat(z) == std::vector<double>{-2, -2});
    tg::sum(z).backward();
    CHECK(flat(negative.grad()) == std::vector<double>{0, 2, 0});
}

TEST_CASE("avg_pool2d: the divisors of count_include_pad, ceil_mode and divisor_override", "[ops][pool]") {
    // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], kernel 2, stride 2, padding 1: windows of rows
    // {-1, 0}, {1, 2} and columns the same; the corner window holds 1 element of x (padded: 4).
    const TensorD x = image({1, 2, 3, 4, 5, 6, 7, 8, 9}, 3, 3);
    CHECK(flat(tg::avg_pool2d(x, 2, 2, 1)) == std::vector<double>{1 / 4.0, 5 / 4.0, 11 / 4.0, 28 / 4.0});
    CHECK(flat(tg::avg_pool2d(x, 2, 2, 1, false, false)) == std::vector<double>{1, 5 / 2.0, 11 / 2.0, 28 / 4.0});
    CHECK(flat(tg::avg_pool2d(x, 2, 2, 1, false, true, 2)) == std::vector<double>{0.5, 2.5, 5.5, 14});
    // ceil_mode without padding: the last window of each dim holds row / column 2 alone, and
    // count_include_pad cuts it at the input's edge (in + padding), so its divisor is 1 x 2 = 2.
    CHECK(flat(tg::avg_pool2d(x, 2, 2, 0, true)) == std::vector<double>{12 / 4.0, 9 / 2.0, 15 / 2.0, 9});
}

TEST_CASE("adaptive_avg_pool2d: 5 to 3 gives the overlapping windows 0..1, 1..3 and 3..4", "[ops][pool]") {
    const TensorD x = image({1, 2, 3, 4, 5}, 1, 5);
    const TensorD y = tg::adaptive_avg_pool2d(x, tg::Size2{1, 3});
    const std::vector<double> means = {1.5, 3, 4.5}, shares = {0.5, 0.5 + 1 / 3.0, 1 / 3.0, 1 / 3.0 + 0.5, 0.5};
    for (std::size_t i = 0; i < means.size(); ++i) CHECK(flat(y)[i] == Approx(means[i]).epsilon(1e-15));
    tg::sum(y).backward();
    for (std::size_t i = 0; i < shares.size(); ++i) CHECK(flat(x.grad())[i] == Approx(shares[i]).epsilon(1e-15));
}

TEST_CASE("pooling: a failing call leaves x as it was and records nothing", "[ops][pool][errors]") {
    const TensorD x = image({1, 2, 3, 4}, 2, 2);
    CHECK_THROWS_AS(tg::max_pool2d(x, 3), tg::ShapeError);
    CHECK_THROWS_AS(tg::avg_pool2d(x, 2, 1, 2), tg::ValueError);
    CHECK_THROWS_AS(tg::adaptive_avg_pool2d(x, 0), tg::ValueError);
    CHECK(flat(x) == std::vector<double>{1, 2, 3, 4});
    CHECK(x.shape() == tg::Shape{1, 1, 2, 2});
    CHECK_FALSE(x.grad().defined());
}
