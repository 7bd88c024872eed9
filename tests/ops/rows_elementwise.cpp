// Rows for arithmetic, elementwise and activation ops (ops/arithmetic, ops/elementwise,
// ops/activation).
#include <cmath>
#include <numbers>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

const std::vector<std::vector<Shape>> binary_cases = {
    {{2, 3}, {2, 3}}, {{2, 3}, {3}}, {{3, 1}, {1, 4}}, {{}, {2, 2}}, {{2, 1}, {1}}};
const std::vector<std::vector<Shape>> unary_cases = {{{2, 3}}, {{}}, {{1, 4}}, {{2, 1, 2}}};

ErrorCase undefined_input(const std::string& name, std::function<void(const tg::TensorD&)> call) {
    return {"undefined x", {}, [call](const Inputs64&) { call(tg::TensorD()); }, Expect::Value, {name, "undefined"}};
}

// Completes `row` (name, op, readme and anything of its own, given with designated initialisers) as
// the binary op f(a, b), checked against r applied elementwise with broadcasting on the shared
// cases (unless the row has its own), with the error cases every binary op has before the row's own.
template <class F, class R>
OpInfo binary(OpInfo row, F f, R r) {
    const std::string name = row.op;
    ErrorCase mismatch{"shapes that do not broadcast",
                       {{2, 3}, {4}},
                       [f](const Inputs64& in) { f(in[0], in[1]); },
                       Expect::Shape,
                       {name, "[2, 3]", "[4]"}};
    ErrorCase undefined{
        "undefined b", {{2}}, [f](const Inputs64& in) { f(in[0], tg::TensorD()); }, Expect::Value, {name, "undefined"}};
    row.fn = op([f](const auto& in) { return f(in[0], in[1]); });
    if (row.cases.empty()) row.cases = binary_cases;
    row.reference = [r](const std::vector<Array>& x) { return ref::zip(x[0], x[1], r); };
    row.errors.insert(row.errors.begin(), {mismatch, undefined});
    return row;
}

// Completes `row` as the unary op f(x), checked against the scalar function r applied elementwise
// on the shared cases (unless the row has its own), with the undefined-input error case first.
template <class F, class R>
OpInfo unary(OpInfo row, F f, R r) {
    row.fn = op([f](const auto& in) { return f(in[0]); });
    if (row.cases.empty()) row.cases = unary_cases;
    row.reference = [r](const std::vector<Array>& x) { return ref::map(x[0], r); };
    row.errors.insert(row.errors.begin(), undefined_input(row.op, [f](const tg::TensorD& x) { f(x); }));
    return row;
}

// UNARY(exp, std::exp(v), .readme = {...}): the row of tg::exp(x), whose reference is the scalar
// expression in v; after the first two arguments come the row's other designated initialisers
// (in OpInfo's order: readme, cases, domains, errors, differentiable, tol).
#define UNARY(call, scalar, ...) \
    unary(                       \
        OpInfo{.op = #call, __VA_ARGS__}, [](const auto& x) { return tg::call(x); }, [](double v) { return scalar; })

const Domain positive{0.5, 2.0};
const Domain away_from_zero{-2.0, 2.0, {0.0}, 0.1};

double sigmoid(double v) {
    return 1 / (1 + std::exp(-v));
}
double phi(double v) {
    return 0.5 * (1 + std::erf(v / std::numbers::sqrt2));
}

std::vector<OpInfo> elementwise_rows() {
    return {
        binary(
            {.op = "add", .readme = {"`add(a, b)`, `a + b`", "a + b", "da = g, db = g"}},
            [](const auto& a, const auto& b) { return tg::add(a, b); }, [](double a, double b) { return a + b; }),
        binary(
            {.op = "sub", .readme = {"`sub(a, b)`, `a - b`", "a - b", "da = g, db = -g"}},
            [](const auto& a, const auto& b) { return tg::sub(a, b); }, [](double a, double b) { return a - b; }),
        binary(
            {.op = "mul", .readme = {"`mul(a, b)`, `a * b`", "a b", "da = g b, db = g a"}},
            [](const auto& a, const auto& b) { return tg::mul(a, b); }, [](double a, double b) { return a * b; }),
        binary(
            {.op = "div",
             .readme = {"`div(a, b)`, `a / b`", "a / b", "da = g / b, db = -g a / b²"},
             .domains = {Domain{}, away_from_zero}},
            [](const auto& a, const auto& b) { return tg::div(a, b); }, [](double a, double b) { return a / b; }),
        UNARY(neg, -v, .readme = {"`neg(x)`, `-x`", "-x", "dx = -g"}),
        UNARY(exp, std::exp(v), .readme = {"`exp(x)`", "eˣ", "dx = g y"}),
        UNARY(log, std::log(v), .readme = {"`log(x)`", "ln x", "dx = g / x"}, .domains = {positive}),
        UNARY(sqrt, std::sqrt(v), .readme = {"`sqrt(x)`", "√x", "dx = g / (2y)"}, .domains = {positive}),
        unary(
            {.name = "pow (p = 3)",
             .op = "pow",
             .readme = {"`pow(x, p)`", "xᵖ (scalar p)",
                        "dx = g p xᵖ⁻¹; dx = 0 for p = 0 (every derivative of an integer power is exact at 0)"},
             .errors = {{"NaN exponent",
                         {{2}},
                         [](const Inputs64& in) { tg::pow(in[0], std::nan("")); },
                         Expect::Value,
                         {"pow", "NaN"}}}},
            [](const auto& x) { return tg::pow(x, 3.0); }, [](double v) { return v * v * v; }),
        unary(
            {.name = "pow (p = 0.5)", .op = "pow", .domains = {positive}},
            [](const auto& x) { return tg::pow(x, 0.5); }, [](double v) { return std::sqrt(v); }),
        unary(
            {.name = "pow (p = -1.5)", .op = "pow", .domains = {positive}},
            [](const auto& x) { return tg::pow(x, -1.5); }, [](double v) { return 1 / (v * std::sqrt(v)); }),
        UNARY(abs, std::abs(v), .readme = {"`abs(x)`", "\\|x\\|", "dx = g sign(x), sign(0) = 0"},
              .domains = {away_from_zero}),
        UNARY(square, v * v, .readme = {"`square(x)`", "x x (composed)", "dx = 2 x g"}),
        unary(
            {.name = "clamp (-0.5, 0.7)",
             .op = "clamp",
             .readme = {"`clamp(x, lo, hi)`", "min(max(x, lo), hi)", "dx = g where lo ≤ x ≤ hi, else 0"},
             .domains = {Domain{-1.5, 1.5, {-0.5, 0.7}, 0.05}},
             .errors = {{"low above high",
                         {{2}},
                         [](const Inputs64& in) { tg::clamp(in[0], 1.0, -1.0); },
                         Expect::Value,
                         {"clamp", "low", "high"}}}},
            [](const auto& x) { return tg::clamp(x, -0.5, 0.7); },
            [](double v) { return std::min(std::max(v, -0.5), 0.7); }),
        unary(
            {.name = "clamp (low only)", .op = "clamp", .domains = {Domain{-1.5, 1.5, {0.25}, 0.05}}},
            [](const auto& x) { return tg::clamp(x, 0.25); }, [](double v) { return std::max(v, 0.25); }),
        UNARY(erf, std::erf(v), .readme = {"`erf(x)`", "erf x", "dx = g (2/√π) e^(-x²)"}),
        UNARY(relu, v > 0 ? v : 0.0, .readme = {"`relu(x)`", "max(x, 0)", "dx = g where x > 0, else 0 (0 at x = 0)"},
              .domains = {away_from_zero}),
        unary(
            {.name = "leaky_relu (slope 0.2)",
             .op = "leaky_relu",
             .readme = {"`leaky_relu(x, s)`", "x if x > 0 else s x", "dx = g where x > 0, else s g"},
             .domains = {away_from_zero}},
            [](const auto& x) { return tg::leaky_relu(x, 0.2); }, [](double v) { return v > 0 ? v : 0.2 * v; }),
        unary(
            {.name = "leaky_relu (default slope 0.01)", .op = "leaky_relu", .domains = {away_from_zero}},
            [](const auto& x) { return tg::leaky_relu(x); }, [](double v) { return v > 0 ? v : 0.01 * v; }),
        UNARY(sigmoid, sigmoid(v), .readme = {"`sigmoid(x)`", "1 / (1 + e⁻ˣ), stable", "dx = g y (1 - y)"}),
        UNARY(tanh, std::tanh(v), .readme = {"`tanh(x)`", "tanh x", "dx = g (1 - y²)"}),
        UNARY(softplus, std::log1p(std::exp(v)),
              .readme = {"`softplus(x)`", "max(x, 0) + log1p(e^-\\|x\\|)", "dx = g sigmoid(x)"}),
        UNARY(gelu, v * phi(v), .readme = {"`gelu(x)`", "x Φ(x) (composed from erf)", "dx = g (Φ(x) + x φ(x))"}),
    };
}

const RegisterFamily registered{{.name = "elementwise", .order = 10, .rows = elementwise_rows}};

}  // namespace

}  // namespace optable
