// The indexing ops beyond the op table's rows: PyTorch's documented examples worked by hand,
// gradients with repeated indices written out, the exception types (IndexError, not only a
// ValueError), that the indices given are left as they were, and LibTorch's indexing sugar.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "../autograd/says.hpp"

namespace tg = tapegrad;
using namespace tg::indexing;
using tg::Indices;
using tg::TensorD;

namespace {

std::vector<double> flat(const TensorD& t) {
    return std::vector<double>(t.value().begin(), t.value().end());
}

TensorD counting(const tg::Shape& shape, bool requires_grad = false) {
    xt::xarray<double> v = xt::xarray<double>::from_shape(shape);
    double k = 0;
    for (auto& e : v) e = k++;
    return TensorD(std::move(v), requires_grad);
}

}  // namespace

TEST_CASE("index_select: rows picked in order, repeated rows' gradients add up", "[ops][index]") {
    const TensorD w = counting({3, 2}, true);  // an embedding table: 3 tokens, 2 features
    const Indices tokens = {0, 2, 0, -1};
    const TensorD y = tg::index_select(w, 0, tokens);
    CHECK(y.shape() == tg::Shape{4, 2});
    CHECK(flat(y) == std::vector<double>{0, 1, 4, 5, 0, 1, 4, 5});
    // loss = sum(y * c): row 0 of w was taken at positions 0 and 2, row 2 at 1 and 3, row 1 never.
    const TensorD c = {{1, 2}, {3, 4}, {5, 6}, {7, 8}};
    tg::sum(y * c).backward();
    CHECK(flat(w.grad()) == std::vector<double>{1 + 5, 2 + 6, 0, 0, 3 + 7, 4 + 8});
    CHECK(tg::equal(tokens, Indices{0, 2, 0, -1}));  // the indices are not changed
}

TEST_CASE("index_select: along the last dim, and a 0-d index keeping the dim", "[ops][index]") {
    const TensorD x = counting({2, 3});
    CHECK(flat(tg::index_select(x, -1, {2, 2, 0})) == std::vector<double>{2, 2, 0, 5, 5, 3});
    const TensorD row = tg::index_select(x, 0, Indices::full({}, 1));
    CHECK(row.shape() == tg::Shape{1, 3});
    CHECK(flat(row) == std::vector<double>{3, 4, 5});
}

TEST_CASE("gather: PyTorch's documented example, and its gradient", "[ops][index]") {
    const TensorD t({{1.0, 2.0}, {3.0, 4.0}}, true);
    const TensorD y = tg::gather(t, 1, {{0, 0}, {1, 0}});
    CHECK(flat(y) == std::vector<double>{1, 1, 4, 3});
    tg::sum(y).backward();
    // t[0][0] was taken twice, t[0][1] never, t[1][0] and t[1][1] once.
    CHECK(flat(t.grad()) == std::vector<double>{2, 0, 1, 1});
}

TEST_CASE("scatter_add: PyTorch's documented example, out of place", "[ops][index]") {
    const TensorD x = tg::zeros<double>({3, 5}, true);
    const TensorD src = tg::ones<double>({2, 5}, true);
    const TensorD y = tg::scatter_add(x, 0, {{0, 1, 2, 0, 0}, {0, 1, 2, 2, 2}}, src);
    CHECK(flat(y) == std::vector<double>{2, 0, 0, 1, 1, 0, 2, 0, 0, 0, 0, 0, 2, 1, 1});
    CHECK(flat(x) == std::vector<double>(15, 0.0));  // x itself is unchanged
    // dx = g, dsrc = gather(g, 0, idx): with g[i][j] = 10 i + j.
    y.backward(TensorD({{0, 1, 2, 3, 4}, {10, 11, 12, 13, 14}, {20, 21, 22, 23, 24}}));
    CHECK(flat(x.grad()) == std::vector<double>{0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24});
    CHECK(flat(src.grad()) == std::vector<double>{0, 11, 22, 3, 4, 0, 11, 22, 23, 24});
}

TEST_CASE("scatter_add: src elements outside the index get a zero gradient", "[ops][index]") {
    const TensorD x = tg::zeros<double>({2});
    const TensorD src({5.0, 7.0, 9.0}, true);  // only src[0] and src[1] are scattered
    const TensorD y = tg::scatter_add(x, 0, {1, 1}, src);
    CHECK(flat(y) == std::vector<double>{0, 12});
    y.backward(TensorD({3.0, 4.0}));
    CHECK(flat(src.grad()) == std::vector<double>{4, 4, 0});
}

TEST_CASE("take_along_dim: PyTorch's documented example (sorting by indices)", "[ops][index]") {
    const TensorD t = {{10, 30, 20}, {60, 40, 50}};
    const Indices sorted = {{0, 2, 1}, {1, 2, 0}};  // torch.argsort(t, dim=1)
    CHECK(flat(tg::take_along_dim(t, sorted, 1)) == std::vector<double>{10, 20, 30, 40, 50, 60});
    // Without a dim, the flattened t: elements 0, 4, 5 (argmax of the flattened t is 3).
    CHECK(flat(tg::take_along_dim(t, {3, -2, 2})) == std::vector<double>{60, 40, 20});
    // A [1, 3] x broadcast over the two rows of a [2, 1] index, along dim 1.
    const TensorD row({{1.0, 2.0, 3.0}}, true);
    Indices column = Indices::full({2, 1}, 0);
    column[0] = 2;
    const TensorD picked = tg::take_along_dim(row, column, 1);
    CHECK(picked.shape() == tg::Shape{2, 1});
    CHECK(flat(picked) == std::vector<double>{3, 1});
    tg::sum(picked).backward();
    CHECK(flat(row.grad()) == std::vector<double>{1, 0, 1});
}

TEST_CASE("masked_select: the true positions in row-major order, the mask broadcast", "[ops][index]") {
    const TensorD x = counting({2, 3}, true);
    const tg::Mask mask = {true, false, true};  // broadcast over the rows
    const TensorD y = tg::masked_select(x, mask);
    CHECK(flat(y) == std::vector<double>{0, 2, 3, 5});
    tg::sum(y * TensorD({1.0, 2.0, 3.0, 4.0})).backward();
    CHECK(flat(x.grad()) == std::vector<double>{1, 0, 2, 3, 0, 4});
    CHECK(tg::masked_select(x, tg::Mask::full({2, 3}, false)).shape() == tg::Shape{0});
}

TEST_CASE("select and index: LibTorch's x.index({0, Slice(1, None)}) and friends", "[ops][index]") {
    const TensorD x = counting({3, 4});
    CHECK(flat(tg::select(x, 0, 1)) == std::vector<double>{4, 5, 6, 7});
    CHECK(tg::select(x, 1, -1).shape() == tg::Shape{3});
    CHECK(flat(tg::select(x, 1, -1)) == std::vector<double>{3, 7, 11});
    CHECK(flat(tg::index(x, {0, Slice(1, None)})) == std::vector<double>{1, 2, 3});       // x[0, 1:]
    CHECK(flat(tg::index(x, {Slice(None, None, 2), -1})) == std::vector<double>{3, 11});  // x[::2, -1]
    CHECK(tg::index(x, {Slice(1, None)}).shape() == tg::Shape{2, 4});                     // x[1:]
    CHECK(flat(tg::index(x, {Slice(-2, None), Slice(1, 3)})) == std::vector<double>{5, 6, 9, 10});
    CHECK(tg::index(x, {Slice(5, 9)}).shape() == tg::Shape{0, 4});  // clamped, as Python's slices
    CHECK(tg::index(x, {2, 3}).ndim() == 0);
    CHECK(tg::index(x, {2, 3}).item() == 11);
}

TEST_CASE("index: the gradient lands where the entries took the values", "[ops][index]") {
    const TensorD x = counting({3, 4}, true);
    tg::sum(tg::index(x, {Slice(None, None, 2), Slice(1, None, 2)})).backward();  // x[::2, 1::2]
    CHECK(flat(x.grad()) == std::vector<double>{0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1});
}

TEST_CASE("index: second derivatives through index_select and gather", "[ops][index]") {
    // f(x) = sum(gather(x, 0, idx)^3): df/dx_k = 3 n_k x_k^2 for x_k taken n_k times, and
    // d/dx_k of sum(df/dx) = 6 n_k x_k.
    const TensorD x({1.0, 2.0, 3.0}, true);
    const TensorD y = tg::gather(x, 0, {0, 2, 0, -3});  // x[0] taken 3 times, x[2] once
    const auto g = tg::grad<double>({tg::sum(tg::pow(y, 3.0))}, {x}, {}, true, true);
    CHECK(flat(g[0]) == std::vector<double>{9, 0, 27});
    tg::sum(g[0]).backward();
    CHECK(flat(x.grad()) == std::vector<double>{18, 0, 18});
}

TEST_CASE("index ops: an index out of range is an IndexError naming the op and the size", "[ops][index][errors]") {
    const TensorD x = counting({2, 3});
    CHECK_THROWS_MATCHES(tg::index_select(x, 0, {2}), tg::IndexError, Says("index_select") && Says("size 2"));
    CHECK_THROWS_MATCHES(tg::gather(x, 1, Indices::full({1, 1}, -4)), tg::IndexError,
                         Says("gather") && Says("index -4"));
    CHECK_THROWS_MATCHES(tg::scatter_add(x, 1, Indices::full({1, 1}, 3), x), tg::IndexError,
                         Says("scatter_add") && Says("size 3"));
    CHECK_THROWS_MATCHES(tg::take_along_dim(x, {{0, 7}}, 1), tg::IndexError, Says("take_along_dim") && Says("7"));
    CHECK_THROWS_MATCHES(tg::select(x, 0, 2), tg::IndexError, Says("select") && Says("size 2"));
    CHECK_THROWS_MATCHES(tg::index(x, {0, -4}), tg::IndexError, Says("index:") && Says("dim 1"));
    CHECK_NOTHROW(tg::gather(x, 1, Indices::full({1, 2}, -3)));  // -3 is the first of 3
}
