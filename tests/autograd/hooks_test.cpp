// Tensor hooks: register_hook on leaves and non-leaves, post-accumulate hooks, HookHandle. The
// references are closed forms and float64 central differences, never the engine's own backward.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <xtensor/xmath.hpp>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/activation.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include <tapegrad/ops/matmul.hpp>
#include <tapegrad/ops/reduce.hpp>
#include "says.hpp"

namespace tg = tapegrad;
using tg::TensorD;
using Array = xt::xarray<double>;

namespace {

// d f / d x by central differences in float64, f evaluated without recording.
Array numeric_grad(const std::function<double(const Array&)>& f, Array x, double eps = 1e-6) {
    Array out = xt::zeros_like(x);
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double saved = x.data()[i];
        x.data()[i] = saved + eps;
        const double up = f(x);
        x.data()[i] = saved - eps;
        const double down = f(x);
        x.data()[i] = saved;
        out.data()[i] = (up - down) / (2 * eps);
    }
    return out;
}

bool close(const Array& a, const Array& b, double tol = 1e-8) {
    return a.shape() == b.shape() && xt::allclose(a, b, tol, tol);
}

TensorD leaf(Array v) {
    return TensorD(std::move(v), /*requires_grad=*/true);
}

}  // namespace

TEST_CASE("hooks: a non-leaf's hook sees the sum of all its contributions, once", "[autograd][hooks]") {
    TensorD x = leaf({1.0, -2.0, 0.5});
    TensorD y = x * x;
    int calls = 0;
    Array seen;
    y.register_hook([&](const TensorD& g) {
        ++calls;
        seen = g.value();
        return TensorD();
    });
    // L = sum(3 y) + sum(y^2): dL/dy = 3 + 2y, dL/dx = (3 + 2 x^2) 2x
    tg::add(tg::sum(y * 3.0), tg::sum(y * y)).backward();
    const Array xv = x.value();
    CHECK(calls == 1);
    CHECK(close(seen, 3.0 + 2.0 * xv * xv));
    CHECK(close(x.grad().value(), (3.0 + 2.0 * xv * xv) * 2.0 * xv));
}

TEST_CASE("hooks: a replaced gradient flows on: doubling at y doubles finite differences", "[autograd][hooks]") {
    const Array x0 = {0.3, -1.2, 2.0};
    TensorD x = leaf(x0);
    TensorD y = tg::tanh(x);
    y.register_hook([](const TensorD& g) { return g * 2.0; });
    tg::sum(y * y).backward();
    auto f = [](const Array& v) { return double(xt::sum(xt::tanh(v) * xt::tanh(v))()); };
    CHECK(close(x.grad().value(), 2.0 * numeric_grad(f, x0), 1e-6));
}

TEST_CASE("hooks: several hooks run in registration order, each on the previous result", "[autograd][hooks]") {
    TensorD x = leaf({1.0, 2.0});
    TensorD y = x * 3.0;
    std::vector<std::string> order;
    Array second_saw;
    y.register_hook([&](const TensorD& g) {
        order.push_back("double");
        return g * 2.0;
    });
    y.register_hook([&](const TensorD& g) {
        order.push_back("keep");
        second_saw = g.value();
        return TensorD();  // undefined: the gradient stays as it is
    });
    y.register_hook([&](const TensorD& g) {
        order.push_back("plus one");
        return g + 1.0;
    });
    tg::sum(y).backward();
    CHECK(order == std::vector<std::string>{"double", "keep", "plus one"});
    CHECK(close(second_saw, Array{2.0, 2.0}));
    CHECK(close(x.grad().value(), Array{9.0, 9.0}));  // (2 * 1 + 1) * 3
}

TEST_CASE("hooks: a leaf's hook sees its summed gradient before .grad() changes", "[autograd][hooks]") {
    TensorD x = leaf({2.0, -1.0});
    x.mutable_grad() = TensorD(Array{10.0, 10.0});  // an earlier gradient
    int calls = 0;
    x.register_hook([&](const TensorD& g) {
        ++calls;
        CHECK(close(g.value(), Array{7.0, 1.0}));           // 2x + 3, both uses summed
        CHECK(close(x.grad().value(), Array{10.0, 10.0}));  // not yet accumulated
        return g * 0.5;
    });
    tg::add(tg::sum(x * x), tg::sum(x * 3.0)).backward();
    CHECK(calls == 1);
    CHECK(close(x.grad().value(), Array{13.5, 10.5}));
}

TEST_CASE("hooks: registration errors name what is wrong", "[autograd][hooks][errors]") {
    TensorD constant({1.0, 2.0});
    CHECK_THROWS_MATCHES(constant.register_hook([](const TensorD& g) { return g; }), tg::AutogradError,
                         Says("register_hook") && Says("does not require grad"));
    CHECK_THROWS_MATCHES(TensorD().register_hook([](const TensorD& g) { return g; }), tg::ValueError,
                         Says("undefined"));
    TensorD x = leaf({1.0});
    CHECK_THROWS_MATCHES(x.register_hook({}), tg::ValueError, Says("empty"));
    TensorD y = tg::exp(x);
    CHECK_THROWS_MATCHES(y.register_post_accumulate_grad_hook([](TensorD&) {}), tg::AutogradError,
                         Says("exp") && Says("only leaves"));
    CHECK_THROWS_MATCHES(constant.register_post_accumulate_grad_hook([](TensorD&) {}), tg::AutogradError,
                         Says("does not require grad"));
}

TEST_CASE("hooks: a hook returning the wrong shape throws ShapeError and changes no .grad()", "[autograd][hooks]") {
    TensorD x = leaf({1.0, 2.0});
    TensorD w = leaf({3.0, 4.0});
    x.mutable_grad() = TensorD(Array{5.0, 6.0});
    TensorD y = x * w;
    y.register_hook([](const TensorD&) { return TensorD(Array{1.0, 2.0, 3.0}); });
    CHECK_THROWS_MATCHES(tg::sum(y).backward(), tg::ShapeError,
                         Says("hook 1 of 1") && Says("'mul'") && Says("[3]") && Says("[2]"));
    CHECK(close(x.grad().value(), Array{5.0, 6.0}));
    CHECK_FALSE(w.grad().defined());
}

TEST_CASE("hooks: a throwing hook leaves every .grad() as before, and the graph usable", "[autograd][hooks]") {
    TensorD x = leaf({1.0, 2.0});
    TensorD w = leaf({-1.0, 0.5});
    w.mutable_grad() = TensorD(Array{1.0, 1.0});
    TensorD h = x * w;
    TensorD y = h * h;
    auto handle = h.register_hook([](const TensorD&) -> TensorD { throw std::runtime_error("hook failed"); });
    TensorD loss = tg::sum(y);
    CHECK_THROWS_MATCHES(loss.backward(), std::runtime_error, Says("hook failed"));
    CHECK_FALSE(x.grad().defined());
    CHECK(close(w.grad().value(), Array{1.0, 1.0}));
    // Nothing was freed by the failed pass: without the hook the same graph runs, d/dx = 2 h w.
    handle.remove();
    loss.backward();
    CHECK(close(x.grad().value(), Array{2.0 * -1.0 * -1.0, 2.0 * 1.0 * 0.5}));
}

TEST_CASE("hooks: HookHandle removes once, outlives the tensor, and does not remove when dropped",
          "[autograd][hooks]") {
    TensorD x = leaf({1.0});
    int calls = 0;
    auto counting = [&](const TensorD&) {
        ++calls;
        return TensorD();
    };
    tg::HookHandle handle = x.register_hook(counting);
    x.register_hook(counting);  // handle dropped: stays registered, as PyTorch's RemovableHandle
    tg::sum(x * 2.0).backward();
    CHECK(calls == 2);
    handle.remove();
    handle.remove();  // idempotent
    tg::sum(x * 2.0).backward();
    CHECK(calls == 3);
    tg::HookHandle().remove();  // a default handle removes nothing

    tg::HookHandle orphan;
    {
        TensorD gone = leaf({1.0});
        orphan = gone.register_hook(counting);
    }
    orphan.remove();  // the tensor and its hooks are gone: a no-op, no dangling pointer
}

TEST_CASE("hooks: a hook may remove itself while it runs", "[autograd][hooks]") {
    TensorD x = leaf({1.0, 2.0});
    TensorD y = x * 2.0;
    int calls = 0;
    tg::HookHandle self;
    self = y.register_hook([&](const TensorD& g) {
        ++calls;
        self.remove();
        return g * 10.0;
    });
    TensorD loss = tg::sum(y);
    loss.backward({}, /*retain_graph=*/true);
    CHECK(close(x.grad().value(), Array{20.0, 20.0}));
    loss.backward();
    CHECK(calls == 1);
    CHECK(close(x.grad().value(), Array{22.0, 22.0}));
}

TEST_CASE("hooks: grad() applies hooks of its inputs and of non-leaves, accumulates nothing", "[autograd][hooks]") {
    TensorD x = leaf({1.0, 3.0});
    TensorD y = x * x;
    int post_calls = 0;
    auto post = x.register_post_accumulate_grad_hook([&](TensorD&) { ++post_calls; });
    x.register_hook([](const TensorD& g) { return g * 3.0; });
    y.register_hook([](const TensorD& g) { return g + 1.0; });
    // L = sum(y): dL/dy = 1 -> 2 after y's hook; dL/dx = 2 * 2x -> times 3 after x's hook.
    auto grads = tg::grad<double>({tg::sum(y)}, {x, y}, {}, /*retain_graph=*/true);
    CHECK(close(grads[0].value(), Array{12.0, 36.0}));
    CHECK(close(grads[1].value(), Array{2.0, 2.0}));
    CHECK(post_calls == 0);  // grad() accumulates nothing, so no post-accumulate hook runs (as PyTorch)
    CHECK_FALSE(x.grad().defined());
    post.remove();
}

TEST_CASE("hooks: under create_graph the hook's gradient is differentiable", "[autograd][hooks]") {
    const Array x0 = {0.5, -1.5};
    TensorD x = leaf(x0);
    TensorD y = x * x;
    bool differentiable = false;
    auto handle = y.register_hook([&](const TensorD& g) {
        differentiable = g.requires_grad();  // g = 2y, recorded
        return g * 3.0;
    });
    // L = sum(y^2); with the hook dL/dx = 3 * 2y * 2x = 12 x^3, and d/dx sum(12 x^3) = 36 x^2.
    auto first = tg::grad<double>({tg::sum(y * y)}, {x}, {}, std::nullopt, /*create_graph=*/true);
    CHECK(differentiable);
    CHECK(close(first[0].value(), 12.0 * x0 * x0 * x0));
    // The second pass goes through y's op again, where the hook would triple again (as in PyTorch).
    handle.remove();
    auto second = tg::grad<double>({tg::sum(first[0])}, {x});
    auto f = [](const Array& v) { return double(xt::sum(12.0 * v * v * v)()); };
    CHECK(close(second[0].value(), 36.0 * x0 * x0));
    CHECK(close(second[0].value(), numeric_grad(f, x0), 1e-5));
}

TEST_CASE("hooks: a hook that starts a backward is refused", "[autograd][hooks][errors]") {
    TensorD x = leaf({1.0});
    TensorD other = leaf({2.0});
    TensorD y = x * 2.0;
    TensorD elsewhere = tg::sum(other * other);
    SECTION("backward") {
        y.register_hook([&](const TensorD&) {
            elsewhere.backward();
            return TensorD();
        });
        CHECK_THROWS_MATCHES(tg::sum(y).backward(), tg::AutogradError,
                             Says("backward") && Says("inside a hook") && Says("reentrant"));
    }
    SECTION("grad") {
        y.register_hook([&](const TensorD&) {
            tg::grad<double>({elsewhere}, {other});
            return TensorD();
        });
        CHECK_THROWS_MATCHES(tg::sum(y).backward(), tg::AutogradError, Says("grad") && Says("inside a hook"));
    }
    CHECK_FALSE(x.grad().defined());
    CHECK_FALSE(other.grad().defined());
}

// y_k = tanh(y_{k-1} W_k) for k = 1..3, loss = sum(y_3 c): a three-layer net written with ops.
struct ThreeLayers {
    TensorD x = TensorD(Array{{0.5, -1.0}, {1.5, 0.25}});
    std::vector<TensorD> w{leaf(Array{{0.3, -0.2}, {0.1, 0.4}}), leaf(Array{{-0.5, 0.2}, {0.7, 0.1}}),
                           leaf(Array{{0.2, 0.6}, {-0.3, 0.4}})};
    TensorD c = TensorD(Array{{1.0, -2.0}, {0.5, 3.0}});
    std::vector<TensorD> h;  // the layers' outputs

    TensorD loss() {
        h.clear();
        TensorD a = x;
        for (const auto& wk : w) h.push_back(a = tg::tanh(tg::matmul(a, wk)));
        return tg::sum(a * c);
    }
    // The same loss on plain arrays, W_k replaced by `wk` for one k, for finite differences.
    double value(std::size_t k, const Array& wk) const {
        Array a = x.value();
        for (std::size_t i = 0; i < w.size(); ++i) {
            const Array& m = i == k ? wk : w[i].value();
            Array next = xt::zeros<double>({a.shape()[0], m.shape()[1]});
            for (std::size_t r = 0; r < a.shape()[0]; ++r)
                for (std::size_t j = 0; j < m.shape()[1]; ++j)
                    for (std::size_t q = 0; q < m.shape()[0]; ++q) next(r, j) += a(r, q) * m(q, j);
            a = xt::tanh(next);
        }
        return xt::sum(a * c.value())();
    }
    Array numeric(std::size_t k) const {
        return numeric_grad([&](const Array& wk) { return value(k, wk); }, w[k].value());
    }
};

TEST_CASE("hooks: post-accumulate hooks run during the walk, last layer first, with the final .grad()",
          "[autograd][hooks][post]") {
    ThreeLayers net;
    std::vector<std::string> order;
    std::vector<tg::HookHandle> handles;
    std::vector<Array> seen(3);
    for (std::size_t k = 0; k < 3; ++k) {
        handles.push_back(net.w[k].register_post_accumulate_grad_hook([&, k](TensorD& leaf) {
            order.push_back("W" + std::to_string(k + 1));
            seen[k] = leaf.grad().value();
            if (k == 2) CHECK_FALSE(net.w[0].grad().defined());  // the first layer's is not written yet
        }));
    }
    TensorD loss = net.loss();
    for (std::size_t k = 0; k < 2; ++k) {
        net.h[k].register_hook([&, k](const TensorD&) {
            order.push_back("h" + std::to_string(k + 1));
            return TensorD();
        });
    }
    loss.backward();
    // The walk: W3's op, then h2's tanh, W2's op, h1's tanh, W1's op. Each post hook interleaves.
    CHECK(order == std::vector<std::string>{"W3", "h2", "W2", "h1", "W1"});
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK(close(seen[k], net.numeric(k), 1e-6));
        CHECK(close(net.w[k].grad().value(), seen[k]));
    }
    for (auto& handle : handles) handle.remove();
}

TEST_CASE("hooks: a post hook runs once for a leaf used several times, after the last use", "[autograd][hooks][post]") {
    TensorD w = leaf({2.0});
    int calls = 0;
    double seen = 0;
    auto handle = w.register_post_accumulate_grad_hook([&](TensorD& leaf) {
        ++calls;
        seen = leaf.grad().item();
    });
    tg::sum(w * w * w).backward();  // three edges into w: d/dw w^3 = 3 w^2
    CHECK(calls == 1);
    CHECK(seen == Approx(12.0));
    handle.remove();
}

TEST_CASE("hooks: a throwing post hook or a later throwing hook restores every .grad()", "[autograd][hooks][post]") {
    ThreeLayers net;
    for (auto& wk : net.w) wk.mutable_grad() = TensorD(Array{{1.0, 2.0}, {3.0, 4.0}});  // earlier gradients
    auto unchanged = [&] {
        for (const auto& wk : net.w) {
            if (!close(wk.grad().value(), Array{{1.0, 2.0}, {3.0, 4.0}})) return false;
        }
        return true;
    };
    SECTION("the first layer's post hook throws after the others ran") {
        int ran = 0;
        auto a = net.w[2].register_post_accumulate_grad_hook([&](TensorD&) { ++ran; });
        auto b = net.w[0].register_post_accumulate_grad_hook([](TensorD&) { throw std::runtime_error("allreduce"); });
        CHECK_THROWS_MATCHES(net.loss().backward(), std::runtime_error, Says("allreduce"));
        CHECK(ran == 1);  // W3's .grad() was written and its hook ran: it is put back
        CHECK(unchanged());
        a.remove();
        b.remove();
    }
    SECTION("a tensor hook throws after the last layer's post hook ran") {
        int ran = 0;
        auto a = net.w[2].register_post_accumulate_grad_hook([&](TensorD&) { ++ran; });
        TensorD loss = net.loss();
        net.h[0].register_hook([](const TensorD&) -> TensorD { throw std::runtime_error("inspect"); });
        CHECK_THROWS_MATCHES(loss.backward(), std::runtime_error, Says("inspect"));
        CHECK(ran == 1);
        CHECK(unchanged());
        a.remove();
    }
}

TEST_CASE("hooks: post hooks across repeated backwards see the growing .grad()", "[autograd][hooks][post]") {
    TensorD x = leaf({1.0, -1.0});
    std::vector<Array> seen;
    auto handle = x.register_post_accumulate_grad_hook([&](TensorD& leaf) { seen.push_back(leaf.grad().value()); });
    TensorD loss = tg::sum(x * x * x);  // d/dx = 3 x^2
    loss.backward({}, /*retain_graph=*/true);
    loss.backward();
    REQUIRE(seen.size() == 2);
    CHECK(close(seen[0], Array{3.0, 3.0}));
    CHECK(close(seen[1], Array{6.0, 6.0}));
    handle.remove();
}

TEST_CASE("hooks: under create_graph a post hook sees a differentiable .grad()", "[autograd][hooks][post]") {
    const Array x0 = {0.5, 2.0};
    TensorD x = leaf(x0);
    bool differentiable = false;
    auto handle =
        x.register_post_accumulate_grad_hook([&](TensorD& leaf) { differentiable = leaf.grad().requires_grad(); });
    tg::sum(x * x * x).backward({}, std::nullopt, /*create_graph=*/true);
    CHECK(differentiable);
    TensorD g = x.grad();  // 3 x^2, recorded
    x.zero_grad();         // drop the cycle .grad() -> graph -> x before differentiating again
    handle.remove();
    auto second = tg::grad<double>({tg::sum(g)}, {x});
    CHECK(close(second[0].value(), 6.0 * x0));
}

TEST_CASE("hooks: a leaf edge that carries no gradient still counts down", "[autograd][hooks][post]") {
    TensorD w = leaf({3.0});
    TensorD z = leaf({1.0});
    // An op whose rule gives its input no gradient (as a rule may, for an input it does not differentiate).
    auto blind = [](const TensorD& t) {
        return tg::record<double>("blind", {t}, Array(t.value()),
                                  [](const tg::Backward<double>&) { return tg::Grads<double>{TensorD()}; });
    };
    std::vector<std::string> order;
    auto handle = w.register_post_accumulate_grad_hook([&](TensorD&) { order.push_back("w"); });
    TensorD p = z * 3.0;  // recorded first: walked last
    p.register_hook([&](const TensorD&) {
        order.push_back("p");
        return TensorD();
    });
    TensorD a = w * 2.0;
    TensorD b = blind(w);  // walked before a's op: its edge into w carries nothing
    tg::sum(p + a + b * 5.0).backward();
    // w is final once a's op is walked, before p's: had the blind edge not counted, it would wait to the end.
    CHECK(order == std::vector<std::string>{"w", "p"});
    CHECK(w.grad().item() == Approx(2.0));
    handle.remove();
}

TEST_CASE("hooks: an op reached without any gradient does not hold back a post hook", "[autograd][hooks][post]") {
    TensorD w = leaf({1.5});
    int calls = 0;
    auto handle = w.register_post_accumulate_grad_hook([&](TensorD&) { ++calls; });
    // root = blind2(a, b): its rule returns nothing for a, so a's op (and the edge a -> w) is never walked.
    TensorD a = w * 4.0;
    TensorD b = w * w;
    TensorD root =
        tg::record<double>("blind2", {a, b}, Array(a.value() + b.value()), [](const tg::Backward<double>& ctx) {
            return tg::Grads<double>{TensorD(), ctx.grad()};
        });
    tg::sum(root).backward();
    CHECK(calls == 1);
    CHECK(w.grad().item() == Approx(3.0));  // d/dw w^2 only
    handle.remove();
}

TEST_CASE("hooks: the count of post hooks returns to zero when removed or when the tensor dies",
          "[autograd][hooks][post]") {
    const auto before = tg::detail::post_accumulate_hook_count().load();
    TensorD x = leaf({1.0});
    auto a = x.register_post_accumulate_grad_hook([](TensorD&) {});
    {
        TensorD y = leaf({1.0});
        y.register_post_accumulate_grad_hook([](TensorD&) {});
        CHECK(tg::detail::post_accumulate_hook_count().load() == before + 2);
    }
    CHECK(tg::detail::post_accumulate_hook_count().load() == before + 1);
    a.remove();
    a.remove();
    CHECK(tg::detail::post_accumulate_hook_count().load() == before);
}

TEST_CASE("hooks: two threads, one shared parameter with a post hook, each its own graph",
          "[autograd][hooks][threads]") {
    TensorD shared = leaf({1.0, 2.0});
    std::atomic<int> posts{0};
    auto handle = shared.register_post_accumulate_grad_hook([&](TensorD&) { ++posts; });
    constexpr int kSteps = 50;
    Array own_grads[2];  // checked on the main thread: Catch2's assertions are not thread-safe
    auto work = [&](double scale, Array& result) {
        TensorD own = leaf({scale, scale});
        own.register_hook([](const TensorD& g) { return g * 2.0; });
        for (int i = 0; i < kSteps; ++i) tg::sum(shared * own).backward();
        result = own.grad().value();
    };
    std::thread a(work, 1.0, std::ref(own_grads[0])), b(work, 3.0, std::ref(own_grads[1]));
    a.join();
    b.join();
    for (const auto& g : own_grads) CHECK(close(g, Array{2.0 * kSteps, 4.0 * kSteps}));  // d/down = shared, doubled
    CHECK(posts == 2 * kSteps);
    CHECK(close(shared.grad().value(), Array{4.0 * kSteps, 4.0 * kSteps}));  // (1 + 3) per pair of steps
    handle.remove();
}

TEST_CASE("hooks: a post hook may step its parameter in place (optimizer in backward)", "[autograd][hooks][post]") {
    ThreeLayers net;
    std::vector<Array> before, numeric;
    for (std::size_t k = 0; k < 3; ++k) {
        before.push_back(net.w[k].value());
        numeric.push_back(net.numeric(k));
    }
    constexpr double lr = 0.1;
    std::vector<tg::HookHandle> handles;
    for (auto& wk : net.w) {
        handles.push_back(wk.register_post_accumulate_grad_hook([](TensorD& leaf) {
            tg::NoGradGuard no_grad;
            leaf.sub_(leaf.grad(), lr);  // no op walked later saved this weight: no version error
            leaf.zero_grad();
        }));
    }
    net.loss().backward();
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK(close(net.w[k].value(), before[k] - lr * numeric[k], 1e-7));
        CHECK_FALSE(net.w[k].grad().defined());
    }
    for (auto& handle : handles) handle.remove();
}

TEST_CASE("hooks: retain_grad keeps the gradient the hooks returned (as PyTorch 2)", "[autograd][hooks]") {
    TensorD x = leaf({1.0, 2.0});
    TensorD y = x * x;
    y.retain_grad();
    y.register_hook([](const TensorD& g) { return g * 2.0; });
    // L = sum(y) + sum(3 y): dL/dy = 4, doubled by the hook; dL/dx = 8 * 2x.
    tg::add(tg::sum(y), tg::sum(y * 3.0)).backward();
    CHECK(close(y.grad().value(), Array{8.0, 8.0}));
    CHECK(close(x.grad().value(), Array{16.0, 32.0}));
}
