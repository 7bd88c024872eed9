// Rows for the reductions of ops/reduce.hpp: sum, mean and prod, against the plain loops of
// reference.hpp. prod's exact gradient with zeros is tested in reduce_test.cpp, where the inputs
// hold zeros.
#include <cstdint>
#include <functional>

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

Array prod_ref(const Array& x, const Axes& axes, bool keepdims = false) {
    return ref::reduce(x, axes, keepdims, 1.0, [](double p, double v) { return p * v; });
}

std::vector<OpInfo> sum_mean_rows() {
    const std::vector<std::vector<Shape>> any = {{{2, 3}}, {{}}, {{1, 4}}, {{2, 1, 3}}};
    const std::vector<std::vector<Shape>> matrix = {{{2, 3}}, {{3, 1}}, {{2, 3, 2}}};
    return {
        OpInfo{.name = "sum (all)",
               .op = "sum",
               .readme = {"`sum(x[, dims, keepdim])`", "Σ", "dx = g broadcast back"},
               .fn = op([](const auto& in) { return tg::sum(in[0]); }),
               .cases = any,
               .reference = [](const std::vector<Array>& x) { return ref::sum(x[0], ref::all_axes(x[0])); }},
        OpInfo{.name = "sum (axes {1})",
               .op = "sum",
               .fn = op([](const auto& in) { return tg::sum(in[0], {1}); }),
               .cases = matrix,
               .reference = [](const std::vector<Array>& x) { return ref::sum(x[0], {1}); },
               .errors = {bad_axis(
                              "sum", [](const tg::TensorD& x) { tg::sum(x, {5}); }, "5"),
                          error_case("axis listed twice", {{2, 3}},
                                     [](const tg::TensorD& x) {
                                         tg::sum(x, {1, -1});
                                     },
                                     Expect::Value, {"sum", "dim", "1"})}},
        OpInfo{.name = "sum (axes {0, -1}, keepdims)",
               .op = "sum",
               .fn = op([](const auto& in) {
                   return tg::sum(in[0], {0, -1}, true);
               }),
               .cases = matrix,
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::sum(x[0], {0, x[0].dimension() - 1}, true);
                   }},
        OpInfo{.name = "mean (all)",
               .op = "mean",
               .readme = {"`mean(x[, dims, keepdim])`", "Σ / n (composed)", "dx = g / n broadcast back"},
               .fn = op([](const auto& in) { return tg::mean(in[0]); }),
               .cases = any,
               .reference = [](const std::vector<Array>& x) { return mean_ref(x[0], ref::all_axes(x[0]), false); }},
        OpInfo{.name = "mean (axes {-1}, keepdims)",
               .op = "mean",
               .fn = op([](const auto& in) { return tg::mean(in[0], {-1}, true); }),
               .cases = matrix,
               .reference = [](const std::vector<Array>& x) { return mean_ref(x[0], {x[0].dimension() - 1}, true); },
               .errors = {bad_axis(
                   "mean", [](const tg::TensorD& x) { tg::mean(x, {-3}); }, "-3")}},
    };
}

std::vector<OpInfo> prod_rows() {
    return {
        OpInfo{.name = "prod (all)",
               .op = "prod",
               .readme = {"`prod(x[, dim, keepdim])`", "Π",
                          "dxₖ = g Π_{i<k} xᵢ Π_{i>k} xᵢ (exclusive cumprods from both sides: exact with zeros)"},
               .fn = op([](const auto& in) { return tg::prod(in[0]); }),
               .cases = {{{2, 3}}, {{}}, {{1, 4}}, {{2, 1, 3}}, {{0}}},
               .reference = [](const std::vector<Array>& x) { return prod_ref(x[0], ref::all_axes(x[0])); }},
        OpInfo{.name = "prod (dim 1)",
               .op = "prod",
               .fn = op([](const auto& in) { return tg::prod(in[0], 1); }),
               .cases = {{{2, 3}}, {{3, 1}}, {{2, 4, 2}}, {{2, 0}}},
               .reference = [](const std::vector<Array>& x) { return prod_ref(x[0], {1}); },
               .errors = {bad_axis(
                              "prod", [](const tg::TensorD& x) { tg::prod(x, 2); }, "2"),
                          error_case("0-d x has no dim", {{}}, [](const tg::TensorD& x) { tg::prod(x, 0); },
                                     Expect::Value, {"prod", "dim 0"})}},
        OpInfo{.name = "prod (dim -1, keepdim)",
               .op = "prod",
               .fn = op([](const auto& in) { return tg::prod(in[0], -1, true); }),
               .cases = {{{2, 3}}, {{4}}, {{2, 1, 3}}},
               .reference = [](const std::vector<Array>& x) { return prod_ref(x[0], {x[0].dimension() - 1}, true); }},
    };
}

std::vector<OpInfo> reduce_rows() {
    std::vector<OpInfo> rows;
    for (auto part : {sum_mean_rows, prod_rows}) {
        for (auto& row : part()) rows.push_back(std::move(row));
    }
    return rows;
}

const RegisterFamily registered{{.name = "reduce", .order = 18, .rows = reduce_rows}};

}  // namespace

}  // namespace optable
