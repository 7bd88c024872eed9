// grad() computes only what leads to the tensors it is asked for (torch.autograd.grad's exec_info):
// ops on no path to a requested input do not run, and a rule is asked (needs()) only for the
// inputs that lead to one. Three counting ops make y = sum(f(g(x), h(w))) = sum(x^2 e^w), whose
// gradients have closed forms: dy/dx = 2 x e^w, dy/dw = x^2 e^w, d/dx sum(dy/dx) = 2 e^w.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/extension.hpp>
#include <tapegrad/ops/reduce.hpp>
#include "says.hpp"

namespace tg = tapegrad;
using tg::TensorD;
using Array = xt::xarray<double>;

namespace {

// What each counting op's rule was asked: how often it ran, and for which inputs needs() held
// (one entry per run, '1' for an input asked for, '0' for one skipped).
std::map<std::string, std::vector<std::string>>& calls() {
    static std::map<std::string, std::vector<std::string>> log;
    return log;
}

void note(const char* op, const tg::Backward<double>& ctx, std::size_t inputs) {
    std::string asked;
    for (std::size_t i = 0; i < inputs; ++i) asked += ctx.needs(i) ? '1' : '0';
    calls()[op].push_back(asked);
}

std::size_t runs(const char* op) {
    return calls()[op].size();
}

// g(x) = x^2, its rule written in tapegrad ops so that create_graph differentiates it.
TensorD g(const TensorD& x) {
    return tg::record<double>("g", {x}, Array(x.value() * x.value()), [](const tg::Backward<double>& ctx) {
        note("g", ctx, 1);
        return tg::Grads<double>{ctx.needs(0) ? ctx.grad() * ctx.input(0) * 2.0 : TensorD{}};
    });
}

// h(w) = e^w.
TensorD h(const TensorD& w) {
    return tg::record<double>("h", {w}, Array(xt::exp(w.value())), [](const tg::Backward<double>& ctx) {
        note("h", ctx, 1);
        return tg::Grads<double>{ctx.needs(0) ? ctx.grad() * ctx.output() : TensorD{}};
    });
}

// f(a, b) = a b.
TensorD f(const TensorD& a, const TensorD& b) {
    return tg::record<double>("f", {a, b}, Array(a.value() * b.value()), [](const tg::Backward<double>& ctx) {
        note("f", ctx, 2);
        return tg::Grads<double>{ctx.needs(0) ? ctx.grad() * ctx.input(1) : TensorD{},
                                 ctx.needs(1) ? ctx.grad() * ctx.input(0) : TensorD{}};
    });
}

// d f / d x by central differences in float64.
Array numeric_grad(const std::function<double(const Array&)>& fn, Array x, double eps = 1e-6) {
    Array out = xt::zeros_like(x);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double saved = x.data()[i];
        x.data()[i] = saved + eps;
        const double up = fn(x);
        x.data()[i] = saved - eps;
        const double down = fn(x);
        x.data()[i] = saved;
        out.data()[i] = (up - down) / (2 * eps);
    }
    return out;
}

struct Fixture {
    Array xv{0.5, -1.25, 2.0};
    Array wv{0.3, -0.7, 1.1};
    TensorD x{xv, true};
    TensorD w{wv, true};
    Fixture() { calls().clear(); }
    TensorD y() { return tg::sum(f(g(x), h(w))); }
};

}  // namespace

TEST_CASE("grad prune: an op leading to no requested input does not run, f is asked for its first input only",
          "[autograd][prune]") {
    Fixture fx;
    const auto gx = tg::grad<double>({fx.y()}, {fx.x});
    CHECK(runs("h") == 0);
    CHECK(calls()["f"] == std::vector<std::string>{"10"});
    CHECK(calls()["g"] == std::vector<std::string>{"1"});
    const Array closed = 2.0 * fx.xv * xt::exp(fx.wv);
    CHECK(xt::allclose(gx[0].value(), closed, 1e-12, 1e-14));
    const Array numeric = numeric_grad([&](const Array& xv) { return xt::sum(xv * xv * xt::exp(fx.wv))(); }, fx.xv);
    CHECK(xt::allclose(gx[0].value(), numeric, 1e-7, 1e-9));

    // Asking for both runs every rule, for every input, and gives x the same gradient.
    calls().clear();
    const auto both = tg::grad<double>({fx.y()}, {fx.x, fx.w});
    CHECK(calls()["f"] == std::vector<std::string>{"11"});
    CHECK(runs("h") == 1);
    CHECK(runs("g") == 1);
    CHECK(xt::allclose(both[0].value(), gx[0].value(), 0.0, 0.0));
    CHECK(xt::allclose(both[1].value(), fx.xv * fx.xv * xt::exp(fx.wv), 1e-12, 1e-14));

    // Only w: g does not run, f is asked for its second input.
    calls().clear();
    const auto gw = tg::grad<double>({fx.y()}, {fx.w});
    CHECK(runs("g") == 0);
    CHECK(calls()["f"] == std::vector<std::string>{"01"});
    CHECK(xt::allclose(gw[0].value(), both[1].value(), 0.0, 0.0));
}

TEST_CASE("grad prune: backward() still runs every rule and fills every leaf", "[autograd][prune]") {
    Fixture fx;
    fx.y().backward();
    CHECK(calls()["f"] == std::vector<std::string>{"11"});
    CHECK(runs("g") == 1);
    CHECK(runs("h") == 1);
    CHECK(xt::allclose(fx.x.grad().value(), 2.0 * fx.xv * xt::exp(fx.wv), 1e-12, 1e-14));
    CHECK(xt::allclose(fx.w.grad().value(), fx.xv * fx.xv * xt::exp(fx.wv), 1e-12, 1e-14));
}

TEST_CASE("grad prune: hooks on tensors the pruned walk does not reach do not fire, under backward() they do",
          "[autograd][prune]") {
    Fixture fx;
    int on_w = 0, on_hw = 0, post_w = 0, on_x = 0;
    fx.w.register_hook([&](const TensorD&) {
        ++on_w;
        return TensorD{};
    });
    fx.w.register_post_accumulate_grad_hook([&](TensorD&) { ++post_w; });
    fx.x.register_hook([&](const TensorD&) {
        ++on_x;
        return TensorD{};
    });
    auto build = [&] {
        TensorD hw = h(fx.w);
        hw.register_hook([&](const TensorD&) {
            ++on_hw;
            return TensorD{};
        });
        return tg::sum(f(g(fx.x), hw));
    };
    const auto gx = tg::grad<double>({build()}, {fx.x});
    CHECK(on_x == 1);
    CHECK(on_w == 0);
    CHECK(on_hw == 0);
    CHECK(post_w == 0);
    CHECK(runs("h") == 0);
    CHECK(xt::allclose(gx[0].value(), 2.0 * fx.xv * xt::exp(fx.wv), 1e-12, 1e-14));

    build().backward();
    CHECK(on_x == 2);
    CHECK(on_w == 1);
    CHECK(on_hw == 1);
    CHECK(post_w == 1);
}

TEST_CASE("grad prune: create_graph results of a pruned pass still differentiate", "[autograd][prune]") {
    Fixture fx;
    const auto gx = tg::grad<double>({fx.y()}, {fx.x}, {}, true, true);
    CHECK(runs("h") == 0);
    REQUIRE(gx[0].requires_grad());
    // d/dx sum(2 x e^w) = 2 e^w; d/dw sum(2 x e^w) = 2 x e^w: the recorded graph reaches w through h.
    const auto second = tg::grad<double>({tg::sum(gx[0])}, {fx.x, fx.w});
    CHECK(xt::allclose(second[0].value(), 2.0 * xt::exp(fx.wv), 1e-12, 1e-14));
    CHECK(xt::allclose(second[1].value(), 2.0 * fx.xv * xt::exp(fx.wv), 1e-12, 1e-14));

    // Against finite differences: the pruned first derivative as a function of x, and
    // gradgradcheck of y with respect to x alone while w (captured) requires grad.
    const tg::CheckedFunction<double> dydx = [&](const std::vector<TensorD>& in) {
        tg::GradModeGuard on(true);  // gradcheck evaluates f for its differences with grad mode off
        return tg::grad<double>({tg::sum(f(g(in[0]), h(fx.w)))}, {in[0]}, {}, true, true)[0];
    };
    CHECK(tg::gradcheck<double>(dydx, {fx.x}));
    const tg::CheckedFunction<double> y_of_x = [&](const std::vector<TensorD>& in) { return f(g(in[0]), h(fx.w)); };
    calls().clear();
    CHECK(tg::gradgradcheck<double>(y_of_x, {fx.x}));
    CHECK(runs("h") == 0);
}

TEST_CASE("grad prune: allow_unused gives undefined for an input the outputs do not use", "[autograd][prune]") {
    Fixture fx;
    TensorD v(Array{1.0, 2.0}, true);
    const auto got = tg::grad<double>({fx.y()}, {fx.x, v}, {}, std::nullopt, false, true);
    CHECK(runs("h") == 0);
    CHECK(got[0].defined());
    CHECK_FALSE(got[1].defined());
    CHECK_THROWS_MATCHES(tg::grad<double>({fx.y()}, {fx.x, v}), tg::AutogradError,
                         Says("input 1") && Says("allow_unused"));
    // An output that leads to no requested input is not walked, and adds nothing.
    calls().clear();
    const auto two = tg::grad<double>({fx.y(), tg::sum(h(fx.w))}, {fx.x});
    CHECK(runs("h") == 0);
    CHECK(xt::allclose(two[0].value(), got[0].value(), 0.0, 0.0));
}

TEST_CASE("grad prune: a requested non-leaf gets its gradient without running its own rule", "[autograd][prune]") {
    Fixture fx;
    TensorD z = g(fx.x);
    const auto gz = tg::grad<double>({tg::sum(f(z, h(fx.w)))}, {z});
    CHECK(runs("g") == 0);
    CHECK(runs("h") == 0);
    CHECK(calls()["f"] == std::vector<std::string>{"10"});
    CHECK(xt::allclose(gz[0].value(), xt::exp(fx.wv), 1e-12, 1e-14));
    // g did not run, so it kept what it saved: z can still be differentiated (d sum(x^2)/dx = 2 x).
    tg::sum(z).backward();
    CHECK(xt::allclose(fx.x.grad().value(), 2.0 * fx.xv, 1e-12, 1e-14));

    // z and x together: g runs once, after z's gradient is captured.
    calls().clear();
    TensorD z2 = g(fx.x);
    const auto both = tg::grad<double>({tg::sum(f(z2, h(fx.w)))}, {z2, fx.x});
    CHECK(runs("g") == 1);
    CHECK(runs("h") == 0);
    CHECK(xt::allclose(both[0].value(), xt::exp(fx.wv), 1e-12, 1e-14));
    CHECK(xt::allclose(both[1].value(), 2.0 * fx.xv * xt::exp(fx.wv), 1e-12, 1e-14));
}

TEST_CASE("grad prune: anomaly mode gives the same pruned pass", "[autograd][prune]") {
    Fixture fx;
    tg::DetectAnomalyGuard anomaly;
    const auto gx = tg::grad<double>({fx.y()}, {fx.x});
    CHECK(runs("h") == 0);
    CHECK(calls()["f"] == std::vector<std::string>{"10"});
    CHECK(xt::allclose(gx[0].value(), 2.0 * fx.xv * xt::exp(fx.wv), 1e-12, 1e-14));
}

TEST_CASE("grad prune: the same tensor requested twice gets its gradient in both slots", "[autograd][prune]") {
    Fixture fx;
    const auto got = tg::grad<double>({fx.y()}, {fx.x, fx.w, fx.x});
    CHECK(runs("g") == 1);  // computed once
    const Array closed = 2.0 * fx.xv * xt::exp(fx.wv);
    CHECK(xt::allclose(got[0].value(), closed, 1e-12, 1e-14));
    REQUIRE(got[2].defined());
    CHECK(xt::allclose(got[2].value(), closed, 1e-12, 1e-14));
    CHECK(xt::allclose(got[1].value(), fx.xv * fx.xv * xt::exp(fx.wv), 1e-12, 1e-14));

    // A requested non-leaf twice, and under create_graph.
    TensorD z = g(fx.x);
    const auto gz = tg::grad<double>({tg::sum(f(z, h(fx.w)))}, {z, z}, {}, true, true);
    REQUIRE(gz[1].defined());
    CHECK(xt::allclose(gz[0].value(), xt::exp(fx.wv), 1e-12, 1e-14));
    CHECK(xt::allclose(gz[1].value(), xt::exp(fx.wv), 1e-12, 1e-14));
}

TEST_CASE("grad prune: an output that lies below another output is marked before it", "[autograd][prune]") {
    // Outputs q = x^2 and sum(q e^w): d/dx <1, q> + sum(q e^w) = 2 x (1 + e^w).
    Fixture fx;
    TensorD q = g(fx.x);
    const auto got = tg::grad<double>({q, tg::sum(f(q, h(fx.w)))}, {fx.x}, {tg::ones_like(q), TensorD{}});
    CHECK(calls()["f"] == std::vector<std::string>{"10"});
    CHECK(xt::allclose(got[0].value(), 2.0 * fx.xv * (1.0 + xt::exp(fx.wv)), 1e-12, 1e-14));
}
