// The op table (PyTorch's OpInfo): one row per public op, iterated by the generic tests in
// op_table_test.cpp. Adding an op = one row here.
#pragma once

#include <functional>
#include <limits>
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

struct Tolerances {
    double grad_atol = 1e-5;  // gradcheck's defaults
    double grad_rtol = 1e-3;
    double fwd64 = 1e-12;  // relative + absolute, float64 forward vs the reference
    double fwd32 = 2e-6;   // the same for float32 (inputs rounded to float first)
};

struct OpInfo {
    std::string name;  // shown in failures: "sum (axes {0}, keepdims)"
    std::string op;    // the declared function name, for the coverage test
    OpFn fn;
    std::vector<std::vector<Shape>> cases;  // input shapes, one list per case
    std::vector<Domain> domains;            // one per input, or one for all
    Reference reference;
    std::vector<ErrorCase> errors = {};
    std::vector<bool> differentiable = {};  // per input; empty: all
    Tolerances tol = {};
};

/// Rows by op family, each defined in its own file.
std::vector<OpInfo> elementwise_rows();
std::vector<OpInfo> reduce_shape_rows();
std::vector<OpInfo> matmul_softmax_rows();
std::vector<OpInfo> loss_rows();

/// Every row.
const std::vector<OpInfo>& op_table();

/// Inputs for case `c` of a row, drawn from its domains with a fixed seed.
Inputs64 make_inputs(const OpInfo& row, const std::vector<Shape>& shapes, std::uint64_t seed);

/// Class labels for a batch x classes tensor: row i gets (i * 2 + 1) % classes.
tg::Labels labels_for(const Shape& shape);

}  // namespace optable
