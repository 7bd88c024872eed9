// Rows for the extrema of ops/extrema.hpp: max and min (of everything and along a dim, where the
// row checks the values; the indices are checked in reduce_test.cpp), amax and amin. Inputs are
// drawn without ties, so each gradient is unique; the tie rules are tested against closed forms in
// stability_test.cpp and reduce_test.cpp.
#include <cmath>
#include <functional>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using Axes = std::vector<std::size_t>;
const Domain distinct{-2.0, 2.0, {}, 0.01, true};

Array min_ref(const Array& x, const Axes& axes, bool keepdims = false) {
    return ref::reduce(x, axes, keepdims, INFINITY,
                       [](double m, double v) { return std::isnan(m) || v < m || std::isnan(v) ? v : m; });
}

std::size_t last(const Array& x) {
    return x.dimension() - 1;
}

std::vector<OpInfo> extrema_rows() {
    const std::vector<std::vector<Shape>> any = {{{2, 3}}, {{}}, {{1, 4}}, {{2, 1, 3}}};
    const std::vector<std::vector<Shape>> matrix = {{{2, 3}}, {{3, 1}}, {{2, 3, 2}}};
    return {
        OpInfo{.name = "max (all)",
               .op = "max",
               .readme = {"`max(x)`, `min(x)`", "largest / smallest element",
                          "dx = g [x = y] / #ties (ties share evenly, as PyTorch)"},
               .fn = op([](const auto& in) { return tg::max(in[0]); }),
               .cases = any,
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return ref::max(x[0], ref::all_axes(x[0])); },
               .errors = {error_case("no elements", {{0}}, [](const tg::TensorD& x) { tg::max(x); }, Expect::Value,
                                     {"max", "[0]"})}},
        OpInfo{.name = "min (all)",
               .op = "min",
               .fn = op([](const auto& in) { return tg::min(in[0]); }),
               .cases = any,
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return min_ref(x[0], ref::all_axes(x[0])); },
               .errors = {error_case("no elements", {{2, 0}}, [](const tg::TensorD& x) { tg::min(x); }, Expect::Value,
                                     {"min", "[2, 0]"})}},
        OpInfo{.name = "amax (dims {0})",
               .op = "amax",
               .readme = {"`amax(x, dims[, keepdim])`, `amin(x, dims[, keepdim])`", "largest / smallest over dims",
                          "dx = g [x = y] / #ties per slice, broadcast back"},
               .fn = op([](const auto& in) { return tg::amax(in[0], {0}); }),
               .cases = matrix,
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return ref::max(x[0], {0}); },
               .errors = {error_case("dim out of range", {{2, 3}}, [](const tg::TensorD& x) { tg::amax(x, {2}); },
                                     Expect::Value, {"amax", "dim 2", "[2, 3]"}),
                          error_case("reduced dim of size 0", {{0, 3}}, [](const tg::TensorD& x) { tg::amax(x, {0}); },
                                     Expect::Value, {"amax", "[0, 3]"}),
                          error_case("dim listed twice", {{2, 3}},
                                     [](const tg::TensorD& x) {
                                         tg::amax(x, {1, -1});
                                     },
                                     Expect::Value, {"amax", "twice"})}},
        OpInfo{.name = "amax (dims {1, -1}, keepdim)",
               .op = "amax",
               .fn = op([](const auto& in) {
                   return tg::amax(in[0], {1, -1}, true);
               }),
               .cases = {{{2, 3, 2}}, {{1, 2, 3}}, {{0, 2, 3}}},
               .domains = {distinct},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::max(x[0], {1, 2}, true);
                   }},
        OpInfo{.name = "amin (dims {0, 2})",
               .op = "amin",
               .fn = op([](const auto& in) {
                   return tg::amin(in[0], {0, 2});
               }),
               .cases = {{{2, 3, 2}}, {{1, 2, 3}}},
               .domains = {distinct},
               .reference =
                   [](const std::vector<Array>& x) {
                       return min_ref(x[0], {0, 2});
                   },
               .errors = {error_case("reduced dim of size 0", {{2, 3, 0}},
                                     [](const tg::TensorD& x) {
                                         tg::amin(x, {0, 2});
                                     },
                                     Expect::Value, {"amin", "[2, 3, 0]", "dim 2"})}},
        OpInfo{.name = "max (dim 1: values)",
               .op = "max",
               .readme = {"`max(x, dim[, keepdim])`, `min(x, dim[, keepdim])`",
                          "{values, indices} along dim (first on ties, NaN wins)",
                          "dx = g placed at the indices (as PyTorch)"},
               .fn = op([](const auto& in) { return tg::max(in[0], 1).values; }),
               .cases = {{{2, 3}}, {{3, 1}}, {{2, 3, 2}}, {{0, 3}}},
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return ref::max(x[0], {1}); },
               .errors = {error_case("dim out of range", {{2, 3}}, [](const tg::TensorD& x) { tg::max(x, 2); },
                                     Expect::Value, {"max", "dim 2", "[2, 3]"}),
                          error_case("dim of size 0", {{2, 0}}, [](const tg::TensorD& x) { tg::max(x, -1); },
                                     Expect::Value, {"max", "[2, 0]", "dim 1"}),
                          error_case("0-d x has no dim", {{}}, [](const tg::TensorD& x) { tg::max(x, 0); },
                                     Expect::Value, {"max", "dim 0", "[]"})}},
        OpInfo{.name = "max (dim -1, keepdim: values)",
               .op = "max",
               .fn = op([](const auto& in) { return tg::max(in[0], -1, true).values; }),
               .cases = {{{2, 3}}, {{4}}, {{2, 1, 3}}},
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return ref::max(x[0], {last(x[0])}, true); }},
        OpInfo{.name = "min (dim 0: values)",
               .op = "min",
               .fn = op([](const auto& in) { return tg::min(in[0], 0).values; }),
               .cases = {{{2, 3}}, {{1, 4}}, {{3, 2, 2}}},
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return min_ref(x[0], {0}); },
               .errors = {error_case("dim out of range", {{2, 3}}, [](const tg::TensorD& x) { tg::min(x, -3); },
                                     Expect::Value, {"min", "dim -3", "[2, 3]"})}},
        OpInfo{.name = "min (dim -2, keepdim: values)",
               .op = "min",
               .fn = op([](const auto& in) { return tg::min(in[0], -2, true).values; }),
               .cases = {{{2, 3}}, {{2, 2, 3}}},
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return min_ref(x[0], {x[0].dimension() - 2}, true); }},
    };
}

const RegisterFamily registered{{.name = "extrema", .order = 21, .rows = extrema_rows}};

}  // namespace

}  // namespace optable
