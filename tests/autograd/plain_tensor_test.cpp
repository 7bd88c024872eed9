// Indices and Mask: construction, printing, equal(), and resolve_index's range rules.
#include <catch2/catch.hpp>

#include <cstdint>
#include <sstream>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <xtensor/xarray.hpp>

#include <tapegrad/autograd/plain_tensor.hpp>

#include "says.hpp"

namespace tg = tapegrad;

TEST_CASE("Indices: built from braces, vectors and xtensor arrays, with their shapes", "[autograd][indices]") {
    const tg::Indices flat = {2, 0, -1};
    CHECK(flat.shape() == tg::Shape{3});
    CHECK(flat[0] == 2);
    CHECK(flat[2] == -1);
    const tg::Indices rows = {{0, 1, 2}, {3, 4, 5}};
    CHECK(rows.shape() == tg::Shape{2, 3});
    CHECK(rows.ndim() == 2);
    CHECK(rows.numel() == 6);
    CHECK(rows.value()(1, 0) == 3);
    const tg::Indices cube = {{{1, 3}, {2, 4}}};
    CHECK(cube.shape() == tg::Shape{1, 2, 2});
    const tg::Indices from_vector(std::vector<std::int64_t>{7, 8});
    CHECK(from_vector.shape() == tg::Shape{2});
    CHECK(from_vector[1] == 8);
    const tg::Indices from_xt(xt::xarray<std::int64_t>{{1, 2}, {3, 4}});
    CHECK(from_xt.shape() == tg::Shape{2, 2});
    const std::vector<std::int64_t> seen(rows.begin(), rows.end());
    CHECK(seen == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5});

    const tg::Indices none;
    CHECK(none.shape() == tg::Shape{0});
    CHECK(none.begin() == none.end());
    const auto zero_d = tg::Indices::full({}, 4);
    CHECK(zero_d.ndim() == 0);
    CHECK(zero_d.item() == 4);
    CHECK_THROWS_MATCHES(flat.item(), tg::ValueError, Says("Indices::item") && Says("[3]"));
}

// `Labels y(256)` (std::vector's size constructor, as Labels used to be) must not compile into a
// 0-d array holding 256 that later writes would overrun.
static_assert(!std::is_constructible_v<tg::Labels, int>);
static_assert(!std::is_constructible_v<tg::Labels, std::size_t>);
static_assert(!std::is_constructible_v<tg::Mask, bool>);

TEST_CASE("Indices and Mask: ragged braces are a ShapeError naming the type", "[autograd][indices]") {
    CHECK_THROWS_MATCHES((tg::Indices{{1, 2}, {3}}), tg::ShapeError, Says("Indices: ragged") && Says("[2, 1]"));
    CHECK_THROWS_MATCHES((tg::Mask{{true}, {true, false}}), tg::ShapeError, Says("Mask: ragged"));
}

TEST_CASE("Indices and Mask: a copy is independent of its source", "[autograd][indices]") {
    tg::Indices a = {1, 2};
    const tg::Indices b = a;
    a[0] = 9;
    CHECK(b[0] == 1);
    CHECK_FALSE(tg::equal(a, b));
}

TEST_CASE("Mask: booleans from braces and xtensor, printed as true and false", "[autograd][mask]") {
    const tg::Mask keep = {true, false, true};
    CHECK(keep.shape() == tg::Shape{3});
    CHECK(keep[0]);
    CHECK_FALSE(keep[1]);
    const tg::Mask grid(xt::xarray<bool>{{true, false}, {false, true}});
    CHECK(grid.shape() == tg::Shape{2, 2});
    const std::string text = keep.to_string();
    CHECK(text.rfind("Mask(bool, shape=[3])\n", 0) == 0);
    CHECK(text.find("true") != std::string::npos);
    CHECK(text.find("false") != std::string::npos);
    std::ostringstream os;
    os << keep;
    CHECK(os.str() == text);
    CHECK(fmt::format("{}", keep) == text);
}

TEST_CASE("Indices: printed with their type, shape and values", "[autograd][indices]") {
    const tg::Indices idx = {{4, -2}};
    const std::string text = idx.to_string();
    CHECK(text.rfind("Indices(int64, shape=[1, 2])\n", 0) == 0);
    CHECK(text.find("-2") != std::string::npos);
    CHECK(fmt::format("{}", idx) == text);
}

TEST_CASE("equal: the same shape and values, as torch.equal", "[autograd][indices]") {
    CHECK(tg::equal(tg::Indices{1, 2}, tg::Indices{1, 2}));
    CHECK_FALSE(tg::equal(tg::Indices{1, 2}, tg::Indices{1, 3}));
    CHECK_FALSE(tg::equal(tg::Indices{1, 2}, tg::Indices{{1, 2}}));  // same values, other shape
    CHECK(tg::equal(tg::Mask{true}, tg::Mask{true}));
}

TEST_CASE("resolve_index: negative indices count from the end, out of range is an IndexError", "[autograd][indices]") {
    CHECK(tg::resolve_index("gather", "x", 1, 0, 5) == 0);
    CHECK(tg::resolve_index("gather", "x", 1, 4, 5) == 4);
    CHECK(tg::resolve_index("gather", "x", 1, -1, 5) == 4);
    CHECK(tg::resolve_index("gather", "x", 1, -5, 5) == 0);
    CHECK_THROWS_MATCHES(tg::resolve_index("gather", "x", 1, 5, 5), tg::IndexError,
                         Says("gather: index 5 is out of range for dim 1 of x, of size 5 (expected -5..4)"));
    CHECK_THROWS_MATCHES(tg::resolve_index("gather", "x", 1, -6, 5), tg::IndexError, Says("index -6"));
    CHECK_THROWS_MATCHES(tg::resolve_index("index_select", "x", 0, 0, 0), tg::IndexError,
                         Says("index_select: index 0 is out of range for dim 0 of x, of size 0"));
    // An IndexError is a ValueError, so code written against ValueError still catches it.
    CHECK_THROWS_AS(tg::resolve_index("gather", "x", 0, 9, 1), tg::ValueError);
}

TEST_CASE("Indices and Mask: to<T>() makes a float tensor, a new leaf", "[autograd][indices]") {
    const tg::Indices idx = {{3, -2}, {0, 7}};
    const tg::TensorD d = idx.to<double>();
    CHECK(d.shape() == tg::Shape{2, 2});
    CHECK(d.value() == xt::xarray<double>{{3.0, -2.0}, {0.0, 7.0}});
    CHECK(d.is_leaf());
    CHECK_FALSE(d.requires_grad());
    CHECK(idx.to<float>(true).requires_grad());
    const tg::TensorF m = tg::Mask{true, false, true}.to<float>();
    CHECK(m.value() == xt::xarray<float>{1.0F, 0.0F, 1.0F});
    CHECK(tg::Indices::full({}, 5).to<double>().ndim() == 0);
    CHECK(tg::Indices().to<float>().shape() == tg::Shape{0});
    // 2^53 + 1 has no double: it rounds to the nearest one, as PyTorch's cast does.
    CHECK(tg::Indices{(std::int64_t{1} << 53) + 1}.to<double>().item() == 9007199254740992.0);
}
