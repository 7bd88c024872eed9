// Gradient checkpointing (tapegrad::checkpoint): gradients against the same computation without
// it (bit for bit), closed forms and finite differences; nesting, several outputs, misuse.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/ops.hpp>
#include "says.hpp"

namespace tg = tapegrad;
using tg::TensorD;

namespace {

// The segment the tests checkpoint: tanh(h W^T + b) * sin(h), W and b captured (not passed).
template <class T>
struct Block {
    tg::Tensor<T> w, b;
    tg::Tensor<T> operator()(const tg::Tensor<T>& h) const { return tg::tanh(tg::linear(h, w, b)) * tg::sin(h); }
};

template <class T>
struct Problem {
    tg::Generator gen{11};
    tg::Tensor<T> x = tg::randn<T>({3, 4}, gen, T(0), T(1), true);
    Block<T> block{tg::randn<T>({4, 4}, gen, T(0), T(0.5), true), tg::randn<T>({4}, gen, T(0), T(0.5), true)};

    // exp(x) feeds the segment (a non-leaf input), whose output is squared and summed.
    void step(bool checkpointed) {
        const tg::Tensor<T> h = tg::exp(x) * T(0.5);
        const tg::Tensor<T> y = checkpointed ? tg::checkpoint<T>(block, h) : block(h);
        tg::sum(tg::square(y)).backward();
    }
    std::vector<tg::Tensor<T>> grads() const { return {x.grad(), block.w.grad(), block.b.grad()}; }
    void zero_grad() {
        for (auto* t : {&x, &block.w, &block.b}) t->zero_grad();
    }
};

void check_same(const std::vector<TensorD>& a, const std::vector<TensorD>& b) {
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        REQUIRE(a[i].defined());
        REQUIRE(b[i].defined());
        const auto& va = a[i].value();
        const auto& vb = b[i].value();
        CHECK(va == vb);
    }
}

}  // namespace

TEMPLATE_TEST_CASE("checkpoint: gradients are bit for bit those without checkpointing", "[autograd][checkpoint]", float,
                   double) {
    Problem<TestType> p;
    p.step(false);
    const auto plain = p.grads();
    p.zero_grad();
    p.step(true);
    const auto checkpointed = p.grads();
    for (std::size_t i = 0; i < plain.size(); ++i) {
        const auto& a = plain[i].value();
        const auto& b = checkpointed[i].value();
        CHECK(a == b);
    }
}

TEST_CASE("checkpoint: records one op whose inputs are the segment's inputs and the parameters it used",
          "[autograd][checkpoint]") {
    Problem<double> p;
    const TensorD h = tg::exp(p.x);
    const std::size_t before = tg::Tape::current().size();
    const TensorD y = tg::checkpoint<double>(p.block, h);
    CHECK(tg::Tape::current().size() == before + 1);  // linear, tanh, sin, mul were recorded and freed
    CHECK(y.grad_fn_name() == "checkpoint");
    const auto& inputs = tg::detail::TensorAccess::impl(y)->grad_fn->inputs();
    REQUIRE(inputs.size() == 3);
    CHECK(inputs[0].same(h));
    CHECK(inputs[1].same(p.block.w));
    CHECK(inputs[2].same(p.block.b));
    CHECK(y.value() == p.block(h).value());
}

TEST_CASE("checkpoint: gradients of x * x * y and x used twice match their closed forms", "[autograd][checkpoint]") {
    TensorD x({1.5, -2.0, 0.25}, true);
    TensorD y({3.0, 0.5, -4.0}, true);
    auto fn = [](const std::vector<TensorD>& in) { return std::vector<TensorD>{in[0] * in[0] * in[1]}; };
    tg::sum(tg::checkpoint<double>(fn, {x, y})[0]).backward();
    for (std::size_t i = 0; i < 3; ++i) {
        const double xi = x.value()(i), yi = y.value()(i);
        CHECK(x.grad().value()(i) == Approx(2 * xi * yi).epsilon(1e-15));  // d(x^2 y)/dx = 2 x y
        CHECK(y.grad().value()(i) == Approx(xi * xi).epsilon(1e-15));      // d(x^2 y)/dy = x^2
    }

    // The same tensor passed twice: a b + a with a = b = x gives x^2 + x, d/dx = 2 x + 1.
    x.zero_grad();
    auto twice = [](const std::vector<TensorD>& in) { return std::vector<TensorD>{in[0] * in[1] + in[0]}; };
    tg::sum(tg::checkpoint<double>(twice, {x, x})[0]).backward();
    for (std::size_t i = 0; i < 3; ++i) CHECK(x.grad().value()(i) == Approx(2 * x.value()(i) + 1).epsilon(1e-15));
}

TEST_CASE("checkpoint: gradcheck and gradgradcheck through a segment", "[autograd][checkpoint]") {
    tg::Generator gen(3);
    const TensorD x = tg::randn<double>({2, 3}, gen, 0.0, 1.0, true);
    const TensorD w = tg::randn<double>({3, 3}, gen, 0.0, 0.5, true);
    // x reaches the segment through exp (a non-leaf input); w only by capture (a parameter).
    auto f = [](const std::vector<TensorD>& in) {
        const TensorD w = in[1];
        auto block = [w](const TensorD& z) { return tg::tanh(tg::matmul(z, w)) * tg::sin(z); };
        return tg::checkpoint<double>(block, tg::exp(in[0]) * 0.5);
    };
    auto first = tg::gradcheck<double>(f, {x, w});
    INFO(first.report());
    CHECK(first.ok);
    auto second = tg::gradgradcheck<double>(f, {x, w});
    INFO(second.report());
    CHECK(second.ok);
}

TEST_CASE("checkpoint: several outputs, each one's gradient checked", "[autograd][checkpoint]") {
    tg::Generator gen(4);
    const TensorD a = tg::randn<double>({2, 3}, gen, 0.0, 1.0, true);
    const TensorD b = tg::randn<double>({3}, gen, 0.0, 1.0, true);
    auto fn = [](const std::vector<TensorD>& in) {
        return std::vector<TensorD>{tg::sin(in[0]) * in[1], tg::exp(in[1]), tg::sum(in[0] * in[0])};
    };
    // Output k weighted by k + 1 (broadcast to [2, 3]), so that every piece's gradient counts.
    auto f = [fn](const std::vector<TensorD>& in) {
        const auto outs = tg::checkpoint<double>(fn, in);
        REQUIRE(outs.size() == 3);
        CHECK(outs[1].shape() == tg::Shape{3});
        CHECK(outs[2].shape() == tg::Shape{});
        return outs[0] + outs[1] * 2.0 + outs[2] * 3.0;
    };
    CHECK(tg::gradcheck<double>(f, {a, b}).ok);
    CHECK(tg::gradgradcheck<double>(f, {a, b}).ok);
}

TEST_CASE("checkpoint: nested segments give the plain gradients and their second order", "[autograd][checkpoint]") {
    tg::Generator gen(5);
    TensorD x = tg::randn<double>({2, 3}, gen, 0.0, 1.0, true);
    TensorD w = tg::randn<double>({3, 3}, gen, 0.0, 0.5, true);
    auto model = [](const TensorD& x, const TensorD& w, bool checkpointed) {
        auto inner = [w](const TensorD& u) { return tg::sin(tg::matmul(u, w)); };
        auto outer = [inner, checkpointed](const TensorD& z) {  // by value: the backward runs it later
            const TensorD t = tg::tanh(z);
            return (checkpointed ? tg::checkpoint<double>(inner, t) : inner(t)) * z;
        };
        return checkpointed ? tg::checkpoint<double>(outer, x * 2.0) : outer(x * 2.0);
    };
    tg::sum(model(x, w, false)).backward();
    const std::vector<TensorD> plain{x.grad(), w.grad()};
    x.zero_grad();
    w.zero_grad();
    tg::sum(model(x, w, true)).backward();
    check_same(plain, {x.grad(), w.grad()});
    auto f = [&model](const std::vector<TensorD>& in) { return model(in[0], in[1], true); };
    CHECK(tg::gradgradcheck<double>(f, {x, w}).ok);
}

TEST_CASE("checkpoint: backward twice with retain_graph recomputes twice, then the graph is freed",
          "[autograd][checkpoint]") {
    TensorD x({0.5, -1.0}, true);
    int calls = 0;
    auto fn = [&calls](const TensorD& z) {
        ++calls;
        return tg::exp(z) * z;
    };
    const TensorD loss = tg::sum(tg::checkpoint<double>(fn, x * 3.0));
    loss.backward({}, /*retain_graph=*/true);
    const xt::xarray<double> once = x.grad().value();
    loss.backward();
    CHECK(calls == 3);
    for (std::size_t i = 0; i < 2; ++i) {
        const double z = 3 * x.value()(i);
        CHECK(once(i) == Approx(3 * (std::exp(z) * (z + 1))).epsilon(1e-14));  // d/dx e^z z, z = 3x
        CHECK(x.grad().value()(i) == 2 * once(i));
    }
    CHECK_THROWS_MATCHES(loss.backward(), tg::AutogradError, Says("already freed"));
}

TEST_CASE("checkpoint: inputs that do not require grad", "[autograd][checkpoint]") {
    const TensorD data({1.0, 2.0});
    TensorD w({0.5, -0.5}, true);
    int calls = 0;
    auto fn = [&](const TensorD& z) {
        ++calls;
        return z * w;
    };
    // Only the parameter requires grad: it still gets its gradient (PyTorch's reentrant variant would
    // warn and give none), and the constant input none.
    tg::sum(tg::checkpoint<double>(fn, data)).backward();
    CHECK(w.grad().value() == data.value());
    CHECK_FALSE(data.grad().defined());
    CHECK(calls == 2);

    // Nothing requires grad: fn runs once, nothing is recorded.
    w.requires_grad_(false);
    const std::size_t before = tg::Tape::current().size();
    const TensorD y = tg::checkpoint<double>(fn, data);
    CHECK_FALSE(y.requires_grad());
    CHECK(calls == 3);
    CHECK(tg::Tape::current().size() == before);
}

TEST_CASE("checkpoint: with grad mode off it is fn itself", "[autograd][checkpoint]") {
    TensorD x({1.0, 2.0}, true);
    int calls = 0;
    tg::NoGradGuard off;
    const TensorD y = tg::checkpoint<double>(
        [&](const TensorD& z) {
            ++calls;
            return z * 2.0;
        },
        x);
    CHECK(calls == 1);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value() == xt::xarray<double>({2.0, 4.0}));
}

TEST_CASE("checkpoint: forward mode through a segment gives the tangent of the same function without it",
          "[autograd][checkpoint][fwad]") {
    // Tangents on h and on the captured W: one output, and two outputs (packed into one op). Bit for
    // bit: the segment's own forward pass computes them.
    Problem<double> p;
    tg::Generator gen(12);
    const TensorD h0 = tg::randn<double>({3, 4}, gen);
    const TensorD vh = tg::randn<double>({3, 4}, gen), vw = tg::randn<double>({4, 4}, gen);
    auto tangents = [&](bool checkpointed) {
        tg::fwad::DualLevel level;
        Block<double> block{tg::fwad::make_dual(p.block.w, vw), p.block.b};
        const TensorD h = tg::fwad::make_dual(h0, vh);
        const std::uint64_t generic_before = tg::detail::generic_tangent_uses();
        const TensorD y = checkpointed ? tg::checkpoint<double>(block, h) : block(h);
        // Here W's dual does not require grad: not an input of the checkpoint op, its tangent still counts.
        Block<double> plain_w{tg::fwad::make_dual(TensorD(xt::xarray<double>(p.block.w.value())), vw), p.block.b};
        auto pair = [&plain_w](const std::vector<TensorD>& in) {
            return std::vector<TensorD>{plain_w(in[0]), tg::exp(in[0])};
        };
        const auto ys = checkpointed ? tg::checkpoint<double>(pair, {h}) : pair({h});
        CHECK(tg::detail::generic_tangent_uses() == generic_before);
        return std::vector<xt::xarray<double>>{tg::fwad::unpack_dual(y).tangent.value(),
                                               tg::fwad::unpack_dual(ys[0]).tangent.value(),
                                               tg::fwad::unpack_dual(ys[1]).tangent.value()};
    };
    const auto plain = tangents(false);
    const auto checkpointed = tangents(true);
    for (std::size_t k = 0; k < plain.size(); ++k) CHECK(plain[k] == checkpointed[k]);
}
