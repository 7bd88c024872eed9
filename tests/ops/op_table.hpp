// The op table (PyTorch's OpInfo): one row per public op, iterated by the generic tests in
// op_table_test.cpp (and by tests/reliability). Rows live in one table file per op family,
// tests/ops/rows_<family>.cpp, each built with designated initialisers and registered by a
// `Family` object in that file; the build finds the files by their name, and op_table() collects
// the families. Adding an op = one row in its family's file.
#pragma once

#include <functional>
#include <limits>
#include <source_location>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include <tapegrad/tapegrad.hpp>

namespace optable {

namespace tg = tapegrad;
using tg::Shape;
using Array = xt::xarray<double>;
using Inputs64 = std::vector<tg::TensorD>;
using Inputs32 = std::vector<tg::TensorF>;

/// The op under test, for both dtypes (built from one generic lambda by `op()`).
struct OpFn {
    std::function<tg::TensorD(const Inputs64&)> f64;
    std::function<tg::TensorF(const Inputs32&)> f32;
};

/// `op([](const auto& in) { return tg::relu(in[0]); })`: the same call for float and double.
template <class F>
OpFn op(F f) {
    return {[f](const Inputs64& in) { return f(in); }, [f](const Inputs32& in) { return f(in); }};
}

/// The forward written independently with plain xtensor and loops, on float64 values.
using Reference = std::function<Array(const std::vector<Array>&)>;

/// Where an input's values are drawn: uniform in [low, high), resampled within `margin` of a
/// kink in `avoid`; `distinct` keeps every pair of elements `margin` apart (max's ties).
struct Domain {
    double low = -2.0;
    double high = 2.0;
    std::vector<double> avoid = {};
    double margin = 0.05;
    bool distinct = false;
};

enum class Expect { Shape, Value };

/// A call that must throw `expect` with every fragment (op, argument, shapes) in its message.
struct ErrorCase {
    std::string what;
    std::vector<Shape> shapes;
    std::function<void(const Inputs64&)> call;
    Expect expect;
    std::vector<std::string> fragments;
};

/// An ErrorCase whose call takes the first input alone:
/// `error_case("k too large", {{2, 3}}, [](const tg::TensorD& x) { tg::topk(x, 4); }, Expect::Value, {"topk"})`.
inline ErrorCase error_case(std::string what, std::vector<Shape> shapes, std::function<void(const tg::TensorD&)> call,
                            Expect expect, std::vector<std::string> fragments) {
    return {std::move(what), std::move(shapes), [call = std::move(call)](const Inputs64& in) { call(in[0]); }, expect,
            std::move(fragments)};
}

struct Tolerances {
    double grad_atol = 1e-5;  // gradcheck's defaults
    double grad_rtol = 1e-3;
    double fwd64 = 1e-12;  // relative + absolute, float64 forward vs the reference
    double fwd32 = 2e-6;   // the same for float32 (inputs rounded to float first)
};

/// The op's line in README.md's op table (scripts/update_readme_ops.sh writes it there). Only rows
/// with a `call` emit a line, so one line can stand for several rows (sum with and without axes).
struct ReadmeLine {
    std::string call;      // "`sum(x[, axes, keepdims])`"
    std::string forward;   // markdown, as the README shows it
    std::string backward;  // the derivative, with g the incoming gradient and y the output
};

/// One row; build it with designated initialisers, its error cases inline:
///   OpInfo{.name = "max (all)", .op = "max", .fn = op(...), .cases = {...}, .reference = ..., .errors = {...}}
struct OpInfo {
    std::string name;  // shown in failures: "sum (axes {0}, keepdims)"; empty: the op's name
    std::string op;    // the declared function name, for the coverage test
    ReadmeLine readme = {};
    OpFn fn = {};
    std::vector<std::vector<Shape>> cases = {};  // input shapes, one list per case
    std::vector<Domain> domains = {Domain{}};    // one per input, or one for all
    Reference reference = {};
    std::vector<ErrorCase> errors = {};
    std::vector<bool> differentiable = {};  // per input; empty: all
    Tolerances tol = {};
};

/// An op family's table: its rows, and where they go in the table (families are listed by `order`,
/// then name; that is also the order of README.md's op table).
struct Family {
    std::string name;
    int order = 0;
    std::vector<OpInfo> (*rows)() = nullptr;
    std::string file = {};  // the table file that registered it (filled in by RegisterFamily)
};

/// Registers a family during static initialisation. Each tests/ops/rows_<family>.cpp holds one, at
/// namespace scope: `const RegisterFamily registered{{.name = "loss", .order = 40, .rows = loss_rows}};`
/// (the files are linked as objects, never from an archive, so every registration runs).
struct RegisterFamily {
    explicit RegisterFamily(Family family, std::source_location where = std::source_location::current());
};

/// Every registered family, in order.
std::vector<const Family*> families();

/// Every row of every family, in order (built on first use).
const std::vector<OpInfo>& op_table();

/// README.md's op table, generated from the rows' `readme` lines (header included).
std::string readme_table();

/// Inputs for case `c` of a row, drawn from its domains with a fixed seed.
Inputs64 make_inputs(const OpInfo& row, const std::vector<Shape>& shapes, std::uint64_t seed);

/// Class labels for a batch x classes tensor: row i gets (i * 2 + 1) % classes.
tg::Labels labels_for(const Shape& shape);

}  // namespace optable
