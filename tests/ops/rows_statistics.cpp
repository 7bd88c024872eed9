// Rows for the statistics of ops/statistics.hpp: var, std and norm. The references are plain
// loops: var from the mean and the squared deviations, norm from the sum of |x|^p (or the largest
// / smallest |x|). The edge cases (a constant slice, a norm at 0 or of 1e200) are tested against
// closed forms in reduce_test.cpp.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using Axes = std::vector<std::size_t>;

ErrorCase bad_axis(const std::string& name, std::function<void(const tg::TensorD&)> call, const std::string& axis) {
    return error_case("axis out of range", {{2, 3}}, std::move(call), Expect::Value, {name, "dim", axis});
}

std::size_t count_over(const Array& x, const Axes& axes) {
    std::size_t n = 1;
    for (auto a : axes) n *= x.shape()[a];
    return n;
}

Array mean_ref(const Array& x, const Axes& axes, bool keepdims) {
    const std::size_t n = count_over(x, axes);
    return ref::map(ref::sum(x, axes, keepdims), [n](double v) { return v / static_cast<double>(n); });
}

/// sum((x - mean)^2) / (n - correction), the mean first.
Array var_ref(const Array& x, const Axes& axes, std::int64_t correction, bool keepdims = false) {
    const double dof = static_cast<double>(count_over(x, axes)) - static_cast<double>(correction);
    const Array deviations = ref::zip(x, mean_ref(x, axes, true), [](double v, double m) { return (v - m) * (v - m); });
    return ref::map(ref::sum(deviations, axes, keepdims), [dof](double s) { return s / dof; });
}

Array std_ref(const Array& x, const Axes& axes, std::int64_t correction, bool keepdims = false) {
    return ref::map(var_ref(x, axes, correction, keepdims), [](double v) { return std::sqrt(v); });
}

/// (sum |x|^p)^(1/p); the largest |x| for p = inf, the smallest for -inf.
Array norm_ref(const Array& x, const Axes& axes, double p, bool keepdims = false) {
    if (std::isinf(p)) {
        return ref::reduce(x, axes, keepdims, p > 0 ? 0.0 : INFINITY, [p](double m, double v) {
            return p > 0 ? std::max(m, std::abs(v)) : std::min(m, std::abs(v));
        });
    }
    const Array powers =
        ref::reduce(x, axes, keepdims, 0.0, [p](double s, double v) { return s + std::pow(std::abs(v), p); });
    return ref::map(powers, [p](double s) { return std::pow(s, 1 / p); });
}

std::vector<OpInfo> var_std_rows() {
    return {
        OpInfo{.name = "var (all, correction 1)",
               .op = "var",
               .readme = {"`var(x[, dims, correction, keepdim])`",
                          "Σ (x - mean)² / (n - correction), two passes (correction = 1)",
                          "dx = g 2 (x - mean) / (n - correction)"},
               .fn = op([](const auto& in) { return tg::var(in[0]); }),
               .cases = {{{2, 3}}, {{5}}, {{2, 1, 3}}},
               .reference = [](const std::vector<Array>& x) { return var_ref(x[0], ref::all_axes(x[0]), 1); },
               .errors = {error_case("one element, correction 1", {{}}, [](const tg::TensorD& x) { tg::var(x); },
                                     Expect::Value, {"var", "[]", "correction 1"})}},
        OpInfo{
            .name = "var (dims {1})",
            .op = "var",
            .fn = op([](const auto& in) { return tg::var(in[0], {1}); }),
            .cases = {{{2, 3}}, {{3, 2, 4}}, {{0, 3}}},
            .reference = [](const std::vector<Array>& x) { return var_ref(x[0], {1}, 1); },
            .errors = {bad_axis(
                           "var", [](const tg::TensorD& x) { tg::var(x, {2}); }, "2"),
                       error_case("correction larger than n", {{2, 3}},
                                  [](const tg::TensorD& x) { tg::var(x, {1}, 4); }, Expect::Value,
                                  {"var", "[2, 3]", "correction 4"}),
                       error_case("correction equal to n", {{2, 3}}, [](const tg::TensorD& x) { tg::var(x, {1}, 3); },
                                  Expect::Value, {"var", "[2, 3]", "correction 3"}),
                       error_case("no elements to reduce", {{2, 0}}, [](const tg::TensorD& x) { tg::var(x, {1}, 0); },
                                  Expect::Value, {"var", "[2, 0]"}),
                       error_case("dim listed twice", {{2, 3}},
                                  [](const tg::TensorD& x) {
                                      tg::var(x, {0, -2});
                                  },
                                  Expect::Value, {"var", "twice", "[2, 3]"})}},
        OpInfo{.name = "var (dims {0, -1}, correction 0, keepdim)",
               .op = "var",
               .fn = op([](const auto& in) {
                   return tg::var(in[0], {0, -1}, 0, true);
               }),
               .cases = {{{2, 3}}, {{2, 1, 3}}, {{3, 2, 2}}, {{1, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return var_ref(x[0], {0, x[0].dimension() - 1}, 0, true);
                   }},
        OpInfo{.name = "std (all, correction 1)",
               .op = "std",
               .readme = {"`std(x[, dims, correction, keepdim])`", "√var",
                          "dx = g (x - mean) / ((n - correction) y); 0 where y = 0 (PyTorch's)"},
               .fn = op([](const auto& in) { return tg::std(in[0]); }),
               .cases = {{{2, 3}}, {{5}}, {{2, 1, 3}}},
               .reference = [](const std::vector<Array>& x) { return std_ref(x[0], ref::all_axes(x[0]), 1); },
               .errors = {error_case("one element, correction 1", {{1, 1}}, [](const tg::TensorD& x) { tg::std(x); },
                                     Expect::Value, {"std", "[1, 1]", "correction 1"})}},
        OpInfo{.name = "std (dims {-1}, keepdim)",
               .op = "std",
               .fn = op([](const auto& in) { return tg::std(in[0], {-1}, 1, true); }),
               .cases = {{{2, 3}}, {{4}}, {{3, 1, 2}}},
               .reference = [](const std::vector<Array>& x) { return std_ref(x[0], {x[0].dimension() - 1}, 1, true); },
               .errors = {bad_axis(
                   "std", [](const tg::TensorD& x) { tg::std(x, {-3}); }, "-3")}},
        OpInfo{.name = "std (dims {0, 2}, correction 0)",
               .op = "std",
               .fn = op([](const auto& in) {
                   return tg::std(in[0], {0, 2}, 0);
               }),
               .cases = {{{2, 3, 2}}, {{3, 1, 4}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return std_ref(x[0], {0, 2}, 0);
                   }},
    };
}

std::vector<OpInfo> norm_rows() {
    const Domain off_zero{-2.0, 2.0, {0.0}, 0.05};
    // p = +-inf: no two |x| tie, so the gradient is unique.
    const Domain distinct_abs{0.1, 2.0, {}, 0.01, true};
    const double inf = std::numeric_limits<double>::infinity();
    return {
        OpInfo{
            .name = "norm (p = 2, all)",
            .op = "norm",
            .readme = {"`norm(x[, p, dims, keepdim])`, `norm(x, \"fro\", dims)`",
                       "(Σ \\|x\\|ᵖ)^(1/p), p > 0 (2 by default); max / min \\|x\\| for p = ±inf; scaled, no overflow",
                       "dx = g sign(x) (\\|x\\| / y)^(p-1) (p = 2: g x / y), 0 where y = 0; ±inf as amax / amin"},
            .fn = op([](const auto& in) { return tg::norm(in[0]); }),
            .cases = {{{2, 3}}, {{}}, {{1, 4}}, {{2, 1, 3}}, {{0}}},
            .reference = [](const std::vector<Array>& x) { return norm_ref(x[0], ref::all_axes(x[0]), 2); },
            .errors = {error_case("p = -1", {{2, 3}}, [](const tg::TensorD& x) { tg::norm(x, -1.0); }, Expect::Value,
                                  {"norm", "p = -1"}),
                       error_case("p = 0", {{2, 3}}, [](const tg::TensorD& x) { tg::norm(x, 0.0); }, Expect::Value,
                                  {"norm", "p = 0"}),
                       error_case("p = NaN", {{2, 3}},
                                  [](const tg::TensorD& x) { tg::norm(x, std::numeric_limits<double>::quiet_NaN()); },
                                  Expect::Value, {"norm", "p = nan"})}},
        OpInfo{.name = "norm (p = 2, dims {1, 2}, keepdim)",
               .op = "norm",
               .fn = op([](const auto& in) {
                   return tg::norm(in[0], 2, {1, 2}, true);
               }),
               .cases = {{{2, 3, 2}}, {{3, 1, 1}}, {{2, 0, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return norm_ref(x[0], {1, 2}, 2, true);
                   },
               .errors = {bad_axis(
                   "norm", [](const tg::TensorD& x) { tg::norm(x, 2, {3}); }, "3")}},
        OpInfo{.name = "norm (p = 1, dims {0})",
               .op = "norm",
               .fn = op([](const auto& in) { return tg::norm(in[0], 1, {0}); }),
               .cases = {{{2, 3}}, {{4}}, {{3, 2, 2}}},
               .domains = {off_zero},
               .reference = [](const std::vector<Array>& x) { return norm_ref(x[0], {0}, 1); }},
        OpInfo{.name = "norm (p = 3, dims {0, 2})",
               .op = "norm",
               .fn = op([](const auto& in) {
                   return tg::norm(in[0], 3, {0, 2});
               }),
               .cases = {{{2, 3, 2}}, {{1, 2, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return norm_ref(x[0], {0, 2}, 3);
                   }},
        OpInfo{.name = "norm (p = 0.5, all)",
               .op = "norm",
               .fn = op([](const auto& in) { return tg::norm(in[0], 0.5); }),
               .cases = {{{2, 3}}, {{3}}},
               .domains = {off_zero},
               .reference = [](const std::vector<Array>& x) { return norm_ref(x[0], ref::all_axes(x[0]), 0.5); }},
        OpInfo{.name = "norm (p = inf, dims {-1}, keepdim)",
               .op = "norm",
               .fn = op([inf](const auto& in) { return tg::norm(in[0], inf, {-1}, true); }),
               .cases = {{{2, 3}}, {{4}}, {{2, 1, 3}}},
               .domains = {distinct_abs},
               .reference =
                   [inf](const std::vector<Array>& x) { return norm_ref(x[0], {x[0].dimension() - 1}, inf, true); },
               .errors = {error_case("no elements", {{0, 3}}, [inf](const tg::TensorD& x) { tg::norm(x, inf, {0}); },
                                     Expect::Value, {"norm", "[0, 3]", "dim 0"})}},
        OpInfo{.name = "norm (p = -inf, all)",
               .op = "norm",
               .fn = op([inf](const auto& in) { return tg::norm(in[0], -inf); }),
               .cases = {{{2, 3}}, {{}}, {{1, 4}}},
               .domains = {distinct_abs},
               .reference = [inf](const std::vector<Array>& x) { return norm_ref(x[0], ref::all_axes(x[0]), -inf); },
               .errors = {error_case("no elements", {{0}}, [inf](const tg::TensorD& x) { tg::norm(x, -inf); },
                                     Expect::Value, {"norm", "[0]"})}},
        OpInfo{.name = "norm (\"fro\", dims {0, 1}: Frobenius)",
               .op = "norm",
               .fn = op([](const auto& in) {
                   return tg::norm(in[0], "fro", {0, 1});
               }),
               .cases = {{{2, 3}}, {{2, 3, 2}}, {{1, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return norm_ref(x[0], {0, 1}, 2);
                   },
               .errors = {error_case("nuclear norm", {{2, 3}},
                                     [](const tg::TensorD& x) {
                                         tg::norm(x, "nuc", {0, 1});
                                     },
                                     Expect::Value, {"norm", "\"nuc\""})}},
    };
}

std::vector<OpInfo> statistics_rows() {
    auto rows = var_std_rows();
    for (auto& row : norm_rows()) rows.push_back(std::move(row));
    return rows;
}

const RegisterFamily registered{{.name = "statistics", .order = 19, .rows = statistics_rows}};

}  // namespace

}  // namespace optable
