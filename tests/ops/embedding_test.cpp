// The embedding lookup beyond its op-table rows: the padding row's value and zero gradient, the
// weight gradient as counts of ids written out by hand, the exact second-order adjoint (padding
// positions zeroed), the error type and that the ids given are left as they were.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
using tg::Indices;
using tg::TensorD;

namespace {

std::vector<double> flat(const TensorD& t) {
    return std::vector<double>(t.value().begin(), t.value().end());
}

/// Weight row r = {10r, 10r + 1}.
TensorD table(std::size_t rows, bool requires_grad = true) {
    xt::xarray<double> v = xt::xarray<double>::from_shape({rows, 2});
    for (std::size_t r = 0; r < rows; ++r) {
        v(r, 0) = 10.0 * static_cast<double>(r);
        v(r, 1) = 10.0 * static_cast<double>(r) + 1;
    }
    return TensorD(std::move(v), requires_grad);
}

}  // namespace

TEST_CASE("embedding: repeated ids accumulate and unused rows get zero", "[ops][embedding]") {
    const TensorD w = table(4);
    const Indices ids = {{1, 3}, {1, 1}};
    const TensorD y = tg::embedding(ids, w);
    CHECK(y.shape() == tg::Shape{2, 2, 2});
    CHECK(flat(y) == std::vector<double>{10, 11, 30, 31, 10, 11, 10, 11});
    // loss = sum(y * c): row 1 collects c at positions 0, 2, 3; row 3 at position 1.
    const TensorD c = TensorD(xt::xarray<double>{{{1, 2}, {3, 4}}, {{5, 6}, {7, 8}}});
    tg::sum(y * c).backward();
    CHECK(flat(w.grad()) == std::vector<double>{0, 0, 1 + 5 + 7, 2 + 6 + 8, 0, 0, 3, 4});
}

TEST_CASE("embedding: the padding row is read as it is but gets no gradient", "[ops][embedding]") {
    for (const std::int64_t padding : {2, -2}) {  // -2 is row 2 of 4
        const TensorD w = table(4);
        const Indices ids = {2, 0, 2, 3};
        const TensorD y = tg::embedding(ids, w, padding);
        CHECK(flat(y) == std::vector<double>{20, 21, 0, 1, 20, 21, 30, 31});
        tg::sum(y * y).backward();  // d/dw[r] = 2 * w[r] per use
        CHECK(flat(w.grad()) == std::vector<double>{0, 2, 0, 0, 0, 0, 60, 62});
    }
}

TEST_CASE("embedding: second order, the backward's adjoint zeroes the padding positions", "[ops][embedding]") {
    const TensorD w = table(3);
    const Indices ids = {0, 1, 0, 2};
    const TensorD g = TensorD(xt::xarray<double>{{1, 2}, {3, 4}, {5, 6}, {7, 8}}, true);
    const auto gw = tg::grad<double>({tg::embedding(ids, w, 1)}, {w}, {g}, std::nullopt, true);
    CHECK(flat(gw[0]) == std::vector<double>{6, 8, 0, 0, 7, 8});
    // d sum(gw * v) / dg[j] = v[ids[j]], except 0 where ids[j] is the padding row 1.
    const TensorD v = TensorD(xt::xarray<double>{{1, -1}, {2, -2}, {3, -3}});
    const auto gg = tg::grad<double>({tg::sum(gw[0] * v)}, {g});
    CHECK(flat(gg[0]) == std::vector<double>{1, -1, 0, 0, 1, -1, 3, -3});
}

TEST_CASE("embedding: an id out of range is an IndexError and the ids are left as they were", "[ops][embedding]") {
    const TensorD w = table(3);
    const Indices ids = {0, 5};
    CHECK_THROWS_AS(tg::embedding(ids, w), tg::IndexError);
    CHECK(tg::equal(ids, Indices{0, 5}));
    CHECK_FALSE(w.grad().defined());
}
