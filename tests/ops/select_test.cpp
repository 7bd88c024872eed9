// The selection family's results that the op table cannot show: comparisons, mask logic and mask
// reductions (no gradient, so no rows) against hand-written values, NaN as PyTorch treats it, and
// the gradients at ties and boundaries, where finite differences have nothing to say, against
// PyTorch's closed forms.
#include <catch2/catch.hpp>

#include <cmath>
#include <concepts>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include <xtensor/xadapt.hpp>

#include <tapegrad/tapegrad.hpp>

#include "autograd/says.hpp"

namespace tg = tapegrad;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

std::vector<double> flat(const tg::TensorD& t) {
    return std::vector<double>(t.value().begin(), t.value().end());
}

std::vector<bool> flat(const tg::Mask& m) {
    return std::vector<bool>(m.begin(), m.end());
}

tg::TensorD leaf(std::vector<double> values, const tg::Shape& shape) {
    xt::xarray<double> v = xt::adapt(values, shape);
    return tg::TensorD(std::move(v), true);
}

tg::Mask mask(std::vector<bool> values, const tg::Shape& shape) {
    tg::Mask m(values);
    m.mutable_value().reshape(shape);
    return m;
}

template <class A>
concept ComparesToBool = requires(const A& a) {
    static_cast<bool>(a == a);
};

}  // namespace

// A Mask never stands for a bool: `if (a == b)` and Catch2's CHECK(a == b) do not compile, as
// PyTorch's "Boolean value of Tensor with more than one value is ambiguous".
static_assert(!std::is_convertible_v<tg::Mask, bool>);
static_assert(!std::is_constructible_v<bool, tg::Mask>);
static_assert(!ComparesToBool<tg::TensorD>);
static_assert(!ComparesToBool<tg::Indices>);
static_assert(!ComparesToBool<tg::Mask>);
static_assert(std::same_as<decltype(std::declval<tg::TensorF>() < 1.0F), tg::Mask>);
static_assert(std::same_as<decltype(std::declval<tg::Indices>() == 3), tg::Mask>);

TEST_CASE("select: tensor comparisons are elementwise, NaN is false except for ne", "[ops][select]") {
    const tg::TensorD a = {1.0, 2.0, kNaN, 4.0, kNaN};
    const tg::TensorD b = {1.0, 3.0, kNaN, 0.0, 5.0};
    using B = std::vector<bool>;
    CHECK(flat(tg::eq(a, b)) == B{true, false, false, false, false});
    CHECK(flat(tg::ne(a, b)) == B{false, true, true, true, true});
    CHECK(flat(tg::lt(a, b)) == B{false, true, false, false, false});
    CHECK(flat(tg::le(a, b)) == B{true, true, false, false, false});
    CHECK(flat(tg::gt(a, b)) == B{false, false, false, true, false});
    CHECK(flat(tg::ge(a, b)) == B{true, false, false, true, false});
    CHECK(tg::equal(a == b, tg::eq(a, b)));
    CHECK(tg::equal(a != b, tg::ne(a, b)));
    CHECK(tg::equal(a < b, tg::lt(a, b)));
    CHECK(tg::equal(a <= b, tg::le(a, b)));
    CHECK(tg::equal(a > b, tg::gt(a, b)));
    CHECK(tg::equal(a >= b, tg::ge(a, b)));
    CHECK((a == b).shape() == tg::Shape{5});
}

TEST_CASE("select: comparisons broadcast, and a scalar compares on either side", "[ops][select]") {
    const tg::TensorD col = leaf({1, 2}, {2, 1});
    const tg::TensorD row = {0.0, 1.0, 2.0};
    const tg::Mask m = col > row;  // [2, 1] against [3]: [2, 3]
    CHECK(m.shape() == tg::Shape{2, 3});
    CHECK(flat(m) == std::vector<bool>{true, false, false, true, true, false});
    const tg::TensorD x = {-1.0, 0.5, kNaN, 2.0};
    using B = std::vector<bool>;
    CHECK(flat(x > 0.5) == B{false, false, false, true});
    CHECK(flat(x >= 0.5) == B{false, true, false, true});
    CHECK(flat(0.5 < x) == B{false, false, false, true});  // s < x is x > s
    CHECK(flat(0.5 >= x) == B{true, true, false, false});  // s >= x is x <= s
    CHECK(flat(x == 2.0) == B{false, false, false, true});
    CHECK(flat(2.0 != x) == B{true, true, true, false});
    CHECK(flat(tg::lt(x, kNaN)) == B{false, false, false, false});
    CHECK(flat(tg::ne(x, kNaN)) == B{true, true, true, true});
    const tg::TensorF f = {1.0F, 3.0F};
    CHECK(flat(f <= 1.0) == B{true, false});  // a double literal against a float tensor
    CHECK((tg::TensorD(3.0) < 4.0).shape() == tg::Shape{});
    CHECK((tg::TensorD(xt::xarray<double>::from_shape({0, 2})) < row.value()(0)).shape() == tg::Shape{0, 2});
}

TEST_CASE("select: comparisons of tensors that require grad record nothing", "[ops][select]") {
    tg::TensorD x = leaf({1, -2, 3}, {3});
    const tg::Mask positive = x > 0.0;
    CHECK(flat(positive) == std::vector<bool>{true, false, true});
    CHECK(x.is_leaf());
    CHECK_FALSE(x.grad().defined());
    tg::sum(tg::where(positive, x, 0.0) * 2.0).backward();  // the mask used as a constant
    CHECK(flat(x.grad()) == std::vector<double>{2, 0, 2});
}

TEST_CASE("select: comparison errors name the op, the arguments and the shapes", "[ops][select][errors]") {
    const tg::TensorD a = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
    const tg::TensorD b = {1.0, 2.0, 3.0, 4.0};
    CHECK_THROWS_MATCHES(tg::gt(a, b), tg::ShapeError,
                         Says("gt: a has shape [2, 3], b has shape [4]; they do not broadcast"));
    CHECK_THROWS_MATCHES(a == b, tg::ShapeError, Says("eq") && Says("[2, 3]") && Says("[4]"));
    CHECK_THROWS_MATCHES(tg::lt(tg::TensorD(), b), tg::ValueError, Says("lt: a is an undefined tensor"));
    CHECK_THROWS_MATCHES(tg::ge(a, tg::TensorD()), tg::ValueError, Says("ge: b is an undefined tensor"));
    CHECK_THROWS_MATCHES(tg::TensorD() < 1.0, tg::ValueError, Says("lt: a is an undefined tensor"));
    CHECK_THROWS_MATCHES(tg::isnan(tg::TensorD()), tg::ValueError, Says("isnan: x is an undefined tensor"));
    CHECK_THROWS_MATCHES((tg::Indices{1, 2} == tg::Indices{1, 2, 3}), tg::ShapeError,
                         Says("eq: a has shape [2], b has shape [3]"));
    const tg::Mask square = tg::Mask{true} & mask({true, false, true, false}, {2, 2});  // [1] & [2, 2]: [2, 2]
    CHECK_THROWS_MATCHES(square | tg::Mask({true, false, true}), tg::ShapeError,
                         Says("logical_or: a has shape [2, 2], b has shape [3]"));
}

TEST_CASE("select: isfinite, isnan and isinf as PyTorch's", "[ops][select]") {
    const tg::TensorD x = {1.0, kInf, -kInf, kNaN, 0.0, -0.0};
    using B = std::vector<bool>;
    CHECK(flat(tg::isfinite(x)) == B{true, false, false, false, true, true});
    CHECK(flat(tg::isnan(x)) == B{false, false, false, true, false, false});
    CHECK(flat(tg::isinf(x)) == B{false, true, true, false, false, false});
    const tg::TensorF f = {std::numeric_limits<float>::infinity(), 2.0F};
    CHECK(flat(tg::isinf(f)) == B{true, false});
    CHECK(tg::isfinite(tg::TensorD(xt::xarray<double>::from_shape({2, 0}))).shape() == tg::Shape{2, 0});
    CHECK(tg::all(tg::isfinite(tg::TensorD(1.0))));
}

TEST_CASE("select: Indices compare with Indices and scalars (the accuracy idiom)", "[ops][select][indices]") {
    const tg::Indices predicted = {2, 0, 1, 1, 3};
    const tg::Labels y = {2, 1, 1, 0, 3};
    const tg::Mask correct = predicted == y;
    CHECK(flat(correct) == std::vector<bool>{true, false, true, false, true});
    CHECK(tg::count_nonzero(correct) == 3);
    CHECK(tg::sum(predicted == y) == 3);  // PyTorch's (pred == y).sum()
    using B = std::vector<bool>;
    CHECK(flat(predicted != y) == B{false, true, false, true, false});
    CHECK(flat(predicted < y) == B{false, true, false, false, false});
    CHECK(flat(predicted >= 2) == B{true, false, false, false, true});
    CHECK(flat(predicted == -1) == B{false, false, false, false, false});
    CHECK(flat(tg::le(predicted, std::int64_t{0})) == B{false, true, false, false, false});
    tg::Indices column = {0, 1};
    column.mutable_value().reshape({2, 1});
    const tg::Mask grid = column == tg::Indices{0, 1, 2};  // [2, 1] against [3]
    CHECK(grid.shape() == tg::Shape{2, 3});
    CHECK(flat(grid) == B{true, false, false, false, true, false});
    // Masks compare as PyTorch's bool tensors, false < true.
    const tg::Mask p = {true, true, false, false}, q = {true, false, true, false};
    CHECK(flat(p == q) == B{true, false, false, true});
    CHECK(flat(p > q) == B{false, true, false, false});
    CHECK(flat(p == true) == B{true, true, false, false});
}

TEST_CASE("select: mask logic with &, |, ^ and ~, broadcasting", "[ops][select][mask]") {
    const tg::Mask p = {true, true, false, false}, q = {true, false, true, false};
    using B = std::vector<bool>;
    CHECK(flat(p & q) == B{true, false, false, false});
    CHECK(flat(p | q) == B{true, true, true, false});
    CHECK(flat(p ^ q) == B{false, true, true, false});
    CHECK(flat(~p) == B{false, false, true, true});
    CHECK(tg::equal(tg::logical_and(p, q), p & q));
    CHECK(tg::equal(tg::logical_or(p, q), p | q));
    CHECK(tg::equal(tg::logical_xor(p, q), p ^ q));
    CHECK(tg::equal(tg::logical_not(p), ~p));
    const tg::Mask col = mask({true, false}, {2, 1});
    const tg::Mask both = col & tg::Mask{true, false, true};
    CHECK(both.shape() == tg::Shape{2, 3});
    CHECK(flat(both) == B{true, false, true, false, false, false});
    CHECK((~tg::Mask::full({}, true)).shape() == tg::Shape{});
    CHECK_FALSE((~tg::Mask::full({}, true)).item());
    // A mask passed to an op is never changed by it.
    const tg::Mask before = p;
    (void)(~p & q);
    CHECK(tg::equal(p, before));
}

TEST_CASE("select: all and any, whole and along a dim, keepdim, empty masks", "[ops][select][mask]") {
    const tg::Mask m = mask({true, false, true, true, true, true}, {2, 3});
    CHECK_FALSE(tg::all(m));
    CHECK(tg::any(m));
    using B = std::vector<bool>;
    CHECK(flat(tg::all(m, 0)) == B{true, false, true});
    CHECK(flat(tg::all(m, 1)) == B{false, true});
    CHECK(flat(tg::any(m, -1)) == B{true, true});
    CHECK(tg::all(m, 1).shape() == tg::Shape{2});
    CHECK(tg::all(m, 1, true).shape() == tg::Shape{2, 1});
    CHECK(tg::any(m, 0, true).shape() == tg::Shape{1, 3});
    CHECK(flat(tg::any(~m, 0)) == B{false, true, false});
    // Empty: all is true and any false, as PyTorch's.
    CHECK(tg::all(tg::Mask()));
    CHECK_FALSE(tg::any(tg::Mask()));
    const tg::Mask none = tg::Mask::full({2, 0}, false);
    CHECK(flat(tg::all(none, 1)) == B{true, true});
    CHECK(flat(tg::any(none, 1)) == B{false, false});
    CHECK(tg::all(none, 0).shape() == tg::Shape{0});
    CHECK(tg::all(tg::Mask::full({}, true)));
    CHECK_THROWS_MATCHES(tg::all(m, 2), tg::ValueError, Says("all: dim 2 is out of range") && Says("[2, 3]"));
    CHECK_THROWS_MATCHES(tg::any(tg::Mask::full({}, true), 0), tg::ValueError, Says("any: dim 0"));
}

TEST_CASE("select: count_nonzero counts the true elements, whole or along dims", "[ops][select][mask]") {
    const tg::Mask m = mask({true, false, true, true, true, false}, {2, 3});
    CHECK(tg::count_nonzero(m) == 4);
    CHECK(tg::sum(m) == 4);
    CHECK(tg::count_nonzero(tg::Mask()) == 0);
    const tg::Indices per_column = tg::count_nonzero(m, {0});
    CHECK(per_column.shape() == tg::Shape{3});
    CHECK(std::vector<std::int64_t>(per_column.begin(), per_column.end()) == std::vector<std::int64_t>{2, 1, 1});
    const tg::Indices per_row = tg::count_nonzero(m, {-1}, true);
    CHECK(per_row.shape() == tg::Shape{2, 1});
    CHECK(std::vector<std::int64_t>(per_row.begin(), per_row.end()) == std::vector<std::int64_t>{2, 2});
    const tg::Indices total = tg::count_nonzero(m, {0, 1});
    CHECK(total.shape() == tg::Shape{});
    CHECK(total.item() == 4);
    CHECK(tg::count_nonzero(tg::Mask::full({0, 3}, true), {0}).shape() == tg::Shape{3});
    CHECK_THROWS_MATCHES(tg::count_nonzero(m, {1, -1}), tg::ValueError, Says("count_nonzero") && Says("twice"));
    CHECK_THROWS_MATCHES(tg::count_nonzero(m, {}), tg::ValueError, Says("count_nonzero: dims is empty"));
    CHECK_THROWS_MATCHES(tg::count_nonzero(m, {3}), tg::ValueError, Says("count_nonzero: dim 3"));
}

TEST_CASE("where: the gradients are g masked by the condition and summed back (closed form)", "[ops][select][where]") {
    const tg::TensorD a = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
    const tg::TensorD b = leaf({-1, -2, -3}, {3});
    const tg::Mask m = mask({true, false}, {2, 1});  // row 0 from a, row 1 from b
    const tg::TensorD y = tg::where(m, a, b);
    CHECK(flat(y) == std::vector<double>{1, 2, 3, -1, -2, -3});
    CHECK(y.grad_fn_name() == "where");
    const tg::TensorD seed = leaf({1, 2, 3, 4, 5, 6}, {2, 3});
    y.backward(seed.detach());
    CHECK(flat(a.grad()) == std::vector<double>{1, 2, 3, 0, 0, 0});
    CHECK(flat(b.grad()) == std::vector<double>{4, 5, 6});  // row 1's seed, summed over b's broadcast
}

TEST_CASE("where: scalar branches, and a NaN in the branch not taken", "[ops][select][where]") {
    const tg::TensorD x = leaf({kNaN, 1, kInf}, {3});
    const tg::Mask m = {false, true, false};
    const tg::TensorD y = tg::where(m, x, 0.5);
    CHECK(flat(y) == std::vector<double>{0.5, 1, 0.5});
    tg::sum(y).backward();
    CHECK(flat(x.grad()) == std::vector<double>{0, 1, 0});  // not NaN * 0
    const tg::TensorD z = leaf({1, 2, 3}, {3});
    const tg::TensorD w = tg::where(m, -1.0, z);
    CHECK(flat(w) == std::vector<double>{1, -1, 3});
    tg::sum(w).backward();
    CHECK(flat(z.grad()) == std::vector<double>{1, 0, 1});
    // As in PyTorch, an op before where still sees the zero: sqrt'(0) = kInf, and kInf * 0 is NaN.
    const tg::TensorD s = leaf({0, 4}, {2});
    tg::sum(tg::where(tg::Mask{false, true}, tg::sqrt(s), 0.0)).backward();
    CHECK(std::isnan(s.grad().value()(0)));
    CHECK(s.grad().value()(1) == 0.25);
}

TEST_CASE("where: the recorded node keeps its own copy of the condition", "[ops][select][where]") {
    const tg::TensorD a = leaf({1, 2}, {2});
    tg::Mask m = {true, false};
    const tg::TensorD y = tg::where(m, a, 0.0);
    m[0] = false;  // the caller's mask changes after the op
    m[1] = true;
    tg::sum(y).backward();
    CHECK(flat(a.grad()) == std::vector<double>{1, 0});
}

TEST_CASE("where: gradients of gradients go through the masks", "[ops][select][where]") {
    const tg::TensorD a = leaf({1, 2, 3}, {3});
    const tg::Mask m = {true, false, true};
    const tg::TensorD y = tg::sum(tg::where(m, a * a * a, a));
    const auto g = tg::grad<double>({y}, {a}, {}, std::nullopt, true);  // where(m, 3a², 1)
    CHECK(flat(g[0]) == std::vector<double>{3, 1, 27});
    const auto gg = tg::grad<double>({tg::sum(g[0])}, {a});  // where(m, 6a, 0)
    CHECK(flat(gg[0]) == std::vector<double>{6, 0, 18});
}

TEST_CASE("masked_fill: the value where the mask holds, a zero gradient there", "[ops][select][where]") {
    const tg::TensorD x = leaf({1, 2, 3}, {3});
    const tg::TensorD y = tg::masked_fill(x, tg::Mask{false, true, false}, -9.0);
    CHECK(flat(y) == std::vector<double>{1, -9, 3});
    y.backward(tg::TensorD{10.0, 20.0, 30.0});
    CHECK(flat(x.grad()) == std::vector<double>{10, 0, 30});
    // As PyTorch's out-of-place masked_fill, the result has the broadcast shape of x and the mask.
    const tg::TensorD z = leaf({1, 2, 3}, {3});
    const tg::TensorD wide = tg::masked_fill(z, mask({true, false}, {2, 1}), 0.0);
    CHECK(wide.shape() == tg::Shape{2, 3});
    CHECK(flat(wide) == std::vector<double>{0, 0, 0, 1, 2, 3});
    tg::sum(wide).backward();
    CHECK(flat(z.grad()) == std::vector<double>{1, 1, 1});
    CHECK(std::isnan(tg::masked_fill(z.detach(), tg::Mask{true, false, false}, kNaN).value()(0)));
}

TEST_CASE("maximum and minimum: a tie splits the gradient evenly (PyTorch's closed form)", "[ops][select][extremum]") {
    tg::TensorD a = leaf({1, 2, 3}, {3});
    tg::TensorD b = leaf({1, 5, 0}, {3});
    const tg::TensorD hi = tg::maximum(a, b);
    CHECK(flat(hi) == std::vector<double>{1, 5, 3});
    hi.backward(tg::TensorD{2.0, 2.0, 2.0});
    CHECK(flat(a.grad()) == std::vector<double>{1, 0, 2});
    CHECK(flat(b.grad()) == std::vector<double>{1, 2, 0});
    a.zero_grad();
    b.zero_grad();
    const tg::TensorD lo = tg::minimum(a, b);
    CHECK(flat(lo) == std::vector<double>{1, 2, 0});
    lo.backward(tg::TensorD{2.0, 2.0, 2.0});
    CHECK(flat(a.grad()) == std::vector<double>{1, 2, 0});
    CHECK(flat(b.grad()) == std::vector<double>{1, 0, 2});
    // maximum(x, x): the two halves meet again, dx = g.
    const tg::TensorD x = leaf({-1, 4}, {2});
    tg::sum(tg::maximum(x, x)).backward();
    CHECK(flat(x.grad()) == std::vector<double>{1, 1});
    // A broadcast tie: the 0-d b ties with two elements and collects half of each.
    const tg::TensorD v = leaf({0, 1, 1}, {3});
    const tg::TensorD s(1.0, true);
    tg::sum(tg::maximum(v, s)).backward();
    CHECK(flat(v.grad()) == std::vector<double>{0, 0.5, 0.5});
    CHECK(s.grad().item() == 2.0);  // 1 (element 0) + 0.5 + 0.5
}

TEST_CASE("maximum and minimum: NaN wins, and both sides get the gradient there (PyTorch's rule)",
          "[ops][select][extremum]") {
    const tg::TensorD a = leaf({kNaN, 1, 2}, {3});
    const tg::TensorD b = leaf({0, kNaN, 1}, {3});
    const tg::TensorD hi = tg::maximum(a, b);
    CHECK(std::isnan(hi.value()(0)));
    CHECK(std::isnan(hi.value()(1)));
    CHECK(hi.value()(2) == 2);
    tg::sum(hi).backward();
    CHECK(flat(a.grad()) == std::vector<double>{1, 1, 1});
    CHECK(flat(b.grad()) == std::vector<double>{1, 1, 0});
    const tg::TensorD lo = tg::minimum(a.detach(), b.detach());
    CHECK(std::isnan(lo.value()(0)));
    CHECK(std::isnan(lo.value()(1)));
    CHECK(lo.value()(2) == 1);
}

TEST_CASE("clamp with tensor bounds: at a boundary the gradient goes to x (PyTorch's rule)", "[ops][select][clamp]") {
    const tg::TensorD x = leaf({0, 1, 2, -1, 0.5}, {5});
    const tg::TensorD low = leaf({0, 0, 0, 0, 0}, {5});
    const tg::TensorD high = leaf({1, 1, 1, 1, 1}, {5});
    const tg::TensorD y = tg::clamp(x, low, high);
    CHECK(flat(y) == std::vector<double>{0, 1, 1, 0, 0.5});
    tg::sum(y).backward();
    CHECK(flat(x.grad()) == std::vector<double>{1, 1, 0, 0, 1});  // x = low and x = high: x's
    CHECK(flat(low.grad()) == std::vector<double>{0, 0, 0, 1, 0});
    CHECK(flat(high.grad()) == std::vector<double>{0, 0, 1, 0, 0});
}

TEST_CASE("clamp with tensor bounds: low above high gives high, and the gradient to high only",
          "[ops][select][clamp]") {
    const tg::TensorD x = leaf({-1, 1.5, 3}, {3});
    const tg::TensorD low(2.0, true);
    const tg::TensorD high(1.0, true);
    const tg::TensorD y = tg::clamp(x, low, high);
    CHECK(flat(y) == std::vector<double>{1, 1, 1});
    tg::sum(y).backward();
    CHECK(flat(x.grad()) == std::vector<double>{0, 0, 0});
    CHECK(low.grad().item() == 0);
    CHECK(high.grad().item() == 3);
}

TEST_CASE("clamp with tensor bounds: one bound, NaN anywhere gives NaN", "[ops][select][clamp]") {
    tg::TensorD x = leaf({-1, 0, 2}, {3});
    tg::TensorD bound = leaf({0, 0, 0}, {3});
    const tg::TensorD lower = tg::clamp(x, bound);
    CHECK(flat(lower) == std::vector<double>{0, 0, 2});
    tg::sum(lower).backward();
    CHECK(flat(x.grad()) == std::vector<double>{0, 1, 1});  // x = low: x's
    CHECK(flat(bound.grad()) == std::vector<double>{1, 0, 0});
    x.zero_grad();
    bound.zero_grad();
    const tg::TensorD upper = tg::clamp(x, std::nullopt, bound);
    CHECK(flat(upper) == std::vector<double>{-1, 0, 0});
    tg::sum(upper).backward();
    CHECK(flat(x.grad()) == std::vector<double>{1, 1, 0});  // x = high: x's
    CHECK(flat(bound.grad()) == std::vector<double>{0, 0, 1});

    const tg::TensorD v = {kNaN, 0.0, 0.0, 5.0};
    const tg::TensorD l = {0.0, kNaN, 0.0, 0.0};
    const tg::TensorD h = {1.0, 1.0, kNaN, 1.0};
    const tg::TensorD c = tg::clamp(v, l, h);
    CHECK(std::isnan(c.value()(0)));
    CHECK(std::isnan(c.value()(1)));
    CHECK(std::isnan(c.value()(2)));
    CHECK(c.value()(3) == 1);
    CHECK(std::isnan(tg::clamp(v, l).value()(1)));
    CHECK(std::isnan(tg::clamp(v, std::nullopt, h).value()(2)));
}
