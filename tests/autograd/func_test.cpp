// The evaluating function transforms (vjp, jvp, value_and_grad, hvp, vhp, jacobian) against closed
// forms and float64 central differences; their argument errors; the user's tensors untouched.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "func_fixtures.hpp"
#include "says.hpp"

using namespace funcfix;

TEST_CASE("func: vjp of sin(x) x^2 is v times its derivative", "[func]") {
    const TensorD v({1.0, -2.0, 0.5});
    auto [outputs, vjps] = func::vjp(g, x0(), v);
    REQUIRE(outputs.size() == 1);
    REQUIRE(vjps.size() == 1);
    const Array x = x0().value();
    CHECK_CLOSE(outputs[0], Array(xt::sin(x) * x * x), 1e-12);
    CHECK_CLOSE(vjps[0], Array(v.value() * g1(x)), 1e-12);
    CHECK_FALSE(vjps[0].requires_grad());  // nothing outside requires grad: no graph
    CHECK_FALSE(outputs[0].requires_grad());
}

TEST_CASE("func: jvp of sin(x) x^2 is its derivative times t", "[func]") {
    const TensorD t({0.5, 3.0, -1.0});
    auto [outputs, jvps] = func::jvp(g, x0(), t);
    REQUIRE(jvps.size() == 1);
    const Array x = x0().value();
    CHECK_CLOSE(outputs[0], Array(xt::sin(x) * x * x), 1e-12);
    CHECK_CLOSE(jvps[0], Array(g1(x) * t.value()), 1e-12);
    CHECK_FALSE(jvps[0].requires_grad());
}

TEST_CASE("func: vjp and jvp of two inputs and two outputs agree with finite differences", "[func]") {
    const TensorD x = x0(), w({0.7, 1.1, -0.4});
    const auto J = funcref::numeric_jacobian(two_by_two, {x, w});  // (y0, x) (y0, w) (y1, x) (y1, w)
    const TensorD u0({1.0, 0.5, -1.0}), u1({-0.3, 2.0, 0.25});
    auto r = func::vjp<double>(two_by_two, {x, w}, {u0, u1});
    REQUIRE(r.vjps.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        const tg::Shape& s = i == 0 ? x.shape() : w.shape();
        CHECK_CLOSE(r.vjps[i],
                    Array(funcref::u_times(J[i], u0.value(), s) + funcref::u_times(J[2 + i], u1.value(), s)));
    }
    const TensorD t0({0.2, -0.1, 1.0}), t1({1.5, 0.0, -2.0});
    auto q = func::jvp<double>(two_by_two, {x, w}, {t0, t1});
    REQUIRE(q.jvps.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
        const tg::Shape& s = q.outputs[k].shape();
        CHECK_CLOSE(q.jvps[k],
                    Array(funcref::times_v(J[2 * k], t0.value(), s) + funcref::times_v(J[2 * k + 1], t1.value(), s)));
    }
}

TEST_CASE("func: value_and_grad of sum(sin(x) x^2) and of a quadratic form", "[func]") {
    auto [value, grads] = func::value_and_grad(f, x0());
    const Array x = x0().value();
    CHECK(value.item() == Approx(xt::sum(xt::sin(x) * x * x)()).epsilon(1e-12));
    CHECK(value.ndim() == 0);
    REQUIRE(grads.size() == 1);
    CHECK_CLOSE(grads[0], g1(x), 1e-12);
    auto q = func::value_and_grad(quadratic, x0());
    const Array Ax = xt::sum(A() * x, {1}), ATx = xt::sum(xt::transpose(A()) * x, {1});
    CHECK(q.value.item() == Approx(xt::sum(x * Ax)()).epsilon(1e-12));
    CHECK_CLOSE(q.grads[0], Array(Ax + ATx), 1e-12);
}

TEST_CASE("func: value_and_grad differentiates the primals argnums names", "[func]") {
    // L(x, W) = sum((W x)^2): dL/dW = 2 (W x) x^T, dL/dx = 2 W^T (W x).
    auto L = [](const Tensors& in) { return tg::sum(tg::square(tg::matmul(in[1], in[0]))); };
    const TensorD W({{1.0, -2.0, 0.5}, {0.0, 1.5, 3.0}});
    const Array x = x0().value(), Wv = W.value(), Wx = xt::sum(Wv * x, {1});
    const Array dW = 2.0 * xt::view(Wx, xt::all(), xt::newaxis()) * x;
    const Array dx = 2.0 * xt::sum(xt::view(Wx, xt::all(), xt::newaxis()) * Wv, {0});
    auto only_w = func::value_and_grad<double>(L, {x0(), W}, {1});
    REQUIRE(only_w.grads.size() == 1);
    CHECK_CLOSE(only_w.grads[0], dW, 1e-12);
    auto both = func::value_and_grad<double>(L, {x0(), W}, {-1, 0});  // argnums order, negative from the end
    REQUIRE(both.grads.size() == 2);
    CHECK_CLOSE(both.grads[0], dW, 1e-12);
    CHECK_CLOSE(both.grads[1], dx, 1e-12);
    auto first = func::value_and_grad<double>(L, {x0(), W});  // torch.func's default argnums = 0
    REQUIRE(first.grads.size() == 1);
    CHECK_CLOSE(first.grads[0], dx, 1e-12);
}

TEST_CASE("func: hvp and vhp of a quadratic form are (A + A^T) v", "[func]") {
    const TensorD v({1.0, -0.5, 2.0});
    const Array H = A() + xt::transpose(A());
    const Array Hv = xt::sum(H * v.value(), {1});
    auto h = func::hvp(quadratic, x0(), v);
    auto g2v = func::vhp(quadratic, x0(), v);
    CHECK(h.value.item() == Approx(quadratic(x0()).item()).epsilon(1e-12));
    CHECK(g2v.value.item() == Approx(quadratic(x0()).item()).epsilon(1e-12));
    CHECK_CLOSE(h.product[0], Hv, 1e-12);
    CHECK_CLOSE(g2v.product[0], Hv, 1e-12);
    // A diagonal Hessian from sin(x) x^2, checked against its closed form.
    auto d = func::hvp(f, x0(), v);
    CHECK_CLOSE(d.product[0], Array(g2(x0().value()) * v.value()), 1e-12);
    CHECK_FALSE(d.value.requires_grad());
    CHECK_FALSE(d.product[0].requires_grad());
}

TEST_CASE("func: hvp over two primals mixes the Hessian's blocks", "[func]") {
    // s(x, w) = sum(x^2 w): H_xx = diag(2w), H_xw = diag(2x), H_ww = 0.
    auto s = [](const Tensors& in) { return tg::sum(tg::square(in[0]) * in[1]); };
    const TensorD w({0.7, 1.1, -0.4}), vx({1.0, 2.0, 3.0}), vw({-1.0, 0.5, 0.25});
    auto h = func::hvp<double>(s, {x0(), w}, {vx, vw});
    const Array x = x0().value();
    CHECK_CLOSE(h.product[0], Array(2.0 * w.value() * vx.value() + 2.0 * x * vw.value()), 1e-12);
    CHECK_CLOSE(h.product[1], Array(2.0 * x * vx.value()), 1e-12);
}

TEST_CASE("func: jacobian of X A is delta_ik A_lj, by either strategy", "[func]") {
    // Y[i, j] = sum_l X[i, l] A[l, j] (X [2, 3], A [3, 3]): dY[i, j]/dX[k, l] = delta_ik A[l, j].
    const TensorD X({{0.1, 0.2, 0.3}, {-1.0, 0.5, 2.0}});
    auto Y = [](const TensorD& in) { return tg::matmul(in, TensorD(Array(A()))); };
    Array expected = xt::zeros<double>({2, 3, 2, 3});
    for (std::size_t i = 0; i < 2; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            for (std::size_t l = 0; l < 3; ++l) expected(i, j, i, l) = A()(l, j);
        }
    }
    for (auto strategy : {func::Strategy::automatic, func::Strategy::reverse, func::Strategy::forward}) {
        CHECK_CLOSE(func::jacobian(Y, X, strategy), expected, 1e-12);
    }
}

TEST_CASE("func: jacobian of two inputs and two outputs agrees with finite differences", "[func]") {
    const TensorD w({0.7, 1.1, -0.4});
    const auto J = funcref::numeric_jacobian(two_by_two, {x0(), w});
    for (auto strategy : {func::Strategy::reverse, func::Strategy::forward}) {
        auto jac = func::jacobian<double>(two_by_two, {x0(), w}, strategy);
        REQUIRE(jac.size() == 4);
        for (std::size_t b = 0; b < 4; ++b) CHECK_CLOSE(jac[b], J[b]);
    }
}

TEST_CASE("func: 0-d, size-0 and constant outputs have the Jacobians they should", "[func]") {
    const TensorD s(0.5);
    CHECK_CLOSE(func::jacobian(g, s), Array(g1(Array(0.5))), 1e-12);  // shape []: f'(x)
    const TensorD empty(Array(xt::zeros<double>({0})));
    const TensorD jac = func::jacobian([](const TensorD& x) { return g(x); }, empty);
    CHECK(jac.shape() == tg::Shape{0, 0});
    // f ignores x: zero derivatives, not an error.
    auto constant = [](const TensorD&) { return TensorD({1.0, 2.0}); };
    CHECK_CLOSE(func::jacobian(constant, x0(), func::Strategy::reverse), Array(xt::zeros<double>({2, 3})), 0.0);
    CHECK_CLOSE(func::jacobian(constant, x0(), func::Strategy::forward), Array(xt::zeros<double>({2, 3})), 0.0);
    CHECK_CLOSE(func::vjp(constant, x0(), TensorD({1.0, 1.0})).vjps[0], Array(xt::zeros<double>({3})), 0.0);
    CHECK_CLOSE(func::jvp(constant, x0(), x0()).jvps[0], Array(xt::zeros<double>({2})), 0.0);
}

TEST_CASE("func: the user's tensors are never changed", "[func]") {
    const TensorD x({0.3, -1.2, 2.1}, /*requires_grad=*/true);
    const TensorD plain({0.3, -1.2, 2.1});
    const TensorD v({1.0, 2.0, 3.0});
    const Snapshot sx(x), sp(plain), sv(v);
    for (const TensorD& p : {x, plain}) {
        func::vjp(g, p, v);
        func::jvp(g, p, v);
        func::value_and_grad(f, p);
        func::hvp(f, p, v);
        func::vhp(f, p, v);
        func::jacobian(g, p, func::Strategy::reverse);
        func::jacobian(g, p, func::Strategy::forward);
        func::hessian(f)(p);
    }
    CHECK(sx.same_as(x));
    CHECK(sp.same_as(plain));
    CHECK(sv.same_as(v));
}

TEST_CASE("func: the same tensor passed twice is two primals", "[func]") {
    // As torch.func: d(a b)/da = b and d(a b)/db = a, not d(x^2)/dx = 2x.
    auto prod = [](const Tensors& in) { return tg::sum(in[0] * in[1]); };
    const TensorD x({0.3, -1.2, 2.1}, /*requires_grad=*/true);
    for (const TensorD& p : {x, x0()}) {  // connected and not
        auto r = func::value_and_grad<double>(prod, {p, p}, {0, 1});
        CHECK_CLOSE(r.grads[0], p.value(), 0.0);
        CHECK_CLOSE(r.grads[1], p.value(), 0.0);
        auto q = func::vjp<double>(prod, {p, p}, {TensorD(2.0)});
        CHECK_CLOSE(q.vjps[0], Array(2.0 * p.value()), 0.0);
        CHECK_CLOSE(q.vjps[1], Array(2.0 * p.value()), 0.0);
    }
}

TEST_CASE("func: an f that throws or changes its input in place leaves everything as it was", "[func]") {
    const TensorD x({0.3, -1.2, 2.1}, true);
    const Snapshot before(x);
    auto throws = [](const TensorD&) -> TensorD { throw std::runtime_error("f failed"); };
    CHECK_THROWS_MATCHES(func::value_and_grad(throws, x), std::runtime_error, Says("f failed"));
    CHECK(tg::is_grad_enabled());
    {
        tg::NoGradGuard off;
        CHECK_THROWS_AS(func::jacobian(throws, x), std::runtime_error);
        CHECK_FALSE(tg::is_grad_enabled());  // the transform's own grad mode did not leak
    }
    // The working copy requires grad, so an in-place update on it is refused, as in PyTorch.
    auto in_place = [](const TensorD& in) {
        TensorD y = in;
        y.mul_(2.0);
        return tg::sum(y);
    };
    CHECK_THROWS_AS(func::value_and_grad(in_place, x), tg::AutogradError);
    // A tensor f read and then changed in place: the version counter refuses the stale backward
    // instead of giving a wrong gradient.
    TensorD c({1.0, 2.0, 3.0});
    auto stale = [&c](const TensorD& in) {
        TensorD y = tg::sum(in * c);
        c.mul_(2.0);
        return y;
    };
    CHECK_THROWS_MATCHES(func::value_and_grad(stale, x), tg::AutogradError, Says("modified in place"));
    CHECK(before.same_as(x));
}

TEST_CASE("func: argument errors name the transform and the shapes", "[func][errors]") {
    const TensorD v({1.0, 2.0, 3.0});
    CHECK_THROWS_MATCHES(func::vjp<double>(g, Tensors{x0()}, Tensors{}), tg::ValueError,
                         Says("vjp") && Says("0 cotangent(s) given for 1 output(s)"));
    CHECK_THROWS_MATCHES(func::vjp(g, x0(), TensorD({1.0, 2.0})), tg::ShapeError,
                         Says("vjp: cotangent 0 has shape [2], but output 0 has shape [3]"));
    CHECK_THROWS_MATCHES(func::vjp(g, x0(), TensorD()), tg::ValueError, Says("vjp: cotangent 0 is undefined"));
    CHECK_THROWS_MATCHES(func::vjp(g, TensorD(), v), tg::ValueError, Says("vjp: primal 0 is undefined"));
    CHECK_THROWS_MATCHES(func::jvp<double>(g, {x0()}, {v, v}), tg::ValueError,
                         Says("jvp") && Says("2 tangent(s) given for 1 primal(s)"));
    CHECK_THROWS_MATCHES(func::jvp(g, x0(), TensorD(Array(xt::ones<double>({1, 3})))), tg::ShapeError,
                         Says("jvp: tangent 0 has shape [1, 3], but primal 0 has shape [3]"));
    CHECK_THROWS_MATCHES(func::value_and_grad(g, x0()), tg::ValueError,
                         Says("value_and_grad: f must return one 0-d tensor") && Says("[3]"));
    CHECK_THROWS_MATCHES(func::grad(g)(x0()), tg::ValueError, Says("grad: f must return one 0-d tensor"));
    CHECK_THROWS_MATCHES(func::hvp(f, x0(), TensorD({1.0})), tg::ShapeError, Says("hvp: v 0 has shape [1]"));
    CHECK_THROWS_MATCHES(func::value_and_grad<double>(f, {x0()}, {1}), tg::ValueError,
                         Says("value_and_grad: argnum 1 is out of range for 1 primal(s)"));
    CHECK_THROWS_MATCHES(func::value_and_grad<double>(f, {x0()}, {0, -1}), tg::ValueError,
                         Says("argnums names primal 0 twice"));
    CHECK_THROWS_MATCHES(func::value_and_grad<double>(f, {x0()}, {}), tg::ValueError, Says("argnums is empty"));
    auto undefined_out = [](const TensorD&) { return TensorD(); };
    CHECK_THROWS_MATCHES(func::jacobian(undefined_out, x0()), tg::ValueError,
                         Says("jacobian: f returned an undefined tensor as output 0"));
    auto two_out = [](const TensorD& x) { return Tensors{x, x}; };
    CHECK_THROWS_MATCHES(func::jacrev(two_out)(x0()), tg::ValueError, Says("std::vector"));
    CHECK_THROWS_MATCHES(func::jacrev(g)(Tensors{x0(), x0()}), tg::ValueError, Says("f takes one tensor, but 2"));
}
