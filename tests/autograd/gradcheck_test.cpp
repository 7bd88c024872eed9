// The gradient checker: passes correct ops, catches wrong rules, reports precisely, and never
// touches the user's tensors.
#include <catch2/catch.hpp>

#include <algorithm>

#include <tapegrad/autograd/autograd.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/elementwise.hpp>
#include "says.hpp"

namespace tg = tapegrad;
using Catch::Matchers::Contains;
using tg::Shape;
using tg::TensorD;
using Inputs = std::vector<TensorD>;

namespace {

// x^2 whose backward claims 4x: off by a factor of 2.
TensorD bad_square(const TensorD& x) {
    return tg::record<double>(
        "bad_square", {x}, xt::xarray<double>(x.value() * x.value()),
        [](const tg::Backward<double>& ctx) -> tg::Grads<double> { return {ctx.grad() * ctx.input(0) * 4.0}; });
}

// 3x^2 whose backward claims 3x instead of 6x.
TensorD bad_cube_prime(const TensorD& x) {
    return tg::record<double>(
        "bad_cube_prime", {x}, xt::xarray<double>(3.0 * x.value() * x.value()),
        [](const tg::Backward<double>& ctx) -> tg::Grads<double> { return {ctx.grad() * ctx.input(0) * 3.0}; });
}

// x^3 with a right first derivative, 3x^2, built from bad_cube_prime: only grad of grad is wrong.
TensorD cube(const TensorD& x) {
    return tg::record<double>("cube", {x}, xt::xarray<double>(x.value() * x.value() * x.value()),
                              [](const tg::Backward<double>& ctx) -> tg::Grads<double> {
                                  return {ctx.grad() * bad_cube_prime(ctx.input(0))};
                              });
}

// x^2 with a right backward (2x) and a tangent rule off by a factor of 2 (4x dx).
TensorD bad_tangent_square(const TensorD& x) {
    return tg::record<double>(
        "bad_tangent_square", {x}, xt::xarray<double>(x.value() * x.value()),
        [](const tg::Backward<double>& ctx) -> tg::Grads<double> { return {ctx.grad() * ctx.input(0) * 2.0}; },
        [](const tg::Forward<double>& ctx) { return ctx.tangent(0) * ctx.input(0) * 4.0; });
}

// 3x^2 with a right backward (6x) and a tangent rule claiming 3x dx.
TensorD bad_tangent_cube_prime(const TensorD& x) {
    return tg::record<double>(
        "bad_tangent_cube_prime", {x}, xt::xarray<double>(3.0 * x.value() * x.value()),
        [](const tg::Backward<double>& ctx) -> tg::Grads<double> { return {ctx.grad() * ctx.input(0) * 6.0}; },
        [](const tg::Forward<double>& ctx) { return ctx.tangent(0) * ctx.input(0) * 3.0; });
}

// x^3 whose backward is right to every order in reverse mode, but whose backward's tangent is wrong:
// only forward over reverse (gradgradcheck with check_forward_ad) sees it.
TensorD cube_for_forward(const TensorD& x) {
    return tg::record<double>("cube_for_forward", {x}, xt::xarray<double>(x.value() * x.value() * x.value()),
                              [](const tg::Backward<double>& ctx) -> tg::Grads<double> {
                                  return {ctx.grad() * bad_tangent_cube_prime(ctx.input(0))};
                              });
}

// x^2 with a right backward and no tangent rule: forward mode derives its tangent from the backward.
TensorD square_without_tangent(const TensorD& x) {
    return tg::record<double>(
        "square_without_tangent", {x}, xt::xarray<double>(x.value() * x.value()),
        [](const tg::Backward<double>& ctx) -> tg::Grads<double> { return {ctx.grad() * ctx.input(0) * 2.0}; });
}

TensorD sample(const Shape& shape, std::uint64_t seed, double low = 0.5, double high = 2.0) {
    tg::Generator gen(seed);
    return tg::rand<double>(shape, gen, low, high, true);
}

tg::GradcheckOptions fast() {
    tg::GradcheckOptions o;
    o.fast_mode = true;
    return o;
}

tg::GradcheckOptions forward_ad(bool fast_mode = false) {
    tg::GradcheckOptions o;
    o.fast_mode = fast_mode;
    o.check_forward_ad = true;
    return o;
}

}  // namespace

TEST_CASE("gradcheck: passes correct ops, with broadcasting", "[autograd][gradcheck]") {
    auto f = [](const Inputs& in) { return tg::exp(in[0]) * in[1] / (in[1] * in[1] + 1.0) + tg::sqrt(in[0]); };
    const Inputs xs = {sample({2, 3}, 1), sample({3}, 2, -1.0, 1.0)};
    const auto full = tg::gradcheck<double>(f, xs);
    INFO(full.report());
    CHECK(full.ok);
    CHECK(full.checked == 6 * 6 + 6 * 3);  // every Jacobian entry of both inputs
    CHECK(full.what == "gradcheck");
    CHECK_THAT(full.report(), Contains("passed"));
    CHECK(tg::gradcheck<double>(f, xs, fast()).ok);
    const auto second = tg::gradgradcheck<double>(f, xs);
    INFO(second.report());
    CHECK(second.ok);
    CHECK(tg::gradgradcheck<double>(f, xs, fast()).ok);
}

TEST_CASE("gradcheck: catches a backward off by a factor of 2", "[autograd][gradcheck]") {
    TensorD x = sample({2, 3}, 3);
    const auto r = tg::gradcheck<double>([](const Inputs& in) { return bad_square(in[0]); }, {x});
    REQUIRE_FALSE(r.ok);
    CHECK_FALSE(static_cast<bool>(r));
    CHECK(r.checked == 36);
    CHECK(r.mismatches == 6);  // the diagonal; off-diagonal entries are 0 on both sides
    auto it = std::find_if(r.reported.begin(), r.reported.end(), [](const auto& m) { return m.element == "[1, 2]"; });
    REQUIRE(it != r.reported.end());
    const double x12 = x.value()(1, 2);
    CHECK(it->input == 0);
    CHECK(it->input_name == "input 0");
    CHECK(it->output_element == "[1, 2]");
    CHECK(it->analytic == Approx(4 * x12).epsilon(1e-12));
    CHECK(it->numeric == Approx(2 * x12).epsilon(1e-6));
    const std::string report = r.report();
    CHECK_THAT(report, Contains("gradcheck failed: 6 of 36") && Contains("input 0 element [1, 2], output [1, 2]") &&
                           Contains(fmt::format("analytic {:.10g}", it->analytic)) &&
                           Contains(fmt::format("numeric {:.10g}", it->numeric)) && Contains("eps 1e-06"));
}

TEST_CASE("gradcheck: fast mode catches the wrong backward too", "[autograd][gradcheck]") {
    const auto r = tg::gradcheck<double>([](const Inputs& in) { return bad_square(in[0]) + in[1]; },
                                         {sample({2, 3}, 4), sample({3}, 5)}, fast());
    REQUIRE_FALSE(r.ok);
    CHECK(r.checked == 3 * 2);  // 3 directions x 2 inputs
    CHECK(r.mismatches == 3);   // only input 0 is wrong
    for (const auto& m : r.reported) {
        CHECK(m.input == 0);
        CHECK_THAT(m.element, Contains("direction"));
        CHECK(m.analytic == Approx(2 * m.numeric).epsilon(1e-5));
    }
}

TEST_CASE("gradcheck: a wrong second derivative is caught only by gradgradcheck", "[autograd][gradcheck]") {
    auto f = [](const Inputs& in) { return cube(in[0]); };
    const Inputs xs = {sample({2, 2}, 6)};
    const auto first = tg::gradcheck<double>(f, xs);
    INFO(first.report());
    CHECK(first.ok);
    const auto second = tg::gradgradcheck<double>(f, xs);
    REQUIRE_FALSE(second.ok);
    CHECK(second.what == "gradgradcheck");
    CHECK(second.mismatches == 4);  // d/dx of (3x^2 u) on the diagonal; d/du is right
    for (const auto& m : second.reported) {
        CHECK(m.input == 0);
        CHECK(m.analytic == Approx(0.5 * m.numeric).epsilon(1e-5));  // 3xu claimed, 6xu true
    }
    CHECK_THAT(second.report(), Contains("gradgradcheck failed") && Contains("input 0 element [1, 1]"));
    CHECK_FALSE(tg::gradgradcheck<double>(f, xs, fast()).ok);
}

TEST_CASE("gradcheck: gradgradcheck passes correct second derivatives", "[autograd][gradcheck]") {
    auto f = [](const Inputs& in) { return in[0] * in[0] * in[1] + tg::log(in[0]) * tg::exp(in[1]); };
    const auto r = tg::gradgradcheck<double>(f, {sample({3}, 7), sample({3}, 8)});
    INFO(r.report());
    CHECK(r.ok);
    CHECK(r.checked == (3 + 3) * (3 + 3 + 3));  // outputs: 2 gradients; inputs: x, y and u
}

TEST_CASE("gradcheck: float32 inputs are refused with the reason", "[autograd][gradcheck][errors]") {
    tg::TensorF x({1.f, 2.f}, true);
    auto f = [](const std::vector<tg::TensorF>& in) { return in[0] * in[0]; };
    CHECK_THROWS_MATCHES(tg::gradcheck<float>(f, {x}), tg::ValueError,
                         Says("gradcheck") && Says("float32") && Says("to<double>"));
    CHECK_THROWS_MATCHES(tg::gradgradcheck<float>(f, {x}), tg::ValueError, Says("gradgradcheck") && Says("float32"));
}

TEST_CASE("gradcheck: the user's inputs are left unchanged", "[autograd][gradcheck]") {
    TensorD x = sample({2, 3}, 9);
    TensorD y = sample({3}, 10) * 2.0;  // a non-leaf input
    const xt::xarray<double> x0 = x.value(), y0 = y.value();
    const auto xv = x.version(), yv = y.version();
    const std::size_t tape = tg::Tape::current().size();
    auto f = [](const Inputs& in) { return tg::exp(in[0]) * in[1]; };
    CHECK(tg::gradcheck<double>(f, {x, y}).ok);
    CHECK(tg::gradcheck<double>(f, {x, y}, fast()).ok);
    CHECK(tg::gradgradcheck<double>(f, {x, y}).ok);
    CHECK(x.value() == x0);
    CHECK(y.value() == y0);
    CHECK(x.version() == xv);
    CHECK(y.version() == yv);
    CHECK_FALSE(x.grad().defined());
    CHECK(x.is_leaf());
    CHECK(y.grad_fn_name() == "mul");
    CHECK(tg::Tape::current().size() == tape);  // the check's own graphs are gone
}

TEST_CASE("gradcheck: finite-difference forwards run under NoGradGuard", "[autograd][gradcheck]") {
    int recorded = 0, unrecorded = 0;
    auto f = [&](const Inputs& in) {
        ++(tg::is_grad_enabled() ? recorded : unrecorded);
        return tg::exp(in[0]);
    };
    REQUIRE(tg::gradcheck<double>(f, {sample({3}, 11)}).ok);
    CHECK(recorded == 1);        // the forward the analytic gradients come from
    CHECK(unrecorded == 2 * 3);  // two per element
}

TEST_CASE("gradcheck: only inputs that require grad are checked", "[autograd][gradcheck]") {
    TensorD c = sample({3}, 12);
    c.requires_grad_(false);
    auto f = [](const Inputs& in) { return in[0] * bad_square(in[1]) + in[2] * 2.0; };
    const auto r = tg::gradcheck<double>(f, {sample({3}, 13), c, sample({3}, 14)});
    INFO(r.report());
    CHECK(r.ok);
    CHECK(r.checked == 9 + 9);
}

TEST_CASE("gradcheck: an input the output does not use has a zero Jacobian", "[autograd][gradcheck]") {
    auto f = [](const Inputs& in) { return in[0] * 2.0; };
    const auto r = tg::gradcheck<double>(f, {sample({2}, 15), sample({2}, 16)});
    INFO(r.report());
    CHECK(r.ok);
    CHECK(tg::gradgradcheck<double>(f, {sample({2}, 15), sample({2}, 16)}).ok);
}

TEST_CASE("gradcheck: 0-d inputs are named by an empty index", "[autograd][gradcheck]") {
    const auto r = tg::gradcheck<double>([](const Inputs& in) { return bad_square(in[0]); }, {TensorD(1.5, true)});
    REQUIRE(r.mismatches == 1);
    CHECK(r.reported[0].element == "[]");
    CHECK(r.reported[0].output_element == "[]");
}

TEST_CASE("gradcheck: the report lists at most max_reported mismatches", "[autograd][gradcheck]") {
    tg::GradcheckOptions o;
    o.max_reported = 3;
    const auto r = tg::gradcheck<double>([](const Inputs& in) { return bad_square(in[0]); }, {sample({4, 5}, 17)}, o);
    CHECK(r.mismatches == 20);
    CHECK(r.reported.size() == 3);
    CHECK_THAT(r.report(), Contains("and 17 more"));
}

TEST_CASE("gradcheck: bad arguments are refused", "[autograd][gradcheck][errors]") {
    auto f = [](const Inputs& in) { return in[0] * 2.0; };
    CHECK_THROWS_MATCHES(tg::gradcheck<double>(f, {TensorD({1.0, 2.0})}), tg::ValueError,
                         Says("no input requires grad"));
    tg::GradcheckOptions o;
    o.eps = 0;
    CHECK_THROWS_MATCHES(tg::gradcheck<double>(f, {sample({2}, 18)}, o), tg::ValueError, Says("eps"));
    CHECK_THROWS_MATCHES(tg::gradcheck<double>(f, {TensorD()}), tg::ValueError, Says("input 0 is undefined"));
}

TEST_CASE("gradcheck: check_forward_ad catches a tangent rule off by a factor of 2 that the backward check passes",
          "[autograd][gradcheck][fwad]") {
    TensorD x = sample({2, 3}, 3);
    auto f = [](const Inputs& in) { return bad_tangent_square(in[0]); };
    CHECK(tg::gradcheck<double>(f, {x}).ok);
    const auto r = tg::gradcheck<double>(f, {x}, forward_ad());
    REQUIRE_FALSE(r.ok);
    CHECK(r.checked == 2 * 36);  // each Jacobian entry by the tape and by tangents
    CHECK(r.mismatches == 6);    // the diagonal, by tangents only
    for (const auto& m : r.reported) {
        CHECK_THAT(m.element, Contains("(forward mode)"));
        CHECK(m.analytic == Approx(2 * m.numeric).epsilon(1e-6));
    }
    CHECK_THAT(r.report(), Contains("input 0 element [1, 2] (forward mode), output [1, 2]"));
    const auto directions = tg::gradcheck<double>(f, {x}, forward_ad(true));
    REQUIRE_FALSE(directions.ok);
    CHECK(directions.checked == 2 * 3);
    CHECK(directions.mismatches == 3);
    for (const auto& m : directions.reported) CHECK_THAT(m.element, Contains("u^T J v, forward mode"));
}

TEST_CASE(
    "gradcheck: check_forward_ad passes own tangent rules, the rule derived from a backward, and forward "
    "over reverse",
    "[autograd][gradcheck][fwad]") {
    auto f = [](const Inputs& in) {
        return tg::exp(in[0]) * in[1] / (in[1] * in[1] + 1.0) + tg::sqrt(in[0]) + square_without_tangent(in[1]);
    };
    const Inputs xs = {sample({2, 3}, 1), sample({3}, 2, -1.0, 1.0)};
    for (const bool fast_mode : {false, true}) {
        const auto first = tg::gradcheck<double>(f, xs, forward_ad(fast_mode));
        INFO(first.report());
        CHECK(first.ok);
        const auto second = tg::gradgradcheck<double>(f, xs, forward_ad(fast_mode));
        INFO(second.report());
        CHECK(second.ok);
    }
    CHECK(tg::gradcheck<double>(f, xs, forward_ad()).checked == 2 * (6 * 6 + 6 * 3));
}

TEST_CASE("gradcheck: a wrong tangent of a backward op is caught only by gradgradcheck with check_forward_ad",
          "[autograd][gradcheck][fwad]") {
    auto f = [](const Inputs& in) { return cube_for_forward(in[0]); };
    const Inputs xs = {sample({2, 2}, 6)};
    CHECK(tg::gradcheck<double>(f, xs, forward_ad()).ok);
    CHECK(tg::gradgradcheck<double>(f, xs).ok);
    const auto r = tg::gradgradcheck<double>(f, xs, forward_ad());
    REQUIRE_FALSE(r.ok);
    CHECK(r.mismatches == 4);  // d/dx of 3x^2 u by tangents, on the diagonal: 3x u claimed, 6x u true
    for (const auto& m : r.reported) {
        CHECK(m.input == 0);
        CHECK_THAT(m.element, Contains("(forward mode)"));
        CHECK(m.analytic == Approx(0.5 * m.numeric).epsilon(1e-5));
    }
}

TEST_CASE("gradcheck: check_forward_ad inside an open dual level is refused", "[autograd][gradcheck][fwad][errors]") {
    tg::fwad::DualLevel level;
    CHECK_THROWS_MATCHES(
        tg::gradcheck<double>([](const Inputs& in) { return in[0] * 2.0; }, {sample({2}, 1)}, forward_ad()),
        tg::ValueError, Says("gradcheck: check_forward_ad opens a dual level, and one is open on this thread"));
}
