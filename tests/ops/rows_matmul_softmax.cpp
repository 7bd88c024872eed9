// Rows for matrix products and the softmax family.
#include <cmath>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

ErrorCase shape_error(const std::string& what, std::vector<Shape> shapes, std::function<void(const Inputs64&)> call,
                      std::vector<std::string> fragments) {
    return {what, std::move(shapes), std::move(call), Expect::Shape, std::move(fragments)};
}

// numpy matmul for the documented cases: a 1-D left operand is a row, a 1-D right one a
// column (dropped from the result); a 2-D right operand is shared by every batch.
Array matmul_ref(const Array& a, const Array& b) {
    const std::size_t k = a.shape()[a.dimension() - 1];
    Array a2 = a.dimension() == 1 ? ref::reshaped(a, {1, k}) : a;
    Array b2 = b.dimension() == 1 ? ref::reshaped(b, {k, 1}) : b;
    if (a2.dimension() == 3 && b2.dimension() == 2) {
        const std::size_t batch = a2.shape()[0], n = b2.shape()[1];
        Array tiled = ref::empty({batch, k, n});
        for (std::size_t i = 0; i < tiled.size(); ++i) tiled.data()[i] = b2.data()[i % (k * n)];
        b2 = tiled;
    }
    Array out = ref::matmul(a2, b2);
    ref::Index s = ref::shape_of(out);
    if (a.dimension() == 1) s.erase(s.end() - 2);
    if (b.dimension() == 1) s.erase(s.end() - 1);
    return ref::reshaped(out, s);
}

std::vector<OpInfo> matmul_rows() {
    const auto gemm_errors = std::vector<ErrorCase>{
        shape_error("inner dimensions differ", {{2, 3}, {4, 5}}, [](const Inputs64& in) { tg::gemm(in[0], in[1]); },
                    {"gemm", "[2, 3]", "[4, 5]"}),
        shape_error("1-D operand", {{3}, {3, 2}}, [](const Inputs64& in) { tg::gemm(in[0], in[1]); }, {"gemm", "[3]"}),
        shape_error("batch sizes differ", {{2, 2, 3}, {3, 3, 2}}, [](const Inputs64& in) { tg::gemm(in[0], in[1]); },
                    {"gemm", "[2, 2, 3]", "[3, 3, 2]"})};
    return {
        {"gemm",
         "gemm",
         op([](const auto& in) { return tg::gemm(in[0], in[1]); }),
         {{{2, 3}, {3, 4}}, {{2, 2, 3}, {2, 3, 2}}, {{1, 3}, {3, 1}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::matmul(x[0], x[1]); },
         gemm_errors},
        {"gemm (transpose_a)",
         "gemm",
         op([](const auto& in) { return tg::gemm(in[0], in[1], true, false); }),
         {{{3, 2}, {3, 4}}, {{2, 3, 2}, {2, 3, 2}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::matmul(ref::transpose_last(x[0]), x[1]); }},
        {"gemm (transpose_b)",
         "gemm",
         op([](const auto& in) { return tg::gemm(in[0], in[1], false, true); }),
         {{{2, 3}, {4, 3}}, {{2, 2, 3}, {2, 2, 3}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::matmul(x[0], ref::transpose_last(x[1])); }},
        {"gemm (transpose_a, transpose_b)",
         "gemm",
         op([](const auto& in) { return tg::gemm(in[0], in[1], true, true); }),
         {{{3, 2}, {4, 3}}, {{2, 3, 2}, {2, 2, 3}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::matmul(ref::transpose_last(x[0]), ref::transpose_last(x[1])); },
         {shape_error("inner dimensions differ after transposing", {{3, 2}, {4, 2}},
                      [](const Inputs64& in) { tg::gemm(in[0], in[1], true, true); }, {"gemm", "[3, 2]", "[4, 2]"})}},
        {"matmul",
         "matmul",
         op([](const auto& in) { return tg::matmul(in[0], in[1]); }),
         {{{2, 3}, {3, 4}}, {{2, 3}, {3}}, {{3}, {3, 2}}, {{2, 2, 3}, {2, 3, 2}}, {{2, 2, 3}, {3, 2}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return matmul_ref(x[0], x[1]); },
         {shape_error("inner dimensions differ", {{2, 3}, {4, 5}}, [](const Inputs64& in) { tg::matmul(in[0], in[1]); },
                      {"matmul", "[2, 3]", "[4, 5]"}),
          shape_error("vector of the wrong length", {{2, 3}, {4}}, [](const Inputs64& in) { tg::matmul(in[0], in[1]); },
                      {"matmul", "[2, 3]", "[4]"})}},
        {"linear",
         "linear",
         op([](const auto& in) { return tg::linear(in[0], in[1], in[2]); }),
         {{{2, 3}, {4, 3}, {4}}, {{1, 3}, {2, 3}, {2}}, {{2, 3}, {4, 3}, {1, 4}}},  // bias [out] or [1, out]
         {Domain{}},
         [](const std::vector<Array>& x) {
             const Array y = ref::matmul(x[0], ref::transpose_last(x[1]));
             return ref::zip(y, x[2], [](double a, double b) { return a + b; });
         },
         {shape_error("features differ", {{2, 3}, {4, 5}, {4}},
                      [](const Inputs64& in) { tg::linear(in[0], in[1], in[2]); }, {"linear", "[2, 3]", "[4, 5]"}),
          shape_error("bias of the wrong size", {{2, 3}, {4, 3}, {3}},
                      [](const Inputs64& in) { tg::linear(in[0], in[1], in[2]); }, {"linear", "bias", "[3]"})}},
        {"linear (no bias)",
         "linear",
         op([](const auto& in) { return tg::linear(in[0], in[1]); }),
         {{{2, 3}, {4, 3}}, {{3, 1}, {1, 1}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::matmul(x[0], ref::transpose_last(x[1])); }},
    };
}

std::vector<OpInfo> softmax_rows() {
    const std::vector<std::vector<Shape>> cases = {{{2, 3}}, {{3}}, {{2, 2, 3}}, {{2, 1}}};
    auto bad = [](const std::string& name, std::function<void(const tg::TensorD&)> call) {
        return ErrorCase{"axis out of range",
                         {{2, 3}},
                         [call](const Inputs64& in) { call(in[0]); },
                         Expect::Value,
                         {name, "dim", "2"}};
    };
    return {
        {"softmax (axis -1)",
         "softmax",
         op([](const auto& in) { return tg::softmax(in[0]); }),
         cases,
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::map(ref::log_softmax(x[0], x[0].dimension() - 1), [](double v) { return std::exp(v); });
         },
         {bad("softmax", [](const tg::TensorD& x) { tg::softmax(x, 2); })}},
        {"softmax (axis 0)",
         "softmax",
         op([](const auto& in) { return tg::softmax(in[0], 0); }),
         {{{3, 2}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::map(ref::log_softmax(x[0], 0), [](double v) { return std::exp(v); });
         }},
        {"log_softmax (axis -1)",
         "log_softmax",
         op([](const auto& in) { return tg::log_softmax(in[0]); }),
         cases,
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::log_softmax(x[0], x[0].dimension() - 1); },
         {bad("log_softmax", [](const tg::TensorD& x) { tg::log_softmax(x, 2); })}},
        {"log_softmax (axis 0)",
         "log_softmax",
         op([](const auto& in) { return tg::log_softmax(in[0], 0); }),
         {{{3, 2}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::log_softmax(x[0], 0); }},
        {"logsumexp (axis -1)",
         "logsumexp",
         op([](const auto& in) { return tg::logsumexp(in[0]); }),
         cases,
         {Domain{}},
         [](const std::vector<Array>& x) {
             const std::size_t axis = x[0].dimension() - 1;
             return ref::reshaped(ref::logsumexp(x[0], axis), ref::shape_of(ref::sum(x[0], {axis})));
         },
         {bad("logsumexp", [](const tg::TensorD& x) { tg::logsumexp(x, 2); })}},
        {"logsumexp (axis 0, keepdims)",
         "logsumexp",
         op([](const auto& in) { return tg::logsumexp(in[0], 0, true); }),
         {{{3, 2}}, {{2, 2, 2}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::logsumexp(x[0], 0); }},
    };
}

}  // namespace

std::vector<OpInfo> matmul_softmax_rows() {
    auto rows = matmul_rows();
    for (auto& row : softmax_rows()) rows.push_back(std::move(row));
    return rows;
}

}  // namespace optable
