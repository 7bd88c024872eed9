// The function-style transforms (grad, jacrev, jacfwd, hessian): composition, how many passes a
// Jacobian costs, when results stay connected to the caller's graph, threads and float32.
#include <catch2/catch.hpp>

#include <thread>

#include <tapegrad/ops/shape.hpp>

#include "func_fixtures.hpp"
#include "says.hpp"

using namespace funcfix;

namespace {

// The identity, counting how often its backward runs: once per backward pass through it. Its
// backward is itself, so a pass through a recorded backward (jacfwd's) counts as well.
TensorD counted(const TensorD& x, int& count) {
    return tg::record<double>(
        "counted", {x}, Array(x.value()),
        [&count](const tg::Backward<double>& ctx) -> tg::Grads<double> {
            ++count;
            return {counted(ctx.grad(), count)};
        },
        [&count](const tg::Forward<double>& ctx) {  // a forward-mode pass: the tangent goes through too
            ++count;
            return counted(ctx.tangent(0), count);
        });
}

Array diag(const Array& d) {
    Array out = xt::zeros<double>({d.size(), d.size()});
    for (std::size_t i = 0; i < d.size(); ++i) out(i, i) = d(i);
    return out;
}

}  // namespace

TEST_CASE("func: hessian = jacfwd(jacrev) = jacrev(jacrev) = jacrev(grad) = A + A^T", "[func]") {
    const Array H = A() + xt::transpose(A());
    CHECK_CLOSE(func::hessian(quadratic)(x0()), H, 1e-12);
    CHECK_CLOSE(func::jacfwd(func::jacrev(quadratic))(x0()), H, 1e-12);
    CHECK_CLOSE(func::jacrev(func::jacrev(quadratic))(x0()), H, 1e-12);
    CHECK_CLOSE(func::jacrev(func::grad(quadratic))(x0()), H, 1e-12);
    CHECK_CLOSE(func::jacfwd(func::grad(quadratic))(x0()), H, 1e-12);
    // A Hessian that depends on x: diag((2 - x^2) sin x + 4 x cos x).
    const Array D = diag(g2(x0().value()));
    CHECK_CLOSE(func::hessian(f)(x0()), D, 1e-12);
    CHECK_CLOSE(func::jacrev(func::grad(f))(x0()), D, 1e-12);
    CHECK_CLOSE(func::jacfwd(func::jacfwd(f))(x0()), D, 1e-12);
}

TEST_CASE("func: grad of grad of grad of x^3 is 6", "[func]") {
    auto cube = [](const TensorD& x) { return x * x * x; };
    const TensorD x(1.7);
    CHECK(func::grad(cube)(x).item() == Approx(3 * 1.7 * 1.7).epsilon(1e-12));
    CHECK(func::grad(func::grad(cube))(x).item() == Approx(6 * 1.7).epsilon(1e-12));
    CHECK(func::grad(func::grad(func::grad(cube)))(x).item() == Approx(6.0).epsilon(1e-12));
}

TEST_CASE("func: jacrev of a jvp differentiates through the inner transform", "[func]") {
    // x -> J_g(x) v = g'(x) v elementwise; its Jacobian is diag(g''(x) v).
    const TensorD v({1.0, -2.0, 0.5});
    auto jvp_of_g = [&v](const TensorD& x) { return func::jvp(g, x, v).jvps[0]; };
    CHECK_CLOSE(func::jacrev(jvp_of_g)(x0()), diag(g2(x0().value()) * v.value()), 1e-12);
    auto vjp_of_g = [&v](const TensorD& x) { return func::vjp(g, x, v).vjps[0]; };
    CHECK_CLOSE(func::jacfwd(vjp_of_g)(x0()), diag(g2(x0().value()) * v.value()), 1e-12);
    // And against finite differences of the jvp's values (which do not use its gradient).
    const auto J = funcref::numeric_jacobian([&](const Tensors& in) -> Tensors { return {jvp_of_g(in[0])}; }, {x0()});
    CHECK_CLOSE(func::jacrev(jvp_of_g)(x0()), J[0]);
}

TEST_CASE("func: a Jacobian of a function reading a dual tensor carries that tensor's tangent", "[func][fwad]") {
    // J(x) = d(w x^2)/dx = diag(2 w x); its tangent along w's tangent u is diag(2 u x), through the
    // ops that assemble the Jacobian (by their own tangent rules: no recomputation).
    const TensorD u({0.5, -1.0, 2.0});
    const TensorD w({1.5, 0.25, -0.75}, true);  // a parameter: the Jacobian stays connected to it
    tg::fwad::DualLevel level;
    const TensorD dual_w = tg::fwad::make_dual(w, u);
    const std::uint64_t generic_before = tg::detail::generic_tangent_uses();
    const TensorD J = func::jacrev([&dual_w](const TensorD& x) { return dual_w * x * x; })(x0());
    CHECK(tg::detail::generic_tangent_uses() == generic_before);
    const TensorD dJ = tg::fwad::unpack_dual(J).tangent;
    REQUIRE(dJ.defined());
    CHECK_CLOSE(J, diag(2.0 * w.value() * x0().value()), 1e-14);
    CHECK_CLOSE(dJ, diag(2.0 * u.value() * x0().value()), 1e-14);
}

TEST_CASE("func: hessian over two primals gives the four blocks", "[func]") {
    // s(x, w) = sum(x^2 w): H_xx = diag(2w), H_xw = H_wx = diag(2x), H_ww = 0.
    auto s = [](const Tensors& in) { return tg::sum(tg::square(in[0]) * in[1]); };
    const TensorD w({0.7, 1.1, -0.4});
    const Tensors H = func::hessian(s, {0, 1})(Tensors{x0(), w});
    REQUIRE(H.size() == 4);
    const Array x = x0().value();
    CHECK_CLOSE(H[0], diag(2.0 * w.value()), 1e-12);
    CHECK_CLOSE(H[1], diag(2.0 * x), 1e-12);
    CHECK_CLOSE(H[2], diag(2.0 * x), 1e-12);
    CHECK_CLOSE(H[3], Array(xt::zeros<double>({3, 3})), 0.0);
    const Tensors only_w = func::jacrev(s, {1})(Tensors{x0(), w});  // d s / d w = x^2
    REQUIRE(only_w.size() == 1);
    CHECK_CLOSE(only_w[0], Array(x * x), 1e-12);
}

TEST_CASE("func: a Jacobian costs min(m, n) passes plus at most one", "[func]") {
    // The counter sits on f's output, which every pass goes through once: by rows each pass
    // starts there; by columns (jacfwd) each pass is a run of f in forward mode, whose tangent goes
    // through it (where jacfwd falls back to the double vjp, the recorded vjp runs its backward
    // once and then every pass runs the counter's recorded backward once: n + 1).
    int count = 0;
    // R^5 -> R^2: by rows, m = 2 passes.
    auto narrow = [&count](const TensorD& x) {
        return counted(tg::stack<double>({tg::sum(x), tg::sum(tg::square(x))}), count);
    };
    const TensorD x5({1.0, 2.0, 3.0, 4.0, 5.0});
    const TensorD J = func::jacobian(narrow, x5);
    CHECK(count == 2);
    const auto numeric = funcref::numeric_jacobian([&](const Tensors& in) -> Tensors { return {narrow(in[0])}; }, {x5});
    CHECK_CLOSE(J, numeric[0]);
    count = 0;
    CHECK_CLOSE(func::jacobian(narrow, x5, func::Strategy::forward), numeric[0]);
    CHECK(count == 5);  // n
    // A result that must stay connected (x requires grad) comes from the double vjp: n + 1.
    count = 0;
    const TensorD x5_grad({1.0, 2.0, 3.0, 4.0, 5.0}, /*requires_grad=*/true);
    CHECK_CLOSE(func::jacobian(narrow, x5_grad, func::Strategy::forward), numeric[0]);
    CHECK(count == 6);
    // R^2 -> R^6: by columns, n = 2 passes.
    auto wide = [&count](const TensorD& x) {
        return counted(tg::concat<double>({x, tg::square(x), tg::sin(x)}), count);
    };
    const TensorD x2({1.5, -0.5});
    count = 0;
    const TensorD K = func::jacobian(wide, x2);
    CHECK(count == 2);
    const auto numeric_wide =
        funcref::numeric_jacobian([&](const Tensors& in) -> Tensors { return {wide(in[0])}; }, {x2});
    CHECK_CLOSE(K, numeric_wide[0]);
    count = 0;
    CHECK_CLOSE(func::jacobian(wide, x2, func::Strategy::reverse), numeric_wide[0]);
    CHECK(count == 6);  // m
}

TEST_CASE("func: results stay connected to primals that require grad, and only then", "[func]") {
    const TensorD x({0.3, -1.2, 2.1}, /*requires_grad=*/true);
    const Tensors grads = func::value_and_grad(f, x).grads;
    REQUIRE(grads[0].requires_grad());
    // d/dx sum(g'(x)) = g''(x), through the transform's recorded gradient.
    CHECK_CLOSE(tg::grad<double>({tg::sum(grads[0])}, {x})[0], g2(x.value()), 1e-12);
    {
        tg::NoGradGuard off;  // transforms still work, and give plain values
        const auto r = func::value_and_grad(f, x);
        CHECK_CLOSE(r.grads[0], g1(x.value()), 1e-12);
        CHECK_FALSE(r.grads[0].requires_grad());
        CHECK_FALSE(r.value.requires_grad());
    }
    // A primal that does not require grad: no graph survives the call.
    const std::size_t live = tg::Tape::current().size();
    const auto r = func::value_and_grad(f, x0());
    const TensorD hess = func::hessian(f)(x0());
    CHECK(tg::Tape::current().size() == live);
    CHECK_FALSE(r.grads[0].requires_grad());
    CHECK_FALSE(hess.requires_grad());
}

TEST_CASE("func: results stay connected to tensors f reads, cotangents and tangents", "[func]") {
    const TensorD w({0.7, 1.1, -0.4}, /*requires_grad=*/true);
    auto weighted = [&w](const TensorD& x) { return tg::sum(x * x * w); };
    const TensorD dx = func::grad(weighted)(x0());  // 2 x w
    CHECK_CLOSE(dx, Array(2.0 * x0().value() * w.value()), 1e-12);
    REQUIRE(dx.requires_grad());
    CHECK_CLOSE(tg::grad<double>({tg::sum(dx)}, {w})[0], Array(2.0 * x0().value()), 1e-12);
    // vjp is linear in its cotangent and jvp in its tangent, and differentiable in them.
    const TensorD v({1.0, -2.0, 0.5}, true);
    const TensorD by_v = func::vjp(g, x0(), v).vjps[0];
    CHECK_CLOSE(tg::grad<double>({tg::sum(by_v)}, {v})[0], g1(x0().value()), 1e-12);
    const TensorD by_t = func::jvp(g, x0(), v).jvps[0];
    CHECK_CLOSE(tg::grad<double>({tg::sum(by_t)}, {v})[0], g1(x0().value()), 1e-12);
    CHECK_FALSE(v.grad().defined());
}

TEST_CASE("func: an inner gradient does not walk the caller's graph, even a freed one", "[func]") {
    const TensorD w({0.3, -1.2, 2.1}, true);
    const TensorD y = w * 2.0;
    tg::sum(y).backward();  // frees y's node
    // y requires grad, so the transform differentiates through an identity of it; its own passes
    // stop there instead of reaching the freed node.
    const auto r = func::value_and_grad(f, y);
    CHECK_CLOSE(r.grads[0], g1(y.value()), 1e-12);
    CHECK_CLOSE(func::jacobian(g, y, func::Strategy::forward), diag(g1(y.value())), 1e-12);
}

TEST_CASE("func: transforms on two threads at once", "[func][threads]") {
    const Array H = A() + xt::transpose(A());
    auto work = [&H](bool& ok) {
        ok = true;
        for (int i = 0; i < 20; ++i) {
            const TensorD x({0.1 * i, -1.0, 2.0}, /*requires_grad=*/i % 2 == 0);
            ok = ok && funcref::differs(func::hessian(quadratic)(x).value(), H, 1e-12).empty();
            ok = ok && funcref::differs(func::grad(f)(x).value(), g1(x.value()), 1e-12).empty();
        }
    };
    bool a = false, b = false;
    std::thread ta(work, std::ref(a)), tb(work, std::ref(b));
    ta.join();
    tb.join();
    CHECK(a);
    CHECK(b);
}

TEST_CASE("func: float32 transforms", "[func]") {
    const tg::TensorF Af(xt::xarray<float>(xt::cast<float>(A())));
    auto q = [&Af](const tg::TensorF& x) { return tg::sum(x * tg::matmul(Af, x)); };
    const tg::TensorF x({0.3f, -1.2f, 2.1f});
    const tg::TensorF H = func::hessian(q)(x);
    const Array expected = A() + xt::transpose(A());
    CHECK_CLOSE(H.to<double>(), expected, 1e-5);
    CHECK(func::jacobian(q, x).shape() == tg::Shape{3});
}
