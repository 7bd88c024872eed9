// Rows for the matrix products (gemm, matmul, linear, outer, dot, trace) and the softmax family.
#include <algorithm>
#include <cmath>
#include <limits>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

ErrorCase shape_error(const std::string& what, std::vector<Shape> shapes, std::function<void(const Inputs64&)> call,
                      std::vector<std::string> fragments) {
    return {what, std::move(shapes), std::move(call), Expect::Shape, std::move(fragments)};
}

// numpy's matmul written out: a 1-D left operand is a row and a 1-D right one a column (each
// removed from the result), and the batch dims (all but the last two) broadcast: trailing
// alignment, a size-1 dim repeats.
Array matmul_ref(const Array& a, const Array& b) {
    const ref::Index sa = a.dimension() == 1 ? ref::Index{1, a.size()} : ref::shape_of(a);
    const ref::Index sb = b.dimension() == 1 ? ref::Index{b.size(), 1} : ref::shape_of(b);
    const std::size_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
    const ref::Index ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
    const std::size_t r = std::max(ba.size(), bb.size());
    ref::Index batch(r);
    auto dim = [r](const ref::Index& s, std::size_t i) {
        return i < r - s.size() ? std::size_t(1) : s[i - (r - s.size())];
    };
    for (std::size_t i = 0; i < r; ++i) batch[i] = dim(ba, i) == 1 ? dim(bb, i) : dim(ba, i);
    // Which matrix of an operand with batch dims s the broadcast batch index idx reads.
    auto source = [r](const ref::Index& idx, const ref::Index& s) {
        ref::Index sub(s.size());
        for (std::size_t i = 0; i < s.size(); ++i) sub[i] = s[i] == 1 ? 0 : idx[i + r - s.size()];
        return ref::ravel(sub, s);
    };
    ref::Index shape = batch;
    if (a.dimension() > 1) shape.push_back(m);
    if (b.dimension() > 1) shape.push_back(n);
    Array out = ref::empty(shape);
    for (std::size_t t = 0; t < ref::count(batch); ++t) {
        const ref::Index idx = ref::unravel(t, batch);
        const std::size_t fa = source(idx, ba), fb = source(idx, bb);
        for (std::size_t i = 0; i < m; ++i) {
            for (std::size_t j = 0; j < n; ++j) {
                double sum = 0;
                for (std::size_t p = 0; p < k; ++p)
                    sum += a.data()[(fa * m + i) * k + p] * b.data()[(fb * k + p) * n + j];
                out.data()[(t * m + i) * n + j] = sum;
            }
        }
    }
    return out;
}

// x W^T + b, the bias added to each row by hand (ref::zip takes max(0, 1) = 1 for a size-0 dim
// against a size-1 one; numpy's broadcast gives 0). A [1, out] bias on a 1-D x gives [1, out].
Array linear_ref(const std::vector<Array>& x) {
    Array y = matmul_ref(x[0], ref::transpose_last(x[1]));
    if (x.size() == 2) return y;
    const std::size_t out = x[2].size();
    for (std::size_t i = 0; i < y.size(); ++i) y.data()[i] += x[2].data()[i % out];
    return y.dimension() < x[2].dimension() ? ref::reshaped(y, {1, out}) : y;
}

std::vector<OpInfo> matmul_rows() {
    auto gemm_call = [](bool ta, bool tb) { return [ta, tb](const Inputs64& in) { tg::gemm(in[0], in[1], ta, tb); }; };
    auto matmul_call = [](const Inputs64& in) { tg::matmul(in[0], in[1]); };
    auto linear_call = [](const Inputs64& in) { tg::linear(in[0], in[1], in[2]); };
    return {
        OpInfo{.name = "gemm",
               .op = "gemm",
               .readme = {"`gemm(a, b, ta, tb)`", "op(a) op(b), BLAS; batch dims broadcast",
                          "for C = AB: dA = g Bᵀ, dB = Aᵀ g (GEMMs with transpose flags), summed over the batch dims "
                          "each was broadcast over"},
               .fn = op([](const auto& in) { return tg::gemm(in[0], in[1]); }),
               .cases = {{{2, 3}, {3, 4}},
                         {{2, 2, 3}, {2, 3, 2}},
                         {{1, 3}, {3, 1}},
                         {{2, 2, 3}, {3, 2}},        // one shared right matrix: a single folded GEMM
                         {{3, 2}, {2, 2, 4}},        // a shared left matrix
                         {{2, 1, 2, 3}, {3, 3, 2}},  // both broadcast: [2, 3, 2, 2]
                         {{1, 2, 3}, {2, 1, 3, 2}},  // a size-1 batch dim against a missing one
                         {{0, 3}, {3, 2}},
                         {{2, 0}, {0, 3}},  // an empty inner sum is 0
                         {{0, 2, 3}, {3, 2}},
                         {{2, 2, 0}, {1, 0, 3}}},
               .reference = [](const std::vector<Array>& x) { return matmul_ref(x[0], x[1]); },
               .errors = {shape_error("inner dimensions differ", {{2, 3}, {4, 5}}, gemm_call(false, false),
                                      {"gemm", "[2, 3]", "[4, 5]", "3 and 4"}),
                          shape_error("1-D operand", {{3}, {3, 2}}, gemm_call(false, false), {"gemm", "[3]", "[3, 2]"}),
                          shape_error("batch dims do not broadcast", {{2, 2, 3}, {3, 3, 2}}, gemm_call(false, false),
                                      {"gemm", "[2, 2, 3]", "[3, 3, 2]", "batch dims [2] and [3]"}),
                          shape_error("4-D batch dims do not broadcast", {{2, 3, 2, 2}, {2, 2, 2, 2}},
                                      gemm_call(false, false), {"gemm", "[2, 3, 2, 2]", "[2, 2, 2, 2]", "3 vs 2"})}},
        OpInfo{.name = "gemm (transpose_a)",
               .op = "gemm",
               .fn = op([](const auto& in) { return tg::gemm(in[0], in[1], true, false); }),
               .cases = {{{3, 2}, {3, 4}}, {{2, 3, 2}, {2, 3, 2}}, {{2, 3, 2}, {3, 4}}, {{2, 1, 3, 2}, {3, 3, 4}}},
               .reference = [](const std::vector<Array>& x) { return matmul_ref(ref::transpose_last(x[0]), x[1]); }},
        OpInfo{.name = "gemm (transpose_b)",
               .op = "gemm",
               .fn = op([](const auto& in) { return tg::gemm(in[0], in[1], false, true); }),
               .cases = {{{2, 3}, {4, 3}}, {{2, 2, 3}, {2, 2, 3}}, {{2, 2, 3}, {4, 3}}, {{1, 2, 3}, {2, 1, 4, 3}}},
               .reference = [](const std::vector<Array>& x) { return matmul_ref(x[0], ref::transpose_last(x[1])); }},
        OpInfo{.name = "gemm (transpose_a, transpose_b)",
               .op = "gemm",
               .fn = op([](const auto& in) { return tg::gemm(in[0], in[1], true, true); }),
               .cases = {{{3, 2}, {4, 3}}, {{2, 3, 2}, {2, 2, 3}}, {{3, 2}, {2, 4, 3}}, {{2, 1, 3, 2}, {2, 4, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return matmul_ref(ref::transpose_last(x[0]), ref::transpose_last(x[1]));
                   },
               .errors = {shape_error("inner dimensions differ after transposing", {{3, 2}, {4, 2}},
                                      gemm_call(true, true), {"gemm", "[3, 2] (transposed)", "[4, 2] (transposed)"})}},
        OpInfo{
            .name = "matmul",
            .op = "matmul",
            .readme = {"`matmul(a, b)`",
                       "numpy's: 1-D · 1-D dot, vectors as a row / column, batch dims broadcast (composed from gemm)",
                       "as gemm"},
            .fn = op([](const auto& in) { return tg::matmul(in[0], in[1]); }),
            .cases = {{{2, 3}, {3, 4}},
                      {{2, 3}, {3}},
                      {{3}, {3, 2}},
                      {{3}, {3}},  // the dot product: 0-d
                      {{3}, {2, 3, 4}},
                      {{2, 2, 3}, {3}},
                      {{2, 2, 3}, {2, 3, 2}},
                      {{2, 2, 3}, {3, 2}},
                      {{2, 1, 2, 3}, {3, 3, 2}},  // [8, 1, 5, 4] x [3, 4, 6] in small
                      {{1}, {1}},
                      {{1, 1}, {1, 1, 1}},
                      {{0}, {0}},  // an empty dot product is 0
                      {{2, 0}, {0, 3}},
                      {{0, 3}, {3}},
                      {{2, 0, 3}, {3, 2}}},
            .reference = [](const std::vector<Array>& x) { return matmul_ref(x[0], x[1]); },
            .errors = {shape_error("inner dimensions differ", {{2, 3}, {4, 5}}, matmul_call,
                                   {"matmul", "[2, 3]", "[4, 5]", "3 and 4"}),
                       shape_error("vector of the wrong length", {{2, 3}, {4}}, matmul_call,
                                   {"matmul", "[2, 3]", "[4]"}),
                       shape_error("two vectors of different lengths", {{3}, {2}}, matmul_call,
                                   {"matmul", "[3]", "[2]"}),
                       shape_error("0-d operand", {{}, {3}}, matmul_call, {"matmul", "[]", "[3]", "at least 1 dim"}),
                       shape_error("batch dims do not broadcast", {{2, 2, 3}, {3, 3, 2}}, matmul_call,
                                   {"matmul", "[2, 2, 3]", "[3, 3, 2]", "batch dims"})}},
        OpInfo{.name = "linear",
               .op = "linear",
               .readme = {"`linear(x, W, b)`", "x Wᵀ + b for x [..., in], one GEMM (the bias is its C)",
                          "dx = g W, dW = gᵀ x, db = g, each summed over the leading dims"},
               .fn = op([](const auto& in) { return tg::linear(in[0], in[1], in[2]); }),
               .cases = {{{2, 3}, {4, 3}, {4}},
                         {{1, 3}, {2, 3}, {2}},
                         {{2, 3}, {4, 3}, {1, 4}},
                         {{2, 4, 3}, {5, 3}, {5}},     // [batch, sequence, in]
                         {{2, 1, 2, 3}, {2, 3}, {2}},  // 4-D
                         {{3}, {4, 3}, {4}},           // one sample, 1-D
                         {{3}, {4, 3}, {1, 4}},        // a [1, out] bias makes it [1, out], as PyTorch
                         {{2, 2, 3}, {4, 3}, {1, 4}},
                         {{0, 3}, {2, 3}, {2}},
                         {{2, 0, 3}, {2, 3}, {2}},
                         {{2, 0}, {3, 0}, {3}}},  // no features: the bias alone
               .reference = linear_ref,
               .errors = {shape_error("features differ", {{2, 3}, {4, 5}, {4}}, linear_call,
                                      {"linear", "[2, 3]", "[4, 5]"}),
                          shape_error("features of a 3-D x differ", {{2, 2, 3}, {4, 5}, {4}}, linear_call,
                                      {"linear", "[2, 2, 3]", "[4, 5]"}),
                          shape_error("bias of the wrong size", {{2, 3}, {4, 3}, {3}}, linear_call,
                                      {"linear", "bias", "[3]"}),
                          shape_error("0-d x", {{}, {4, 3}, {4}}, linear_call, {"linear", "x has shape []"}),
                          shape_error("1-D weight", {{2, 3}, {3}, {3}}, linear_call, {"linear", "weight", "[3]"})}},
        OpInfo{.name = "linear (no bias)",
               .op = "linear",
               .fn = op([](const auto& in) { return tg::linear(in[0], in[1]); }),
               .cases = {{{2, 3}, {4, 3}}, {{3, 1}, {1, 1}}, {{2, 2, 3}, {4, 3}}, {{3}, {2, 3}}, {{0, 2, 3}, {2, 3}}},
               .reference = linear_ref},
        OpInfo{
            .name = "outer",
            .op = "outer",
            .readme = {"`outer(a, b)`", "a bᵀ for vectors: a[i] b[j] (composed: column · row)", "da = g b, db = gᵀ a"},
            .fn = op([](const auto& in) { return tg::outer(in[0], in[1]); }),
            .cases = {{{3}, {4}}, {{1}, {1}}, {{0}, {3}}, {{2}, {0}}},
            .reference =
                [](const std::vector<Array>& x) {
                    Array out = ref::empty({x[0].size(), x[1].size()});
                    for (std::size_t i = 0; i < x[0].size(); ++i)
                        for (std::size_t j = 0; j < x[1].size(); ++j) out(i, j) = x[0](i) * x[1](j);
                    return out;
                },
            .errors = {shape_error("2-D operand", {{2, 3}, {3}}, [](const Inputs64& in) { tg::outer(in[0], in[1]); },
                                   {"outer", "a", "[2, 3]"}),
                       shape_error("0-d operand", {{3}, {}}, [](const Inputs64& in) { tg::outer(in[0], in[1]); },
                                   {"outer", "b", "[]"})}},
        OpInfo{.name = "dot",
               .op = "dot",
               .readme = {"`dot(a, b)`", "Σ a[i] b[i] for two vectors, 0-d (composed: matmul)", "da = g b, db = g a"},
               .fn = op([](const auto& in) { return tg::dot(in[0], in[1]); }),
               .cases = {{{3}, {3}}, {{1}, {1}}, {{0}, {0}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       Array out = ref::empty({});
                       out() = 0;
                       for (std::size_t i = 0; i < x[0].size(); ++i) out() += x[0](i) * x[1](i);
                       return out;
                   },
               .errors = {shape_error("lengths differ", {{3}, {4}}, [](const Inputs64& in) { tg::dot(in[0], in[1]); },
                                      {"dot", "[3]", "[4]", "lengths 3 and 4"}),
                          shape_error("2-D operand (matmul's job)", {{3}, {3, 2}},
                                      [](const Inputs64& in) { tg::dot(in[0], in[1]); }, {"dot", "b", "[3, 2]"})}},
        OpInfo{
            .name = "trace",
            .op = "trace",
            .readme = {"`trace(x)`", "Σ x[i, i] of a 2-D x, min(m, n) terms (composed: sum of diagonal)", "dx = g I"},
            .fn = op([](const auto& in) { return tg::trace(in[0]); }),
            .cases = {{{3, 3}}, {{2, 4}}, {{4, 2}}, {{1, 1}}, {{0, 3}}},
            .reference =
                [](const std::vector<Array>& x) {
                    Array out = ref::empty({});
                    out() = 0;
                    for (std::size_t i = 0; i < std::min(x[0].shape()[0], x[0].shape()[1]); ++i) out() += x[0](i, i);
                    return out;
                },
            .errors = {shape_error("1-D x", {{3}}, [](const Inputs64& in) { tg::trace(in[0]); }, {"trace", "x", "[3]"}),
                       shape_error("3-D x", {{2, 2, 2}}, [](const Inputs64& in) { tg::trace(in[0]); },
                                   {"trace", "x", "[2, 2, 2]"})}},
    };
}

std::vector<OpInfo> softmax_rows() {
    // {2, 37}: rows longer than a vector register, with a remainder, for the vectorised row kernel.
    const std::vector<std::vector<Shape>> cases = {{{2, 3}}, {{3}}, {{2, 2, 3}}, {{2, 1}}, {{2, 37}}};
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

// detail::safe_softmax's reference by plain loops: each row of n, the kept entries' softmax and 0
// elsewhere; a row with nothing kept is all 0. keep(r, j) says whether entry j of row r takes part.
template <class Keep>
Array safe_softmax_ref(const Array& x, Keep keep) {
    const std::size_t n = x.shape()[x.dimension() - 1];
    Array out = ref::empty(ref::shape_of(x));
    for (std::size_t r = 0; r < x.size() / n; ++r) {
        double m = -std::numeric_limits<double>::infinity(), total = 0;
        for (std::size_t j = 0; j < n; ++j)
            if (keep(r, j)) m = std::max(m, x.data()[r * n + j]);
        for (std::size_t j = 0; j < n; ++j)
            if (keep(r, j)) total += std::exp(x.data()[r * n + j] - m);
        for (std::size_t j = 0; j < n; ++j)
            out.data()[r * n + j] = keep(r, j) ? std::exp(x.data()[r * n + j] - m) / total : 0.0;
    }
    return out;
}

// {1, 0, 1} and a row with nothing kept, for x of shape [2, 3].
const tg::Mask& some_kept() {
    static const tg::Mask keep{{true, false, true}, {false, false, false}};
    return keep;
}

std::vector<OpInfo> safe_softmax_rows() {
    return {
        OpInfo{.name = "safe_softmax (causal; attention's softmax)",
               .op = "safe_softmax",
               .readme = {"`detail::safe_softmax(x, keep, is_causal)`",
                          "softmax over the kept scores (a mask, or key j <= query i), 0 elsewhere and in rows "
                          "with nothing kept",
                          "dx = y (g - Σ g y)"},
               .fn = op([](const auto& in) { return tg::detail::safe_softmax(in[0], nullptr, true); }),
               // [2, 3, 4]: L = 3 < S = 4; [2, 37]: rows longer than a vector register.
               .cases = {{{3, 3}}, {{2, 3, 4}}, {{2, 37}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       const std::size_t l_len = x[0].shape()[x[0].dimension() - 2];
                       return safe_softmax_ref(x[0], [l_len](std::size_t r, std::size_t j) { return j <= r % l_len; });
                   }},
        OpInfo{.name = "safe_softmax (boolean mask, a row with nothing kept gives 0)",
               .op = "safe_softmax",
               .fn = op([](const auto& in) { return tg::detail::safe_softmax(in[0], &some_kept(), false); }),
               .cases = {{{2, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return safe_softmax_ref(x[0],
                                               [](std::size_t r, std::size_t j) { return some_kept()[r * 3 + j]; });
                   }},
    };
}

std::vector<OpInfo> matmul_softmax_rows() {
    auto rows = matmul_rows();
    for (auto& row : softmax_rows()) rows.push_back(std::move(row));
    for (auto& row : safe_softmax_rows()) rows.push_back(std::move(row));
    return rows;
}

const RegisterFamily registered{{.name = "matmul_softmax", .order = 30, .rows = matmul_softmax_rows}};

}  // namespace

}  // namespace optable
