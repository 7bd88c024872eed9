// Misuse of backward/grad: each is refused with a typed exception whose message says what to do.
#include <catch2/catch.hpp>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include "says.hpp"

namespace tg = tapegrad;
using tg::TensorD;

TEST_CASE("engine: backward of a non-scalar without a seed throws", "[autograd][errors]") {
    TensorD x({1.0, 2.0, 3.0}, true);
    TensorD y = x * x;
    CHECK_THROWS_MATCHES(y.backward(), tg::AutogradError, Says("[3]") && Says("seed"));
}

TEST_CASE("engine: a seed of the wrong shape throws", "[autograd][errors]") {
    TensorD x({1.0, 2.0, 3.0}, true);
    TensorD y = x * x;
    CHECK_THROWS_MATCHES(y.backward(TensorD({1.0, 1.0})), tg::ShapeError, Says("seed") && Says("[2]") && Says("[3]"));
    y.backward(TensorD({1.0, 1.0, 1.0}));  // the right shape works, and a non-uniform seed is applied
    CHECK(x.grad().value()(2) == 6.0);
}

TEST_CASE("engine: a non-uniform seed weights the gradient", "[autograd]") {
    TensorD x({1.0, 2.0}, true);
    (x * x).backward(TensorD({10.0, -1.0}));
    CHECK(x.grad().value()(0) == 20.0);
    CHECK(x.grad().value()(1) == -4.0);
}

TEST_CASE("engine: backward on a tensor that does not require grad throws", "[autograd][errors]") {
    TensorD x({1.0, 2.0});
    TensorD y = tg::sum_to(x * x, tg::Shape{});
    CHECK_THROWS_MATCHES(y.backward(), tg::AutogradError, Says("does not require grad"));
    TensorD w({1.0}, true);
    tg::NoGradGuard guard;
    TensorD z = tg::sum_to(w * 2.0, tg::Shape{});
    CHECK_THROWS_MATCHES(z.backward(), tg::AutogradError, Says("NoGradGuard"));
}

TEST_CASE("engine: requires_grad_ on a non-leaf throws", "[autograd][errors]") {
    TensorD x({1.0}, true);
    TensorD y = tg::exp(x);
    CHECK_FALSE(y.is_leaf());
    CHECK_THROWS_MATCHES(y.requires_grad_(false), tg::AutogradError, Says("exp") && Says("detach"));
    TensorD leaf({1.0});
    leaf.requires_grad_();
    CHECK(leaf.requires_grad());
    leaf.requires_grad_(false);
    CHECK_FALSE(leaf.requires_grad());
}

TEST_CASE("engine: grad() of an input that does not require grad throws", "[autograd][errors]") {
    TensorD x({1.0}, true), c({2.0});
    TensorD y = tg::sum_to(x * c, tg::Shape{});
    CHECK_THROWS_MATCHES(tg::grad<double>({y}, {c}), tg::AutogradError, Says("input 0"));
}

TEST_CASE("engine: an undefined tensor is refused with a clear message", "[autograd][errors]") {
    TensorD undefined;
    CHECK_FALSE(undefined.defined());
    CHECK_THROWS_MATCHES(undefined.shape(), tg::ValueError, Says("undefined"));
    CHECK_THROWS_MATCHES(tg::exp(undefined), tg::ValueError, Says("exp") && Says("undefined"));
    CHECK(undefined.to_string() == "Tensor(undefined)");
}
