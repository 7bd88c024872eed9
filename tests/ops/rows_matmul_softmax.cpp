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
        OpInfo{.name = "gemm",
               .op = "gemm",
               .readme = {"`gemm(a, b, ta, tb)`", "op(a) op(b), BLAS",
                          "for C = AB: dA = g Bᵀ, dB = Aᵀ g (transposes go to GEMM as flags)"},
               .fn = op([](const auto& in) { return tg::gemm(in[0], in[1]); }),
               .cases = {{{2, 3}, {3, 4}}, {{2, 2, 3}, {2, 3, 2}}, {{1, 3}, {3, 1}}},
               .reference = [](const std::vector<Array>& x) { return ref::matmul(x[0], x[1]); },
               .errors = gemm_errors},
        OpInfo{.name = "gemm (transpose_a)",
               .op = "gemm",
               .fn = op([](const auto& in) { return tg::gemm(in[0], in[1], true, false); }),
               .cases = {{{3, 2}, {3, 4}}, {{2, 3, 2}, {2, 3, 2}}},
               .reference = [](const std::vector<Array>& x) { return ref::matmul(ref::transpose_last(x[0]), x[1]); }},
        OpInfo{.name = "gemm (transpose_b)",
               .op = "gemm",
               .fn = op([](const auto& in) { return tg::gemm(in[0], in[1], false, true); }),
               .cases = {{{2, 3}, {4, 3}}, {{2, 2, 3}, {2, 2, 3}}},
               .reference = [](const std::vector<Array>& x) { return ref::matmul(x[0], ref::transpose_last(x[1])); }},
        OpInfo{.name = "gemm (transpose_a, transpose_b)",
               .op = "gemm",
               .fn = op([](const auto& in) { return tg::gemm(in[0], in[1], true, true); }),
               .cases = {{{3, 2}, {4, 3}}, {{2, 3, 2}, {2, 2, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::matmul(ref::transpose_last(x[0]), ref::transpose_last(x[1]));
                   },
               .errors = {shape_error("inner dimensions differ after transposing", {{3, 2}, {4, 2}},
                                      [](const Inputs64& in) { tg::gemm(in[0], in[1], true, true); },
                                      {"gemm", "[3, 2]", "[4, 2]"})}},
        OpInfo{
            .name = "matmul",
            .op = "matmul",
            .readme = {"`matmul(a, b)`", "2-D, matrix-vector, batched 3-D (composed from gemm)", "as gemm"},
            .fn = op([](const auto& in) { return tg::matmul(in[0], in[1]); }),
            .cases = {{{2, 3}, {3, 4}}, {{2, 3}, {3}}, {{3}, {3, 2}}, {{2, 2, 3}, {2, 3, 2}}, {{2, 2, 3}, {3, 2}}},
            .reference = [](const std::vector<Array>& x) { return matmul_ref(x[0], x[1]); },
            .errors = {shape_error("inner dimensions differ", {{2, 3}, {4, 5}},
                                   [](const Inputs64& in) { tg::matmul(in[0], in[1]); },
                                   {"matmul", "[2, 3]", "[4, 5]"}),
                       shape_error("vector of the wrong length", {{2, 3}, {4}},
                                   [](const Inputs64& in) { tg::matmul(in[0], in[1]); }, {"matmul", "[2, 3]", "[4]"})}},
        OpInfo{.name = "linear",
               .op = "linear",
               .readme = {"`linear(x, W, b)`", "x Wᵀ + b, one GEMM (the bias is its C)",
                          "dx = g W, dW = gᵀ x, db = Σ_rows g"},
               .fn = op([](const auto& in) { return tg::linear(in[0], in[1], in[2]); }),
               .cases = {{{2, 3}, {4, 3}, {4}}, {{1, 3}, {2, 3}, {2}}, {{2, 3}, {4, 3}, {1, 4}}},
               .domains =  // bias [out] or [1, out]
               {Domain{}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const Array y = ref::matmul(x[0], ref::transpose_last(x[1]));
                       return ref::zip(y, x[2], [](double a, double b) { return a + b; });
                   },
               .errors = {shape_error("features differ", {{2, 3}, {4, 5}, {4}},
                                      [](const Inputs64& in) { tg::linear(in[0], in[1], in[2]); },
                                      {"linear", "[2, 3]", "[4, 5]"}),
                          shape_error("bias of the wrong size", {{2, 3}, {4, 3}, {3}},
                                      [](const Inputs64& in) { tg::linear(in[0], in[1], in[2]); },
                                      {"linear", "bias", "[3]"})}},
        OpInfo{.name = "linear (no bias)",
               .op = "linear",
               .fn = op([](const auto& in) { return tg::linear(in[0], in[1]); }),
               .cases = {{{2, 3}, {4, 3}}, {{3, 1}, {1, 1}}},
               .reference = [](const std::vector<Array>& x) { return ref::matmul(x[0], ref::transpose_last(x[1])); }},
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
        OpInfo{.name = "softmax (axis -1)",
               .op = "softmax",
               .readme = {"`softmax(x, dim)`", "e^(x-max) / Σ e^(x-max)", "dx = y (g - Σ g y)"},
               .fn = op([](const auto& in) { return tg::softmax(in[0]); }),
               .cases = cases,
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::map(ref::log_softmax(x[0], x[0].dimension() - 1),
                                       [](double v) { return std::exp(v); });
                   },
               .errors = {bad("softmax", [](const tg::TensorD& x) { tg::softmax(x, 2); })}},
        OpInfo{.name = "softmax (axis 0)",
               .op = "softmax",
               .fn = op([](const auto& in) { return tg::softmax(in[0], 0); }),
               .cases = {{{3, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::map(ref::log_softmax(x[0], 0), [](double v) { return std::exp(v); });
                   }},
        OpInfo{.name = "log_softmax (axis -1)",
               .op = "log_softmax",
               .readme = {"`log_softmax(x, dim)`", "x - logsumexp(x)", "dx = g - softmax(x) Σ g"},
               .fn = op([](const auto& in) { return tg::log_softmax(in[0]); }),
               .cases = cases,
               .reference = [](const std::vector<Array>& x) { return ref::log_softmax(x[0], x[0].dimension() - 1); },
               .errors = {bad("log_softmax", [](const tg::TensorD& x) { tg::log_softmax(x, 2); })}},
        OpInfo{.name = "log_softmax (axis 0)",
               .op = "log_softmax",
               .fn = op([](const auto& in) { return tg::log_softmax(in[0], 0); }),
               .cases = {{{3, 2}}},
               .reference = [](const std::vector<Array>& x) { return ref::log_softmax(x[0], 0); }},
        OpInfo{.name = "logsumexp (axis -1)",
               .op = "logsumexp",
               .readme = {"`logsumexp(x, dim[, keepdim])`", "max + log Σ e^(x-max)", "dx = g softmax(x)"},
               .fn = op([](const auto& in) { return tg::logsumexp(in[0]); }),
               .cases = cases,
               .reference =
                   [](const std::vector<Array>& x) {
                       const std::size_t axis = x[0].dimension() - 1;
                       return ref::reshaped(ref::logsumexp(x[0], axis), ref::shape_of(ref::sum(x[0], {axis})));
                   },
               .errors = {bad("logsumexp", [](const tg::TensorD& x) { tg::logsumexp(x, 2); })}},
        OpInfo{.name = "logsumexp (axis 0, keepdims)",
               .op = "logsumexp",
               .fn = op([](const auto& in) { return tg::logsumexp(in[0], 0, true); }),
               .cases = {{{3, 2}}, {{2, 2, 2}}},
               .reference = [](const std::vector<Array>& x) { return ref::logsumexp(x[0], 0); }},
    };
}

std::vector<OpInfo> matmul_softmax_rows() {
    auto rows = matmul_rows();
    for (auto& row : softmax_rows()) rows.push_back(std::move(row));
    return rows;
}

const RegisterFamily registered{{.name = "matmul_softmax", .order = 30, .rows = matmul_softmax_rows}};

}  // namespace

}  // namespace optable
