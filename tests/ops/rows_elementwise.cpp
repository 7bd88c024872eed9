// Rows for arithmetic, elementwise and activation ops.
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

template <class F, class R>
OpInfo binary(const std::string& name, F f, R r, std::vector<Domain> domains = {Domain{}}) {
    ErrorCase mismatch{"shapes that do not broadcast",
                       {{2, 3}, {4}},
                       [f](const Inputs64& in) { f(in[0], in[1]); },
                       Expect::Shape,
                       {name, "[2, 3]", "[4]"}};
    ErrorCase undefined{
        "undefined b", {{2}}, [f](const Inputs64& in) { f(in[0], tg::TensorD()); }, Expect::Value, {name, "undefined"}};
    return {name,
            name,
            op([f](const auto& in) { return f(in[0], in[1]); }),
            binary_cases,
            std::move(domains),
            [r](const std::vector<Array>& x) { return ref::zip(x[0], x[1], r); },
            {mismatch, undefined}};
}

// A unary op whose reference is a scalar function applied elementwise.
template <class F, class R>
OpInfo unary(const std::string& name, const std::string& op_name, F f, R r, Domain domain = {}) {
    return {name,
            op_name,
            op([f](const auto& in) { return f(in[0]); }),
            unary_cases,
            {domain},
            [r](const std::vector<Array>& x) { return ref::map(x[0], r); },
            {undefined_input(op_name, [f](const tg::TensorD& x) { f(x); })}};
}

#define UNARY(name, call, scalar, ...) \
    unary(                             \
        name, #call, [](const auto& x) { return tg::call(x); }, [](double v) { return scalar; }, ##__VA_ARGS__)

const Domain positive{0.5, 2.0};
const Domain away_from_zero{-2.0, 2.0, {0.0}, 0.1};

double sigmoid(double v) {
    return 1 / (1 + std::exp(-v));
}
double phi(double v) {
    return 0.5 * (1 + std::erf(v / std::numbers::sqrt2));
}

}  // namespace

std::vector<OpInfo> elementwise_rows() {
    std::vector<OpInfo> rows = {
        binary(
            "add", [](const auto& a, const auto& b) { return tg::add(a, b); },
            [](double a, double b) { return a + b; }),
        binary(
            "sub", [](const auto& a, const auto& b) { return tg::sub(a, b); },
            [](double a, double b) { return a - b; }),
        binary(
            "mul", [](const auto& a, const auto& b) { return tg::mul(a, b); },
            [](double a, double b) { return a * b; }),
        binary(
            "div", [](const auto& a, const auto& b) { return tg::div(a, b); }, [](double a, double b) { return a / b; },
            {Domain{}, away_from_zero}),
        UNARY("neg", neg, -v),
        UNARY("exp", exp, std::exp(v)),
        UNARY("log", log, std::log(v), positive),
        UNARY("sqrt", sqrt, std::sqrt(v), positive),
        unary(
            "pow (p = 3)", "pow", [](const auto& x) { return tg::pow(x, 3.0); }, [](double v) { return v * v * v; }),
        unary(
            "pow (p = 0.5)", "pow", [](const auto& x) { return tg::pow(x, 0.5); },
            [](double v) { return std::sqrt(v); }, positive),
        unary(
            "pow (p = -1.5)", "pow", [](const auto& x) { return tg::pow(x, -1.5); },
            [](double v) { return 1 / (v * std::sqrt(v)); }, positive),
        UNARY("abs", abs, std::abs(v), away_from_zero),
        UNARY("square", square, v * v),
        unary(
            "clamp (-0.5, 0.7)", "clamp", [](const auto& x) { return tg::clamp(x, -0.5, 0.7); },
            [](double v) { return std::min(std::max(v, -0.5), 0.7); }, Domain{-1.5, 1.5, {-0.5, 0.7}, 0.05}),
        unary(
            "clamp (low only)", "clamp", [](const auto& x) { return tg::clamp(x, 0.25); },
            [](double v) { return std::max(v, 0.25); }, Domain{-1.5, 1.5, {0.25}, 0.05}),
        UNARY("erf", erf, std::erf(v)),
        UNARY("relu", relu, v > 0 ? v : 0.0, away_from_zero),
        unary(
            "leaky_relu (slope 0.2)", "leaky_relu", [](const auto& x) { return tg::leaky_relu(x, 0.2); },
            [](double v) { return v > 0 ? v : 0.2 * v; }, away_from_zero),
        UNARY("leaky_relu (default slope 0.01)", leaky_relu, v > 0 ? v : 0.01 * v, away_from_zero),
        UNARY("sigmoid", sigmoid, sigmoid(v)),
        UNARY("tanh", tanh, std::tanh(v)),
        UNARY("softplus", softplus, std::log1p(std::exp(v))),
        UNARY("gelu", gelu, v * phi(v)),
    };
    auto& pow3 = rows[8];
    pow3.errors.push_back({"NaN exponent",
                           {{2}},
                           [](const Inputs64& in) { tg::pow(in[0], std::nan("")); },
                           Expect::Value,
                           {"pow", "NaN"}});
    for (auto& row : rows) {
        if (row.op == "clamp" && row.name.find("-0.5") != std::string::npos) {
            row.errors.push_back({"low above high",
                                  {{2}},
                                  [](const Inputs64& in) { tg::clamp(in[0], 1.0, -1.0); },
                                  Expect::Value,
                                  {"clamp", "low", "high"}});
        }
    }
    return rows;
}

}  // namespace optable
