// In-place updates (add_, mul_, ..., +=): values against hand-computed results, the version
// counter, PyTorch's grad-mode rules, broadcasting, and that a refused call changes nothing.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <tapegrad/tapegrad.hpp>

#include "says.hpp"

namespace tg = tapegrad;
using tg::TensorD;

namespace {
// By reference: Catch's decomposer must see an lvalue (an xarray temporary would pick
// xtensor's elementwise operator<= instead).
const xt::xarray<double>& vals(const TensorD& t) {
    return t.value();
}
}  // namespace

TEST_CASE("autograd: in-place updates compute what they say, broadcasting the operand", "[autograd][inplace]") {
    TensorD x = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
    const TensorD row = {10.0, 20.0, 30.0};
    const TensorD col = tg::reshape(TensorD{1.0, 2.0}, {2, 1});
    x.add_(row, 0.5);  // [[6, 12, 18], [9, 15, 21]]
    CHECK(vals(x) == xt::xarray<double>{{6.0, 12.0, 18.0}, {9.0, 15.0, 21.0}});
    x.sub_(col);  // [[5, 11, 17], [7, 13, 19]]
    CHECK(vals(x) == xt::xarray<double>{{5.0, 11.0, 17.0}, {7.0, 13.0, 19.0}});
    x.mul_(col);  // row 2 doubled
    CHECK(vals(x) == xt::xarray<double>{{5.0, 11.0, 17.0}, {14.0, 26.0, 38.0}});
    x.div_(TensorD(2.0));
    CHECK(vals(x) == xt::xarray<double>{{2.5, 5.5, 8.5}, {7.0, 13.0, 19.0}});
    x += 1.0;
    x -= 0.5;
    x *= 2.0;
    x /= 4.0;  // ((v + 0.5) * 2) / 4 = (v + 0.5) / 2
    CHECK(vals(x) == xt::xarray<double>{{1.5, 3.0, 4.5}, {3.75, 6.75, 9.75}});
    x.clamp_(2.0, 7.0);
    CHECK(vals(x) == xt::xarray<double>{{2.0, 3.0, 4.5}, {3.75, 6.75, 7.0}});
    x.copy_(row);  // broadcast into both rows
    CHECK(vals(x) == xt::xarray<double>{{10.0, 20.0, 30.0}, {10.0, 20.0, 30.0}});
    x += x;  // the operand is the tensor itself
    CHECK(vals(x) == xt::xarray<double>{{20.0, 40.0, 60.0}, {20.0, 40.0, 60.0}});
    x.fill_(-1.5);
    CHECK(vals(x) == xt::xarray<double>{{-1.5, -1.5, -1.5}, {-1.5, -1.5, -1.5}});
    x.zero_();
    CHECK(vals(x) == xt::xarray<double>{{0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}});
    CHECK(x.shape() == tg::Shape{2, 3});
}

TEST_CASE("autograd: clamp_ keeps NaN and refuses low > high", "[autograd][inplace]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    TensorD x = {-3.0, nan, 3.0};
    x.clamp_(-1.0, 1.0);
    CHECK(x.value()(0) == -1.0);
    CHECK(std::isnan(x.value()(1)));
    CHECK(x.value()(2) == 1.0);
    const auto version = x.version();
    CHECK_THROWS_MATCHES(x.clamp_(1.0, -1.0), tg::ValueError, Says("clamp_") && Says("greater"));
    CHECK(x.version() == version);
}

TEST_CASE("autograd: an in-place update bumps the version, so a backward that saved the tensor refuses",
          "[autograd][inplace]") {
    TensorD w({1.0, 2.0}, true);
    TensorD x = {3.0, 4.0};
    TensorD loss = tg::sum(w * x);  // saves x for w's gradient
    const auto before = x.version();
    x.mul_(2.0);
    CHECK(x.version() == before + 1);
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError, Says("modified in place"));
    CHECK_FALSE(w.grad().defined());
}

TEST_CASE(
    "autograd: with grad mode on, in-place updates refuse tensors that require grad, and under NoGradGuard "
    "they run",
    "[autograd][inplace]") {
    TensorD w({1.0, 2.0}, true);
    const TensorD other({1.0, 1.0}, true);
    TensorD plain = {5.0, 6.0};
    TensorD y = w * 2.0;  // an op's output: requires grad, not a leaf
    CHECK_THROWS_MATCHES(w.add_(plain), tg::AutogradError, Says("add_") && Says("leaf") && Says("NoGradGuard"));
    CHECK_THROWS_MATCHES(y.mul_(3.0), tg::AutogradError, Says("mul_") && Says("'mul'"));
    CHECK_THROWS_MATCHES(plain.add_(other), tg::AutogradError, Says("add_") && Says("other") && Says("[2]"));
    CHECK(vals(w) == xt::xarray<double>{1.0, 2.0});  // nothing changed
    CHECK(vals(y) == xt::xarray<double>{2.0, 4.0});
    CHECK(vals(plain) == xt::xarray<double>{5.0, 6.0});
    {
        tg::NoGradGuard no_grad;  // how an optimiser steps: w -= lr * grad
        w.sub_(other, 0.5);
        plain += other;
    }
    CHECK(vals(w) == xt::xarray<double>{0.5, 1.5});
    CHECK(vals(plain) == xt::xarray<double>{6.0, 7.0});
    CHECK(w.requires_grad());
    CHECK(w.is_leaf());
}

TEST_CASE(
    "autograd: in-place updates refuse an operand that does not broadcast to the tensor's shape, or is "
    "undefined, and change nothing",
    "[autograd][inplace]") {
    TensorD x = {{1.0, 2.0}, {3.0, 4.0}};
    const auto version = x.version();
    CHECK_THROWS_MATCHES(x.add_(TensorD{1.0, 2.0, 3.0}), tg::ShapeError, Says("add_") && Says("[3]") && Says("[2, 2]"));
    // Broadcasting that would grow the tensor is refused: the result of an in-place op keeps its shape.
    TensorD small = {1.0, 2.0};
    CHECK_THROWS_MATCHES(small.mul_(x), tg::ShapeError, Says("mul_") && Says("[2, 2]") && Says("[2]"));
    CHECK_THROWS_MATCHES(x.copy_(TensorD()), tg::ValueError, Says("copy_") && Says("undefined"));
    TensorD undefined;
    CHECK_THROWS_MATCHES(undefined.fill_(1.0), tg::ValueError, Says("fill_"));
    CHECK(vals(x) == xt::xarray<double>{{1.0, 2.0}, {3.0, 4.0}});
    CHECK(vals(small) == xt::xarray<double>{1.0, 2.0});
    CHECK(x.version() == version);
}
