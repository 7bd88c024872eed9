// Forward mode (tapegrad::fwad): make_dual / unpack_dual semantics and errors, levels, tangents
// against closed forms, forward-over-reverse against a closed-form Hessian, and the tensors that
// must stay tangent-free. The op table checks every op's tangent (tests/ops/forward_mode_test.cpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <xtensor/xbroadcast.hpp>

#include <tapegrad/ops/activation.hpp>

#include "func_fixtures.hpp"
#include "says.hpp"

using namespace funcfix;
namespace fwad = tapegrad::fwad;

namespace {

// The tangent of y at the open level, as an array (zeros when it has none).
Array tangent_of(const TensorD& y) {
    const auto t = fwad::unpack_dual(y).tangent;
    return t.defined() ? t.value() : Array(xt::zeros<double>(y.shape()));
}

// A [n, 1] column (a braced column literal is ambiguous in C++).
Array column(std::initializer_list<double> values) {
    Array out = Array(values);
    out.reshape({values.size(), 1});
    return out;
}

// The matrix (or matrix-vector) product by loops: the closed forms' reference.
Array dot(const Array& a, const Array& b) {
    const std::size_t n = a.shape()[0], k = a.shape()[1], m = b.dimension() == 1 ? 1 : b.shape()[1];
    Array out = xt::zeros<double>({n, m});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < m; ++j)
            for (std::size_t p = 0; p < k; ++p) out(i, j) += a(i, p) * b.data()[p * m + j];
    if (b.dimension() == 1) out.reshape({n});
    return out;
}

}  // namespace

TEST_CASE("fwad: make_dual copies the primal's value and keeps the tangent, unpack_dual splits them", "[fwad]") {
    const TensorD x({1.0, 2.0, 3.0}), v({0.5, -1.0, 2.0});
    fwad::DualLevel level;
    CHECK(level.level() == fwad::current_level());
    const TensorD d = fwad::make_dual(x, v);
    CHECK_FALSE(d.same(x));
    CHECK_CLOSE(d, x.value(), 0.0, 0.0);
    auto [primal, tangent] = fwad::unpack_dual(d);
    CHECK(tangent.same(v));  // the tangent itself, not a copy (as PyTorch)
    CHECK_CLOSE(primal, x.value(), 0.0, 0.0);
    CHECK_FALSE(fwad::unpack_dual(primal).tangent.defined());  // the primal has no tangent
    CHECK_FALSE(fwad::unpack_dual(x).tangent.defined());       // nor has the tensor make_dual read
    CHECK(fwad::unpack_dual(x).primal.same(x));                // without a tangent: the tensor itself
    // The same tensor as primal and tangent is allowed: d/dt of (x + t x) is x.
    const TensorD self = fwad::make_dual(x, x);
    CHECK(fwad::unpack_dual(self).tangent.same(x));
}

TEST_CASE("fwad: make_dual and unpack_dual refuse bad arguments, naming what is wrong", "[fwad]") {
    const TensorD x({1.0, 2.0, 3.0}), v({0.5, -1.0, 2.0});
    CHECK_THROWS_MATCHES(fwad::make_dual(x, v), tapegrad::ValueError, Says("no dual level is open"));
    CHECK_FALSE(fwad::unpack_dual(x).tangent.defined());  // outside a level: no tangent, no error
    fwad::DualLevel level;
    CHECK_THROWS_MATCHES(fwad::make_dual(x, TensorD({1.0, 2.0})), tapegrad::ShapeError,
                         Says("make_dual") && Says("[2]") && Says("[3]"));
    CHECK_THROWS_MATCHES(fwad::make_dual(TensorD(), v), tapegrad::ValueError, Says("primal is undefined"));
    CHECK_THROWS_MATCHES(fwad::make_dual(x, TensorD()), tapegrad::ValueError, Says("tangent is undefined"));
    CHECK_THROWS_MATCHES(fwad::unpack_dual(TensorD()), tapegrad::ValueError, Says("unpack_dual"));
    const TensorD d = fwad::make_dual(x, v);
    CHECK_THROWS_MATCHES(fwad::make_dual(d, v), tapegrad::ValueError, Says("already has a tangent"));
    CHECK_THROWS_MATCHES(fwad::make_dual(x, d), tapegrad::ValueError, Says("tangent of its own"));
}

TEST_CASE("fwad: closing a level drops its tangents, and levels do not nest", "[fwad]") {
    const TensorD x({1.0, 2.0}), v({3.0, 4.0});
    TensorD d, y;
    {
        fwad::DualLevel level;
        CHECK_THROWS_MATCHES(fwad::DualLevel(), tapegrad::AutogradError, Says("nested"));
        d = fwad::make_dual(x, v);
        y = tg::exp(d);
        CHECK(fwad::unpack_dual(y).tangent.defined());
    }
    CHECK(fwad::current_level() == 0);
    CHECK_FALSE(fwad::unpack_dual(d).tangent.defined());
    fwad::DualLevel next;  // a new level does not see the old one's tangents
    CHECK_FALSE(fwad::unpack_dual(y).tangent.defined());
    CHECK_FALSE(fwad::unpack_dual(tg::exp(d)).tangent.defined());
}

TEST_CASE("fwad: a level closes when an exception leaves its scope", "[fwad]") {
    const TensorD x({1.0, 2.0});
    TensorD d;
    try {
        fwad::DualLevel level;
        d = fwad::make_dual(x, x);
        throw std::runtime_error("user code failed");
    } catch (const std::runtime_error&) {
    }
    CHECK(fwad::current_level() == 0);
    fwad::DualLevel level;
    CHECK_FALSE(fwad::unpack_dual(d).tangent.defined());
}

TEST_CASE("fwad: d/dt exp(x + t v) at t = 0 is exp(x) v", "[fwad]") {
    const TensorD x({0.3, -1.2, 2.1}), v({1.0, -0.5, 2.0});
    fwad::DualLevel level;
    const TensorD y = tg::exp(fwad::make_dual(x, v));
    CHECK_CLOSE(y, Array(xt::exp(x.value())), 0.0, 0.0);
    CHECK_CLOSE(TensorD(tangent_of(y)), Array(xt::exp(x.value()) * v.value()), 1e-12, 1e-12);
}

TEST_CASE("fwad: the tangent of A B is A' B + A B'", "[fwad]") {
    const TensorD a({{1.0, 2.0, -1.0}, {0.5, -3.0, 4.0}}), b({{2.0, 1.0}, {-1.0, 0.5}, {3.0, -2.0}});
    const TensorD da({{0.1, -0.2, 0.3}, {1.0, 0.0, -1.0}}), db({{1.0, 2.0}, {0.5, -0.5}, {-1.0, 0.25}});
    const Array expected = dot(da.value(), b.value()) + dot(a.value(), db.value());
    fwad::DualLevel level;
    CHECK_CLOSE(TensorD(tangent_of(tg::matmul(fwad::make_dual(a, da), fwad::make_dual(b, db)))), expected, 1e-12);
    // Only A dual: A' B.
    CHECK_CLOSE(TensorD(tangent_of(tg::matmul(fwad::make_dual(a, da), b))), Array(dot(da.value(), b.value())), 1e-12);
}

TEST_CASE("fwad: a tangent broadcasts with its op: (a [3,1] + b [1,4]) with only a dual", "[fwad]") {
    const TensorD a(column({1.0, 2.0, 3.0})), b({{1.0, 2.0, 3.0, 4.0}}), da(column({0.5, -1.0, 2.0}));
    fwad::DualLevel level;
    const TensorD y = fwad::make_dual(a, da) * b;
    REQUIRE(tangent_of(y).shape() == tg::Shape{3, 4});
    CHECK_CLOSE(TensorD(tangent_of(y)), Array(da.value() * b.value()), 1e-12);
}

TEST_CASE("fwad: forward over reverse: the jvp of the gradient of x^T A x is (A + A^T) v", "[fwad]") {
    const TensorD x({0.3, -1.2, 2.1}), v({1.0, -0.5, 2.0});
    const Array expected = dot(A() + xt::transpose(A()), v.value());
    fwad::DualLevel level;
    const TensorD d = fwad::make_dual(TensorD(Array(x.value()), true), v);
    const auto gradient = tg::grad<double>({quadratic(d)}, {d}, {}, std::nullopt, /*create_graph=*/true);
    CHECK_CLOSE(gradient[0], Array(dot(A() + xt::transpose(A()), x.value())), 1e-12);
    CHECK_CLOSE(TensorD(tangent_of(gradient[0])), expected, 1e-12);
}

TEST_CASE("fwad: forward over reverse of sum(sin(x) x^2) gives its Hessian's diagonal times v", "[fwad]") {
    const TensorD v({1.0, -0.5, 2.0});
    fwad::DualLevel level;
    const TensorD d = fwad::make_dual(TensorD(Array(x0().value()), true), v);
    const auto gradient = tg::grad<double>({f(d)}, {d}, {}, std::nullopt, true);
    CHECK_CLOSE(TensorD(tangent_of(gradient[0])), Array(g2(x0().value()) * v.value()), 1e-10);
}

TEST_CASE("fwad: without a level ops make no tangents, and tensors without tangents stay without", "[fwad]") {
    const TensorD x({0.3, -1.2}, true), w({2.0, 1.0});
    const TensorD outside = tg::sum(tg::exp(x) * w);
    fwad::DualLevel level;
    CHECK_FALSE(fwad::unpack_dual(outside).tangent.defined());
    const TensorD inside = tg::sum(tg::exp(x) * w);  // no input has a tangent
    CHECK_FALSE(fwad::unpack_dual(inside).tangent.defined());
    CHECK(inside.requires_grad());  // reverse mode is unaffected
}

TEST_CASE("fwad: tangents propagate under NoGradGuard and carry no graph there", "[fwad]") {
    const TensorD x({0.3, -1.2}), v({1.0, 2.0});
    tg::NoGradGuard off;
    fwad::DualLevel level;
    const TensorD y = tg::tanh(fwad::make_dual(x, v));
    const Array t = xt::tanh(x.value());
    const auto tangent = fwad::unpack_dual(y).tangent;
    REQUIRE(tangent.defined());
    CHECK_CLOSE(tangent, Array((1.0 - t * t) * v.value()), 1e-12);
    CHECK_FALSE(tangent.requires_grad());
}

TEST_CASE("fwad: in-place updates of a tensor with a tangent, or with such an operand, are refused", "[fwad]") {
    const TensorD x({1.0, 2.0}), v({3.0, 4.0});
    TensorD plain({5.0, 6.0});
    fwad::DualLevel level;
    TensorD d = fwad::make_dual(x, v);
    CHECK_THROWS_MATCHES(d.add_(plain), tapegrad::AutogradError, Says("add_") && Says("tangent"));
    CHECK_THROWS_MATCHES(d.mul_(2.0), tapegrad::AutogradError, Says("mul_") && Says("tangent"));
    CHECK_THROWS_MATCHES(plain.copy_(d), tapegrad::AutogradError, Says("copy_") && Says("tangent"));
    CHECK_CLOSE(d, x.value(), 0.0, 0.0);  // nothing changed
    CHECK_CLOSE(plain, Array({5.0, 6.0}), 0.0, 0.0);
    plain.add_(x);  // neither has a tangent
    CHECK_CLOSE(plain, Array({6.0, 8.0}), 0.0, 0.0);
}

TEST_CASE("fwad: gradients flow through make_dual and unpack_dual to the primal", "[fwad]") {
    const TensorD x({0.3, -1.2}, true), v({1.0, 2.0});
    fwad::DualLevel level;
    const TensorD y = tg::sum(tg::square(fwad::unpack_dual(tg::exp(fwad::make_dual(x, v))).primal));
    const auto g = tg::grad<double>({y}, {x});
    CHECK_CLOSE(g[0], Array(2.0 * xt::exp(2.0 * x.value())), 1e-12);
}

TEST_CASE("fwad: func::jvp in forward mode with the same primal twice, and inside an open level", "[fwad]") {
    const TensorD x({0.3, -1.2, 2.1}), v({1.0, -0.5, 2.0}), w({0.5, 0.25, -1.0});
    auto product = [](const Tensors& in) { return Tensors{in[0] * in[1]}; };
    // d(a b) = da b + a db at a = b = x.
    const Array expected = v.value() * x.value() + x.value() * w.value();
    const auto r = func::jvp<double>(product, {x, x}, {v, w});
    CHECK_CLOSE(r.jvps[0], expected, 1e-12);
    CHECK_CLOSE(r.outputs[0], Array(x.value() * x.value()), 0.0, 0.0);
    CHECK(fwad::current_level() == 0);  // its level is closed again
    fwad::DualLevel level;              // a level of the caller's: jvp computes by the double vjp instead
    const TensorD d = fwad::make_dual(x, v);
    const auto inside = func::jvp<double>(product, {x, x}, {v, w});
    CHECK_CLOSE(inside.jvps[0], expected, 1e-12);
    CHECK(fwad::unpack_dual(d).tangent.same(v));  // the caller's tangents are untouched
}

TEST_CASE("fwad: func::jvp of a function that runs a transform of its own falls back and is right", "[fwad]") {
    // jvp of the gradient of x^T A x is (A + A^T) v: the inner grad drops tangents, so jvp notices
    // and computes it by the double vjp.
    const TensorD x({0.3, -1.2, 2.1}), v({1.0, -0.5, 2.0});
    const auto r = func::jvp(func::grad(quadratic), x, v);
    CHECK_CLOSE(r.jvps[0], dot(A() + xt::transpose(A()), v.value()), 1e-12);
    CHECK_CLOSE(func::jacfwd(func::grad(quadratic))(x), Array(A() + xt::transpose(A())), 1e-12);
}

TEST_CASE("fwad: linear's tangent, computed beside its value on two threads, is the closed form and one thread's",
          "[fwad]") {
    // x [2, 16, 128] against W [128, 128]: 32 rows, 1 MFLOP, large enough that with a tangent on x
    // alone (no graph wanted) the value x W^T + b and the tangent dx W^T run at once, one BLAS
    // thread each. The reference is loops; one thread computes both one after the other.
    const std::size_t before = tg::get_num_threads();
    tg::set_num_threads(std::min<std::size_t>(2, tg::max_num_threads()));
    tg::Generator gen(11);
    const TensorD x = tg::randn<double>({2, 16, 128}, gen), v = tg::randn<double>({2, 16, 128}, gen);
    const TensorD w = tg::randn<double>({128, 128}, gen), b = tg::randn<double>({128}, gen);
    Array rows = x.value(), tangent_rows = v.value();
    rows.reshape({32, 128});
    tangent_rows.reshape({32, 128});
    Array expected = dot(rows, xt::transpose(w.value())) + b.value();
    Array expected_tangent = dot(tangent_rows, xt::transpose(w.value()));
    expected.reshape({2, 16, 128});
    expected_tangent.reshape({2, 16, 128});
    auto run = [&](const TensorD& bias) {
        tg::NoGradGuard off;
        fwad::DualLevel level;
        const TensorD y = tg::linear(fwad::make_dual(x, v), w, bias);
        const auto tangent = fwad::unpack_dual(y).tangent;
        REQUIRE(tangent.defined());
        CHECK(tangent.shape() == tg::Shape{2, 16, 128});
        return std::pair{Array(y.value()), Array(tangent.value())};
    };
    const auto [value, tangent] = run(b);
    const auto [unbiased, unbiased_tangent] = run(TensorD());
    tg::set_num_threads(1);
    const auto [value_alone, tangent_alone] = run(b);
    tg::set_num_threads(before);
    CHECK_CLOSE(TensorD(value), expected, 1e-12);
    CHECK_CLOSE(TensorD(tangent), expected_tangent, 1e-12);
    CHECK_CLOSE(TensorD(unbiased), Array(expected - b.value()), 1e-12);
    CHECK(unbiased_tangent == tangent);
    CHECK(value == value_alone);
    CHECK(tangent == tangent_alone);
}

TEST_CASE("fwad: linear's tangent keeps its graph, and sums every operand's part, at sizes shared over threads",
          "[fwad]") {
    // The same 1 MFLOP layer where the tangent may not be computed beside the value: under grad
    // mode with W requiring grad (the tangent is differentiable: d sum(dx W^T) / dW = 1^T dx), and
    // with tangents on both x and W (dx W^T + x dW^T).
    tg::Generator gen(12);
    const TensorD x = tg::randn<double>({32, 128}, gen), v = tg::randn<double>({32, 128}, gen);
    const TensorD w(tg::randn<double>({128, 128}, gen).value(), true), dw = tg::randn<double>({128, 128}, gen);
    {
        fwad::DualLevel level;
        const auto tangent = fwad::unpack_dual(tg::linear(fwad::make_dual(x, v), w)).tangent;
        REQUIRE(tangent.requires_grad());
        tg::sum(tangent).backward();
        const Array column_sums = xt::sum(v.value(), {0});
        CHECK_CLOSE(w.grad(), Array(xt::broadcast(column_sums, {128, 128})), 1e-12);
    }
    tg::NoGradGuard off;
    fwad::DualLevel level;
    const auto tangent = fwad::unpack_dual(tg::linear(fwad::make_dual(x, v), fwad::make_dual(w, dw))).tangent;
    CHECK_CLOSE(tangent, Array(dot(v.value(), xt::transpose(w.value())) + dot(x.value(), xt::transpose(dw.value()))),
                1e-12);
}
