// The layout ops' results that the op table's one-tensor rows do not show: how many pieces split
// and chunk return and their shapes (PyTorch's counts), that the copies share nothing with x, and
// a few gradients written out by hand.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace {

std::vector<tg::Shape> shapes_of(const std::vector<tg::TensorD>& pieces) {
    std::vector<tg::Shape> shapes;
    for (const auto& p : pieces) shapes.push_back(p.shape());
    return shapes;
}

std::vector<double> flat(const tg::TensorD& t) {
    return std::vector<double>(t.value().begin(), t.value().end());
}

tg::TensorD counting(const tg::Shape& shape, bool requires_grad = false) {
    xt::xarray<double> v = xt::xarray<double>::from_shape(shape);
    double k = 0;
    for (auto& e : v) e = k++;
    return tg::TensorD(std::move(v), requires_grad);
}

}  // namespace

TEST_CASE("ops: chunk returns PyTorch's pieces, possibly fewer than asked", "[ops][layout]") {
    using S = std::vector<tg::Shape>;
    CHECK(shapes_of(tg::chunk(counting({6, 2}), 4)) == S{{2, 2}, {2, 2}, {2, 2}});  // 3 pieces of 2, not 4
    CHECK(shapes_of(tg::chunk(counting({5}), 3)) == S{{2}, {2}, {1}});
    CHECK(shapes_of(tg::chunk(counting({2, 5}), 2, -1)) == S{{2, 3}, {2, 2}});
    CHECK(shapes_of(tg::chunk(counting({2}), 5)) == S{{1}, {1}});
    CHECK(shapes_of(tg::chunk(counting({0, 3}), 3)) == S{{0, 3}, {0, 3}, {0, 3}});  // a size-0 dim: chunks empties
    CHECK(flat(tg::chunk(counting({5}), 3)[2]) == std::vector<double>{4});
}

TEST_CASE("ops: split returns pieces of split_size, or of the given sizes", "[ops][layout]") {
    using S = std::vector<tg::Shape>;
    CHECK(shapes_of(tg::split(counting({5, 2}), 2)) == S{{2, 2}, {2, 2}, {1, 2}});
    CHECK(shapes_of(tg::split(counting({3}), 7)) == S{{3}});  // larger than the dim: one piece
    CHECK(shapes_of(tg::split(counting({0}), 2)) == S{{0}});
    CHECK(shapes_of(tg::split(counting({0}), 0)) == S{{0}});  // split_size 0 only on a size-0 dim
    CHECK(shapes_of(tg::split(counting({2, 6}), std::vector<std::int64_t>{1, 0, 5}, 1)) == S{{2, 1}, {2, 0}, {2, 5}});
    const auto pieces = tg::split(counting({6}), std::vector<std::int64_t>{4, 2});
    CHECK(flat(pieces[1]) == std::vector<double>{4, 5});
}

TEST_CASE("ops: each split piece's gradient reaches its own slice of x", "[ops][layout]") {
    const tg::TensorD x = counting({5}, true);
    const auto pieces = tg::chunk(x, 3);
    REQUIRE(pieces.size() == 3);
    const auto loss = tg::sum(pieces[0] * 1.0) + tg::sum(pieces[2] * 3.0);  // piece 1 unused
    const auto g = tg::grad<double>({loss}, {x})[0];
    CHECK(flat(g) == std::vector<double>{1, 1, 0, 0, 3});
}

TEST_CASE("ops: the layout ops return copies that share nothing with x", "[ops][layout]") {
    tg::TensorD x = counting({1, 3});
    const tg::TensorD e = tg::expand(x, {2, -1, -1});
    const tg::TensorD f = tg::flatten(x);
    const tg::TensorD n = tg::narrow(x, 1, 0, 2);
    const tg::TensorD c = tg::clone(x);
    x.mutable_value()(0, 0) = 100;
    CHECK(flat(e) == std::vector<double>{0, 1, 2, 0, 1, 2});
    CHECK(flat(f) == std::vector<double>{0, 1, 2});
    CHECK(flat(n) == std::vector<double>{0, 1});
    CHECK(flat(c) == std::vector<double>{0, 1, 2});
}

TEST_CASE("ops: layout ops on 0-d tensors follow PyTorch", "[ops][layout]") {
    const tg::TensorD s(2.5);
    CHECK(tg::flatten(s).shape() == tg::Shape{1});
    CHECK(tg::expand(s, {2, 2}).shape() == tg::Shape{2, 2});
    CHECK(tg::repeat(s, {3}).shape() == tg::Shape{3});
    CHECK(tg::tile(s, {}).shape() == tg::Shape{});
    CHECK(tg::roll(s, {3}).item() == 2.5);
    CHECK(tg::movedim(s, tg::Dims{}, tg::Dims{}).shape() == tg::Shape{});
}

TEST_CASE("ops: pad, roll, diagonal and tril give PyTorch's values", "[ops][layout]") {
    const tg::TensorD x = counting({2, 3});  // [[0, 1, 2], [3, 4, 5]]
    // F.pad(x, (1, -1, 0, 1), value=9): one 9 on the left, the last column cropped, a row of 9s below.
    CHECK(tg::pad(x, {1, -1, 0, 1}, 9.0).shape() == tg::Shape{3, 3});
    CHECK(flat(tg::pad(x, {1, -1, 0, 1}, 9.0)) == std::vector<double>{9, 0, 1, 9, 3, 4, 9, 9, 9});
    // F.pad(x, (2, 1), mode="reflect"): [[2, 1, 0, 1, 2, 1], [5, 4, 3, 4, 5, 4]].
    CHECK(flat(tg::pad(x, {2, 1}, tg::PadMode::Reflect)) == std::vector<double>{2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4});
    CHECK(flat(tg::roll(x, {1}, {1})) == std::vector<double>{2, 0, 1, 5, 3, 4});
    CHECK(flat(tg::roll(x, {-1})) == std::vector<double>{1, 2, 3, 4, 5, 0});
    CHECK(flat(tg::diagonal(x, 1)) == std::vector<double>{1, 5});
    CHECK(flat(tg::diagonal(x, -1)) == std::vector<double>{3});
    CHECK(flat(tg::flip(x, {1})) == std::vector<double>{2, 1, 0, 5, 4, 3});
    CHECK(flat(tg::tril(x)) == std::vector<double>{0, 0, 0, 3, 4, 0});
    CHECK(flat(tg::triu(x, 1)) == std::vector<double>{0, 1, 2, 0, 0, 5});
    CHECK(flat(tg::tile(x, {2})) == std::vector<double>{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
    CHECK(flat(tg::repeat(x, {2, 1})) == std::vector<double>{0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5});
    CHECK(tg::movedim(counting({2, 3, 4}), 0, -1).shape() == tg::Shape{3, 4, 2});
    CHECK(tg::unflatten(counting({2, 6}), 1, {3, -1}).shape() == tg::Shape{2, 3, 2});
}

TEST_CASE("ops: tril keeps inf and NaN out of the zeroed triangle", "[ops][layout]") {
    const double inf = std::numeric_limits<double>::infinity();
    const tg::TensorD x = {{1.0, inf}, {std::nan(""), 2.0}};
    const auto lower = flat(tg::tril(x));
    CHECK(lower[1] == 0.0);
    CHECK(std::isnan(lower[2]));  // below the diagonal: kept
    CHECK(flat(tg::triu(x))[2] == 0.0);
}
