// Forward mode over the op table: for every row, the tangent that forward mode computes for a random
// tangent per differentiable input (J v) against float64 central finite differences along v and
// against the double-vjp construction d/du (J^T u . v), which goes through the backward rules only.
#include <catch2/catch.hpp>

#include <algorithm>

#include "op_table.hpp"

using namespace optable;

namespace {

// Entries of the Jacobian-vector product by each method, in the output's shape (zeros for no tangent).
struct Jvp {
    Array forward;
    Array forward_no_grad;  // the same under NoGradGuard, where nothing is recorded
    Array finite;
    Array double_vjp;
};

Array or_zeros(const tg::TensorD& t, const Shape& shape) {
    return t.defined() ? t.value() : Array(xt::zeros<double>(shape));
}

Jvp jvps(const OpInfo& row, const Inputs64& inputs, const Inputs64& tangents) {
    Jvp out;
    const auto& f = row.fn.f64;
    Shape shape;
    auto forward_mode = [&] {
        tg::fwad::DualLevel level;
        Inputs64 duals;
        for (std::size_t i = 0; i < inputs.size(); ++i)
            duals.push_back(tangents[i].defined() ? tg::fwad::make_dual(inputs[i], tangents[i]) : inputs[i]);
        const auto y = f(duals);
        shape = y.shape();
        return or_zeros(tg::fwad::unpack_dual(y).tangent, shape);
    };
    out.forward = forward_mode();
    {
        tg::NoGradGuard no_grad;
        out.forward_no_grad = forward_mode();
    }
    // (f(x + eps v) - f(x - eps v)) / 2 eps on fresh copies.
    const double eps = 1e-6;
    auto moved = [&](double step) {
        tg::NoGradGuard no_grad;
        Inputs64 xs;
        for (std::size_t i = 0; i < inputs.size(); ++i) {
            Array v = inputs[i].value();
            if (tangents[i].defined()) v += step * tangents[i].value();
            xs.emplace_back(std::move(v));
        }
        return Array(f(xs).value());
    };
    out.finite = (moved(eps) - moved(-eps)) / (2 * eps);
    // J v = d/du (J^T u . v): a vjp with a seed u that requires grad, then a vjp back to u.
    std::vector<tg::TensorD> wrt, directions;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        if (!tangents[i].defined()) continue;
        wrt.push_back(inputs[i]);
        directions.push_back(tangents[i]);
    }
    // u = ones: the same derivative as at any u, where rules written with log |g| are smooth.
    tg::TensorD u(Array(xt::ones<double>(shape)), true);
    const auto y = f(inputs);
    auto g = tg::grad<double>({y}, wrt, {u}, true, true, true);
    std::vector<tg::TensorD> roots, seeds;
    for (std::size_t k = 0; k < g.size(); ++k) {
        if (!g[k].defined() || !g[k].requires_grad()) continue;
        roots.push_back(g[k]);
        seeds.push_back(directions[k]);
    }
    out.double_vjp = roots.empty() ? Array(xt::zeros<double>(shape))
                                   : or_zeros(tg::grad<double>(roots, {u}, seeds, true, false, true)[0], shape);
    return out;
}

// "" when a matches b within atol + rtol |b| elementwise, else where and by how much.
std::string mismatch(const Array& a, const Array& b, double atol, double rtol) {
    if (!std::equal(a.shape().begin(), a.shape().end(), b.shape().begin(), b.shape().end())) return "shapes differ";
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double x = a.data()[i], r = b.data()[i];
        if (!(std::abs(x - r) <= atol + rtol * std::abs(r)))
            return fmt::format("flat element {}: forward mode {:.17g}, reference {:.17g}", i, x, r);
    }
    return "";
}

}  // namespace

TEST_CASE("ops: every row's forward-mode tangent matches finite differences and the double vjp (float64)",
          "[ops][forward_ad]") {
    for (const auto& row : op_table()) {
        DYNAMIC_SECTION(row.name) {
            for (std::size_t c = 0; c < row.cases.size(); ++c) {
                const Inputs64 inputs = make_inputs(row, row.cases[c], 300 + c);
                tg::Generator gen(400 + c);
                Inputs64 tangents;
                for (const auto& x : inputs) {
                    tangents.push_back(x.requires_grad() ? tg::rand<double>(x.shape(), gen, -1.0, 1.0) : tg::TensorD());
                }
                if (std::none_of(tangents.begin(), tangents.end(), [](const auto& t) { return t.defined(); })) continue;
                const Jvp j = jvps(row, inputs, tangents);
                INFO("shapes case " << c);
                const auto by_fd = mismatch(j.forward, j.finite, row.tol.grad_atol, row.tol.grad_rtol);
                INFO("against finite differences: " << by_fd);
                CHECK(by_fd.empty());
                // Both are exact up to rounding: a tolerance of float64 rounding, not of finite differences.
                const auto by_vjp = mismatch(j.forward, j.double_vjp, 1e-10, 1e-8);
                INFO("against the double vjp: " << by_vjp);
                CHECK(by_vjp.empty());
                const auto no_grad = mismatch(j.forward_no_grad, j.forward, 1e-12, 1e-12);
                INFO("under NoGradGuard against grad mode on: " << no_grad);
                CHECK(no_grad.empty());
            }
        }
    }
}

TEST_CASE("ops: every row's tangent comes from a rule of its own and is differentiable in the tangents",
          "[ops][forward_ad]") {
    // Every built-in op has a tangent rule of its own (the generic rule, derived from the backward,
    // is for custom ops: it runs the backward twice and computes J v with no graph). Own rules are
    // tapegrad ops: with grad mode on, J v is recorded, so d/dv <u, J v> = J^T u, the vjp with the
    // same u (a consistency check: the vjps are checked against finite differences by the op
    // table's gradcheck).
    for (const auto& row : op_table()) {
        DYNAMIC_SECTION(row.name) {
            for (std::size_t c = 0; c < row.cases.size(); ++c) {
                const Inputs64 inputs = make_inputs(row, row.cases[c], 500 + c);
                tg::Generator gen(600 + c);
                Inputs64 tangents;
                for (const auto& x : inputs) {
                    tangents.push_back(x.requires_grad() ? tg::rand<double>(x.shape(), gen, -1.0, 1.0, true)
                                                         : tg::TensorD());
                }
                std::vector<tg::TensorD> wrt, vs;
                for (std::size_t i = 0; i < inputs.size(); ++i) {
                    if (!tangents[i].defined()) continue;
                    wrt.push_back(inputs[i]);
                    vs.push_back(tangents[i]);
                }
                if (vs.empty()) continue;
                INFO("shapes case " << c);
                const std::uint64_t generic_before = tg::detail::generic_tangent_uses();
                tg::TensorD jv;
                {
                    tg::fwad::DualLevel level;
                    Inputs64 duals;
                    for (std::size_t i = 0; i < inputs.size(); ++i)
                        duals.push_back(tangents[i].defined() ? tg::fwad::make_dual(inputs[i], tangents[i])
                                                              : inputs[i]);
                    jv = tg::fwad::unpack_dual(row.fn.f64(duals)).tangent;
                }
                CHECK(tg::detail::generic_tangent_uses() == generic_before);
                if (!jv.defined()) continue;  // a zero tangent (piecewise constant ops)
                const tg::TensorD u = tg::rand<double>(jv.shape(), gen, -1.0, 1.0);
                const auto by_tangent = tg::grad<double>({tg::sum(jv * u)}, vs, {}, std::nullopt, false, true);
                const auto by_vjp = tg::grad<double>({row.fn.f64(inputs)}, wrt, {u}, std::nullopt, false, true);
                for (std::size_t k = 0; k < vs.size(); ++k) {
                    INFO("input " << k);
                    const Shape shape = vs[k].shape();
                    const auto mis = mismatch(or_zeros(by_tangent[k], shape), or_zeros(by_vjp[k], shape), 1e-10, 1e-8);
                    INFO("d/dv <u, J v> against J^T u: " << mis);
                    CHECK(mis.empty());
                }
            }
        }
    }
}
