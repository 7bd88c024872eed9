// Gradient checkpointing as a careless user drives it: inputs changed in place, fn throwing or
// changing its mind, activations captured instead of passed; and the engine's walk while a rule
// prunes the tape.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/ops.hpp>
#include "says.hpp"

namespace tg = tapegrad;
using tg::TensorD;

TEST_CASE("checkpoint: an input changed in place after the forward is refused as without checkpointing",
          "[autograd][checkpoint][errors]") {
    for (bool checkpointed : {false, true}) {
        INFO("checkpointed: " << checkpointed);
        TensorD x({1.0, 2.0}, true);
        TensorD w({0.5, 3.0}, true);
        auto fn = [&w](const TensorD& z) { return tg::exp(z) * w; };
        const TensorD h = x * 2.0;
        const TensorD loss = tg::sum(checkpointed ? tg::checkpoint<double>(fn, h) : fn(h));
        {
            tg::NoGradGuard update;  // as an optimiser would, or a careless in-place edit
            TensorD(h).mutable_value()(0) = 5.0;
        }
        CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError, Says("modified in place"));
        CHECK_FALSE(x.grad().defined());
        CHECK_FALSE(w.grad().defined());
    }
}

TEST_CASE("checkpoint: a parameter stepped between the forward and the backward is refused",
          "[autograd][checkpoint][errors]") {
    TensorD x({1.0, 2.0}, true);
    TensorD w({0.5, 3.0}, true);
    const TensorD loss = tg::sum(tg::checkpoint<double>([&w](const TensorD& z) { return tg::exp(z) * w; }, x));
    {
        tg::NoGradGuard step;
        w.mutable_value() -= 0.1;
    }
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError, Says("'checkpoint'") && Says("modified in place"));
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("checkpoint: fn throwing in the recomputation leaves no gradient and the graph reusable",
          "[autograd][checkpoint][errors]") {
    TensorD x({0.5, -1.5}, true);
    TensorD w({2.0, 3.0}, true);
    tg::Generator gen(8);
    bool fail = false;
    auto fn = [&](const TensorD& z) {
        TensorD y = tg::dropout(z * w, 0.3, true, gen);
        if (fail) throw std::runtime_error("fn: refused");
        return tg::tanh(y);
    };
    const TensorD loss = tg::sum(tg::exp(x) + tg::checkpoint<double>(fn, x));
    const std::string state = gen.state();
    fail = true;
    CHECK_THROWS_MATCHES(loss.backward(), std::runtime_error, Says("fn: refused"));
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(w.grad().defined());
    CHECK(gen.state() == state);  // the rewound generator was put back

    fail = false;
    loss.backward();  // nothing was freed by the failed pass
    TensorD x2({0.5, -1.5}, true);
    TensorD w2({2.0, 3.0}, true);
    tg::Generator gen2(8);
    tg::sum(tg::exp(x2) + tg::tanh(tg::dropout(x2 * w2, 0.3, true, gen2))).backward();
    CHECK(x.grad().value() == x2.grad().value());
    CHECK(w.grad().value() == w2.grad().value());
    CHECK(gen.state() == gen2.state());
}

TEST_CASE("checkpoint: a recomputation with other outputs is refused", "[autograd][checkpoint][errors]") {
    TensorD x({1.0, 2.0, 3.0}, true);
    int calls = 0;
    auto fn = [&calls](const std::vector<TensorD>& in) {
        // Not deterministic: the second call returns a shorter piece.
        return std::vector<TensorD>{tg::narrow(in[0], 0, 0, ++calls == 1 ? 3 : 2)};
    };
    const TensorD loss = tg::sum(tg::checkpoint<double>(fn, {x})[0]);
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError, Says("recomputing") && Says("[2]") && Says("[3]"));
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("checkpoint: argument errors", "[autograd][checkpoint][errors]") {
    TensorD x({1.0, 2.0}, true);
    CHECK_THROWS_MATCHES(tg::checkpoint<double>([](const TensorD& z) { return z; }, TensorD()), tg::ValueError,
                         Says("checkpoint: input 0 is undefined"));
    auto nothing = [](const std::vector<TensorD>&) { return std::vector<TensorD>{}; };
    CHECK_THROWS_MATCHES(tg::checkpoint<double>(nothing, {x}), tg::ValueError, Says("returned no tensor"));
    auto undefined = [](const std::vector<TensorD>& in) { return std::vector<TensorD>{in[0] * 2.0, TensorD()}; };
    CHECK_THROWS_MATCHES(tg::checkpoint<double>(undefined, {x}), tg::ValueError, Says("output 1 is undefined"));
    CHECK_THROWS_MATCHES(tg::checkpoint<double>(tg::SegmentFn<double>(), {x}), tg::ValueError, Says("fn is empty"));
    CHECK_FALSE(x.grad().defined());
}

TEST_CASE("checkpoint: the outer walk keeps its place when the segment's backward prunes the tape",
          "[autograd][checkpoint][engine]") {
    TensorD x({0.5, 1.0, 1.5}, true);
    const TensorD a = tg::exp(x);
    // Ops whose outputs die at once leave expired entries between a and the checkpoint op; the inner
    // backward pass prunes them, moving every later entry while the outer walk stands there.
    for (int i = 0; i < 500; ++i) (void)(x * 3.0);
    const TensorD loss = tg::sum(tg::checkpoint<double>([](const TensorD& z) { return tg::sin(z); }, a) * a);
    loss.backward();
    for (std::size_t i = 0; i < 3; ++i) {
        // loss = sum(sin(e^x) e^x): d/dx = e^x (cos(e^x) e^x + sin(e^x))
        const double e = std::exp(x.value()(i));
        CHECK(x.grad().value()(i) == Approx(e * (std::cos(e) * e + std::sin(e))).epsilon(1e-14));
    }
}

TEST_CASE("checkpoint: an activation captured instead of passed gets its gradient, to second order",
          "[autograd][checkpoint]") {
    TensorD x({0.5, -1.0}, true);
    TensorD y({2.0, 0.25}, true);
    const TensorD h = tg::exp(x);  // made before the segment, used inside it by capture
    tg::sum(tg::checkpoint<double>([h](const TensorD& z) { return tg::sin(z * h); }, y)).backward();
    CHECK(h.grad_fn_name() == "exp");  // its history was given back after the backward
    for (std::size_t i = 0; i < 2; ++i) {
        // sum(sin(y e^x)): d/dy = cos(y e^x) e^x, d/dx = cos(y e^x) y e^x
        const double e = std::exp(x.value()(i)), yi = y.value()(i);
        CHECK(y.grad().value()(i) == Approx(std::cos(yi * e) * e).epsilon(1e-14));
        CHECK(x.grad().value()(i) == Approx(std::cos(yi * e) * yi * e).epsilon(1e-14));
    }
    auto f = [](const std::vector<TensorD>& in) {
        const TensorD h = tg::exp(in[0]);
        return tg::checkpoint<double>([h](const TensorD& z) { return tg::sin(z * h) * z; }, in[1]);
    };
    CHECK(tg::gradcheck<double>(f, {x, y}).ok);
    CHECK(tg::gradgradcheck<double>(f, {x, y}).ok);
}
