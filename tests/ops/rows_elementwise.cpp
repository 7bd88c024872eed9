// Rows for arithmetic, elementwise (exponentials and logarithms, trigonometric and hyperbolic,
// rounding) and activation ops (ops/arithmetic, ops/elementwise,
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
// The same plus {3, 7}, longer than a vector register with a remainder: ops with an xsimd kernel.
const std::vector<std::vector<Shape>> vector_cases = {{{2, 3}}, {{}}, {{1, 4}}, {{2, 1, 2}}, {{3, 7}}};

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
const Domain log1p_domain{-0.5, 2.0};
const Domain inside_unit{-0.9, 0.9};                      // asin, acos: away from the poles at +-1
const Domain tan_domain{-1.2, 1.2};                       // away from the poles at +-pi/2
const Domain off_integers{-2.0, 2.0, {-2, -1, 0, 1, 2}};  // floor, ceil: away from the jumps
const Domain off_halves{-2.4, 2.4, {-1.5, -0.5, 0.5, 1.5}};
const Domain hard_domain{-4.0, 4.0, {-3.0, 3.0}};  // hardsigmoid, hardswish: the kinks at +-3

double sigmoid(double v) {
    return 1 / (1 + std::exp(-v));
}
double phi(double v) {
    return 0.5 * (1 + std::erf(v / std::numbers::sqrt2));
}
double softplus(double v) {
    return std::log(1 + std::exp(v));
}
// Half to even: the nearer integer, and of two equally near the even one.
double round_half_even(double v) {
    const double lower = std::floor(v);
    const double frac = v - lower;
    if (frac != 0.5) return frac < 0.5 ? lower : lower + 1;
    return std::fmod(lower, 2.0) == 0 ? lower : lower + 1;
}
double relu6(double v) {
    return std::min(std::max(v, 0.0), 6.0);
}
const double selu_alpha = 1.6732632423543772848170429916717;
const double selu_scale = 1.0507009873554804934193349852946;

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
        UNARY(log1p, std::log(1 + v), .readme = {"`log1p(x)`", "ln(1 + x), accurate near 0", "dx = g / (1 + x)"},
              .domains = {log1p_domain}),
        UNARY(expm1, std::exp(v) - 1, .readme = {"`expm1(x)`", "eˣ - 1, accurate near 0", "dx = g (y + 1)"}),
        UNARY(log2, std::log(v) / std::log(2.0), .readme = {"`log2(x)`", "log₂ x", "dx = g / (x ln 2)"},
              .domains = {positive}),
        UNARY(log10, std::log(v) / std::log(10.0), .readme = {"`log10(x)`", "log₁₀ x", "dx = g / (x ln 10)"},
              .domains = {positive}),
        UNARY(exp2, std::pow(2.0, v), .readme = {"`exp2(x)`", "2ˣ", "dx = g y ln 2"}),
        UNARY(reciprocal, 1 / v, .readme = {"`reciprocal(x)`", "1 / x", "dx = -g y²"}, .domains = {away_from_zero}),
        UNARY(rsqrt, 1 / std::sqrt(v), .readme = {"`rsqrt(x)`", "1 / √x", "dx = -g y³ / 2"}, .domains = {positive}),
        UNARY(sin, std::sin(v), .readme = {"`sin(x)`", "sin x", "dx = g cos x"}),
        UNARY(cos, std::cos(v), .readme = {"`cos(x)`", "cos x", "dx = -g sin x"}),
        UNARY(tan, std::sin(v) / std::cos(v), .readme = {"`tan(x)`", "tan x", "dx = g (1 + y²)"},
              .domains = {tan_domain}),
        UNARY(asin, std::asin(v), .readme = {"`asin(x)`", "arcsin x", "dx = g / √(1 - x²)"}, .domains = {inside_unit}),
        UNARY(acos, std::acos(v), .readme = {"`acos(x)`", "arccos x", "dx = -g / √(1 - x²)"}, .domains = {inside_unit}),
        UNARY(atan, std::atan(v), .readme = {"`atan(x)`", "arctan x", "dx = g / (1 + x²)"}),
        binary(
            {.op = "atan2",
             .readme = {"`atan2(a, b)`", "the angle of the point (b, a), in [-π, π]",
                        "da = g b / (a² + b²), db = -g a / (a² + b²)"},
             .domains = {away_from_zero, Domain{}}},  // a != 0: never across the cut at a = 0, b < 0
            [](const auto& a, const auto& b) { return tg::atan2(a, b); },
            [](double a, double b) { return std::atan2(a, b); }),
        UNARY(sinh, (std::exp(v) - std::exp(-v)) / 2, .readme = {"`sinh(x)`", "sinh x", "dx = g cosh x"}),
        UNARY(cosh, (std::exp(v) + std::exp(-v)) / 2, .readme = {"`cosh(x)`", "cosh x", "dx = g sinh x"}),
        binary(
            {.op = "hypot",
             .readme = {"`hypot(a, b)`", "√(a² + b²) without overflow", "da = g a / y, db = g b / y"},
             .domains = {away_from_zero, Domain{}}},  // away from the cone's tip at a = b = 0
            [](const auto& a, const auto& b) { return tg::hypot(a, b); },
            [](double a, double b) { return std::sqrt(a * a + b * b); }),
        binary(
            {.name = "pow (tensor exponent)",
             .op = "pow",
             .readme = {"`pow(b, e)` (tensors)", "bᵉ",
                        "db = g e bᵉ⁻¹ (0 where e = 0), de = g y ln b (0 where b = 0 and e ≥ 0)"},
             .domains = {positive, Domain{}}},
            [](const auto& b, const auto& e) { return tg::pow(b, e); },
            [](double b, double e) { return std::exp(e * std::log(b)); }),
        UNARY(sign, double((v > 0) - (v < 0)),
              .readme = {"`sign(x)`", "-1, 0 or 1 (NaN for NaN; PyTorch gives 0)", "dx = 0"},
              .domains = {away_from_zero}),
        UNARY(floor, std::floor(v), .readme = {"`floor(x)`, `ceil(x)`", "⌊x⌋, ⌈x⌉", "dx = 0"},
              .domains = {off_integers}),
        UNARY(ceil, std::ceil(v), .domains = {off_integers}),
        UNARY(round, round_half_even(v), .readme = {"`round(x)`", "nearest integer, halves to even", "dx = 0"},
              .domains = {off_halves}),
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
        UNARY(sigmoid, sigmoid(v), .readme = {"`sigmoid(x)`", "1 / (1 + e⁻ˣ), stable, vectorised", "dx = g y (1 - y)"},
              .cases = vector_cases),
        UNARY(tanh, std::tanh(v), .readme = {"`tanh(x)`", "tanh x, vectorised", "dx = g (1 - y²)"},
              .cases = vector_cases),
        UNARY(softplus, softplus(v),
              .readme = {"`softplus(x[, beta, threshold])`",
                         "log(1 + e^(βx)) / β, stable; x where βx > threshold (β = 1, threshold = 20)",
                         "dx = g sigmoid(βx); g where βx > threshold"}),
        unary(
            {.name = "softplus (beta 2, threshold 3)",
             .op = "softplus",
             .domains = {Domain{-3.0, 3.0, {1.5}}},  // the jump at beta x = threshold
             .errors = {{"beta 0",
                         {{2}},
                         [](const Inputs64& in) { tg::softplus(in[0], 0.0); },
                         Expect::Value,
                         {"softplus", "beta"}},
                        {"NaN threshold",
                         {{2}},
                         [](const Inputs64& in) { tg::softplus(in[0], 1.0, std::nan("")); },
                         Expect::Value,
                         {"softplus", "threshold", "NaN"}}}},
            [](const auto& x) { return tg::softplus(x, 2.0, 3.0); },
            [](double v) { return 2 * v > 3 ? v : std::log(1 + std::exp(2 * v)) / 2; }),
        UNARY(gelu, v * phi(v), .readme = {"`gelu(x)`", "x Φ(x), vectorised", "dx = g (Φ(x) + x φ(x))"},
              .cases = vector_cases),
        unary(
            {.name = "gelu (tanh)",
             .op = "gelu",
             .readme = {"`gelu(x, GeluApproximate::Tanh)`", "½x (1 + tanh(√(2/π) (x + 0.044715 x³))) (composed)",
                        "dx = g (Φ̃(x) + x Φ̃′(x)), Φ̃ the tanh approximation of Φ"},
             .errors = {{"approximate out of range",
                         {{2}},
                         [](const Inputs64& in) { tg::gelu(in[0], static_cast<tg::GeluApproximate>(7)); },
                         Expect::Value,
                         {"gelu", "approximate"}}}},
            [](const auto& x) { return tg::gelu(x, tg::GeluApproximate::Tanh); },
            [](double v) {
                return 0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
            }),
        UNARY(silu, v / (1 + std::exp(-v)),
              .readme = {"`silu(x)` (swish)", "x sigmoid(x), stable", "dx = g s (1 + x (1 - s)), s = sigmoid(x)"}),
        UNARY(mish, v * std::tanh(softplus(v)),
              .readme = {"`mish(x)`", "x tanh(softplus(x)), stable",
                         "dx = g (t + x sigmoid(x) (1 - t²)), t = tanh(softplus(x))"}),
        UNARY(elu, v > 0 ? v : std::exp(v) - 1,
              .readme = {"`elu(x[, alpha])`", "x if x > 0 else α (eˣ - 1) (α = 1)",
                         "dx = g where x > 0, else g (y + α) (at 0: α g)"},
              .domains = {away_from_zero}),
        unary(
            {.name = "elu (alpha 0.5)",
             .op = "elu",
             .domains = {away_from_zero},
             .errors = {{"NaN alpha",
                         {{2}},
                         [](const Inputs64& in) { tg::elu(in[0], std::nan("")); },
                         Expect::Value,
                         {"elu", "alpha", "NaN"}}}},
            [](const auto& x) { return tg::elu(x, 0.5); },
            [](double v) { return v > 0 ? v : 0.5 * (std::exp(v) - 1); }),
        UNARY(selu, selu_scale * (v > 0 ? v : selu_alpha * (std::exp(v) - 1)),
              .readme = {"`selu(x)`", "λ elu(x, α), PyTorch's λ ≈ 1.0507, α ≈ 1.6733",
                         "dx = g λ where x > 0, else g (y + λα) (at 0: λα g)"},
              .domains = {away_from_zero}),
        UNARY(celu, v > 0 ? v : std::exp(v) - 1,
              .readme = {"`celu(x[, alpha])`", "x if x > 0 else α (e^(x/α) - 1) (α = 1)",
                         "dx = g where x > 0, else g (y/α + 1) (at 0: g)"},
              .domains = {away_from_zero}),
        unary(
            {.name = "celu (alpha 2)",
             .op = "celu",
             .domains = {Domain{-3.0, 3.0, {0.0}, 0.1}},
             .errors = {{"alpha 0",
                         {{2}},
                         [](const Inputs64& in) { tg::celu(in[0], 0.0); },
                         Expect::Value,
                         {"celu", "alpha"}}}},
            [](const auto& x) { return tg::celu(x, 2.0); },
            [](double v) { return v > 0 ? v : 2 * (std::exp(v / 2) - 1); }),
        UNARY(hardtanh, std::min(std::max(v, -1.0), 1.0),
              .readme = {"`hardtanh(x[, min, max])`", "min(max(x, min), max) (-1, 1)",
                         "dx = g where min < x < max, else 0 (0 at the kinks)"},
              .domains = {Domain{-2.0, 2.0, {-1.0, 1.0}}}),
        unary(
            {.name = "hardtanh (-0.5, 0.7)",
             .op = "hardtanh",
             .domains = {Domain{-1.5, 1.5, {-0.5, 0.7}}},
             .errors = {{"min above max",
                         {{2}},
                         [](const Inputs64& in) { tg::hardtanh(in[0], 1.0, -1.0); },
                         Expect::Value,
                         {"hardtanh", "min_val", "max_val"}}}},
            [](const auto& x) { return tg::hardtanh(x, -0.5, 0.7); },
            [](double v) { return std::min(std::max(v, -0.5), 0.7); }),
        UNARY(
            hardsigmoid, relu6(v + 3) / 6,
            .readme = {"`hardsigmoid(x)`", "relu6(x + 3) / 6", "dx = g / 6 where -3 < x < 3, else 0 (0 at the kinks)"},
            .domains = {hard_domain}),
        UNARY(hardswish, v * relu6(v + 3) / 6,
              .readme = {"`hardswish(x)`", "x relu6(x + 3) / 6",
                         "dx = 0 where x < -3, g (x/3 + ½) where -3 ≤ x ≤ 3, g where x > 3"},
              .domains = {hard_domain}),
        UNARY(softsign, v / (1 + std::abs(v)),
              .readme = {"`softsign(x)`", "x / (1 + \\|x\\|)", "dx = g / (1 + \\|x\\|)²"},
              .domains = {away_from_zero}),  // the second derivative's kink at 0
        UNARY(logsigmoid, -std::log(1 + std::exp(-v)),
              .readme = {"`logsigmoid(x)`", "-softplus(-x), stable", "dx = g sigmoid(-x)"}),
    };
}

const RegisterFamily registered{{.name = "elementwise", .order = 10, .rows = elementwise_rows}};

}  // namespace

}  // namespace optable
