// Tape semantics: accumulation, guards, graph lifetime, higher order, threads.
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include "says.hpp"

namespace tg = tapegrad;
using tg::TensorD;

namespace {

// Sum of all elements: a 0-d tensor (sum_to is part of autograd, so these tests need no op family).
TensorD total(const TensorD& x) {
    return tg::sum_to(x, tg::Shape{});
}

}  // namespace

TEST_CASE("tape: a tensor used by two ops gets the sum of both gradients", "[autograd][tape]") {
    TensorD x({1.5, -2.0, 0.5});
    x.requires_grad_();
    TensorD y = total(x * 2.0 + tg::exp(x) * 3.0);  // dy/dx = 2 + 3 e^x
    y.backward();
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(x.grad().value()(i) == Approx(2 + 3 * std::exp(x.value()(i))).epsilon(1e-12));
    }
}

TEST_CASE("tape: the same tensor on both sides of x * x", "[autograd][tape]") {
    TensorD x({3.0, -1.0});
    x.requires_grad_();
    total(x * x).backward();
    CHECK(x.grad().value()(0) == 6.0);
    CHECK(x.grad().value()(1) == -2.0);
}

TEST_CASE("tape: NoGradGuard records nothing and restores the mode", "[autograd][tape]") {
    TensorD x({1.0, 2.0}, true);
    const std::size_t before = tg::Tape::current().size();
    {
        tg::NoGradGuard guard;
        CHECK_FALSE(tg::is_grad_enabled());
        TensorD y = tg::exp(x * x) + 1.0;
        CHECK(tg::Tape::current().size() == before);
        CHECK_FALSE(y.requires_grad());
        CHECK(y.is_leaf());
    }
    CHECK(tg::is_grad_enabled());
    TensorD z = x * x;
    CHECK(tg::Tape::current().size() == before + 1);
    CHECK(z.grad_fn_name() == "mul");
}

TEST_CASE("tape: detach cuts the graph", "[autograd][tape]") {
    TensorD x({2.0, 5.0}, true);
    TensorD d = (x * 3.0).detach();
    CHECK(d.is_leaf());
    CHECK_FALSE(d.requires_grad());
    CHECK(d.value()(1) == 15.0);
    total(x * x.detach()).backward();  // d/dx (x * c) = c, not 2x
    CHECK(x.grad().value()(0) == 2.0);
    CHECK(x.grad().value()(1) == 5.0);
}

TEST_CASE("tape: retain_graph allows a second backward, which accumulates", "[autograd][tape]") {
    TensorD x({1.0, 4.0}, true);
    TensorD y = total(tg::sqrt(x));
    y.backward({}, true);
    y.backward();
    CHECK(x.grad().value()(0) == Approx(2 * 0.5 / 1.0));
    CHECK(x.grad().value()(1) == Approx(2 * 0.5 / 2.0));
}

TEST_CASE("tape: a second backward through a freed graph throws", "[autograd][tape][errors]") {
    TensorD x({1.0, 4.0}, true);
    TensorD y = total(tg::sqrt(x) * x);
    y.backward();
    CHECK_THROWS_MATCHES(y.backward(), tg::AutogradError, Says("already freed") && Says("retain_graph"));
}

TEST_CASE("tape: create_graph gives second derivatives (closed forms)", "[autograd][tape][higher-order]") {
    const double x0 = 1.3, y0 = -0.7;
    TensorD x(x0, true), y(y0, true);
    SECTION("x^3 through grad(): 3x^2, then 6x") {
        auto g = tg::grad<double>({x * x * x}, {x}, {}, std::nullopt, true);
        CHECK(g[0].item() == Approx(3 * x0 * x0).epsilon(1e-12));
        auto gg = tg::grad<double>({g[0]}, {x});
        CHECK(gg[0].item() == Approx(6 * x0).epsilon(1e-12));
    }
    SECTION("e^x log x through backward(create_graph)") {
        (tg::exp(x) * tg::log(x)).backward({}, std::nullopt, true);
        const double e = std::exp(x0);
        CHECK(x.grad().item() == Approx(e * std::log(x0) + e / x0).epsilon(1e-12));
        TensorD first = x.grad();
        x.zero_grad();
        first.backward();
        CHECK(x.grad().item() == Approx(e * std::log(x0) + 2 * e / x0 - e / (x0 * x0)).epsilon(1e-12));
    }
    SECTION("mixed partial of x y^2 is 2y") {
        auto g = tg::grad<double>({x * y * y}, {x}, {}, std::nullopt, true);
        CHECK(g[0].item() == Approx(y0 * y0));
        auto gy = tg::grad<double>({g[0]}, {y});
        CHECK(gy[0].item() == Approx(2 * y0));
    }
}

TEST_CASE("tape: a 100,000-op chain runs backward and is destroyed without recursion", "[autograd][tape]") {
    constexpr int n = 100000;
    const double c = 1.000001;
    const std::size_t before = tg::Tape::current().size();
    TensorD x(0.5, true);
    {
        TensorD y = x;
        for (int i = 0; i < n; ++i) y = y * c;
        CHECK(tg::Tape::current().size() == before + n);
        y.backward();
        CHECK(x.grad().item() == Approx(std::pow(c, n)).epsilon(1e-9));
        CHECK(tg::Tape::current().size() == before);
    }
    {  // destroyed without any backward: the last handle goes out of scope
        TensorD y = x;
        for (int i = 0; i < n; ++i) y = y + 1.0;
    }
    CHECK(tg::Tape::current().size() == before);
}

TEST_CASE("tape: grad() with allow_unused returns an undefined gradient", "[autograd][tape]") {
    TensorD x({1.0, 2.0}, true), unused({3.0}, true);
    TensorD y = total(x * x);
    auto g = tg::grad<double>({y}, {x, unused}, {}, true, false, true);
    CHECK(g[0].value()(1) == 4.0);
    CHECK_FALSE(g[1].defined());
    CHECK_FALSE(x.grad().defined());  // grad() leaves .grad() alone
    CHECK_THROWS_MATCHES(tg::grad<double>({y}, {x, unused}), tg::AutogradError,
                         Says("allow_unused") && Says("input 1"));
}

TEST_CASE("tape: retain_grad keeps a non-leaf's gradient", "[autograd][tape]") {
    TensorD x({1.0, -2.0}, true);
    TensorD h = x * 3.0;
    TensorD other = x * 2.0;
    h.retain_grad();
    total(h * h + other).backward();
    REQUIRE(h.grad().defined());
    CHECK(h.grad().value()(0) == 6.0);  // d(h^2)/dh = 2h
    CHECK(h.grad().value()(1) == -12.0);
    CHECK_FALSE(other.grad().defined());
}

TEST_CASE("tape: gradients accumulate across backwards until zero_grad", "[autograd][tape]") {
    TensorD x({2.0}, true);
    total(x * x).backward();
    total(x * x).backward();
    CHECK(x.grad().value()(0) == 8.0);
    x.zero_grad();
    CHECK_FALSE(x.grad().defined());
    total(x * 5.0).backward();
    CHECK(x.grad().value()(0) == 5.0);
}

TEST_CASE("tape: the tape is empty after backward", "[autograd][tape]") {
    const std::size_t before = tg::Tape::current().size();
    TensorD x({1.0, 2.0}, true);
    TensorD y = total(tg::exp(x) * x + x);  // exp, mul, add, sum_to
    CHECK(tg::Tape::current().size() == before + 4);
    y.backward();
    CHECK(tg::Tape::current().size() == before);
}

namespace {

// Fits w in w * x ~ t by gradient descent on (w x - t)^2; returns the final w.
double train_scalar(double x, double t, int steps, double lr) {
    TensorD w(0.0, true);
    const TensorD xs(x), ts(t);
    for (int i = 0; i < steps; ++i) {
        TensorD diff = w * xs - ts;
        (diff * diff).backward();
        w.mutable_value() -= lr * w.grad().value();
        w.zero_grad();
    }
    return w.item();
}

double train_reference(double x, double t, int steps, double lr) {
    double w = 0;
    for (int i = 0; i < steps; ++i) w -= lr * 2 * (w * x - t) * x;
    return w;
}

}  // namespace

TEST_CASE("tape: each thread records on its own tape", "[autograd][tape][threads]") {
    TensorD main_x({1.0}, true);
    TensorD pending = main_x * 2.0;  // a live op on the main thread's tape
    const std::size_t main_size = tg::Tape::current().size();
    double w1 = 0, w2 = 0;
    std::size_t tape1 = 1, tape2 = 1;
    std::thread a([&] {
        w1 = train_scalar(2.0, 3.0, 300, 0.01);
        tape1 = tg::Tape::current().size();
    });
    std::thread b([&] {
        w2 = train_scalar(-1.0, 4.0, 300, 0.02);
        tape2 = tg::Tape::current().size();
    });
    a.join();
    b.join();
    CHECK(w1 == Approx(train_reference(2.0, 3.0, 300, 0.01)).epsilon(1e-12));
    CHECK(w2 == Approx(train_reference(-1.0, 4.0, 300, 0.02)).epsilon(1e-12));
    CHECK(tape1 == 0);
    CHECK(tape2 == 0);
    CHECK(tg::Tape::current().size() == main_size);
}

TEST_CASE("tape: changing a saved input in place before backward throws", "[autograd][tape][errors]") {
    TensorD x({1.0, 2.0}, true);
    TensorD w({3.0, 4.0}, true);
    TensorD y = total(x * w);
    const auto version = w.version();
    w.mutable_value()(0) = 10.0;
    CHECK(w.version() == version + 1);
    CHECK_THROWS_MATCHES(y.backward(), tg::AutogradError, Says("mul") && Says("modified in place"));
}
