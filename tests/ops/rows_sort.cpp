// Rows for sort and topk (ops/sort.hpp): the rows check the values and their gradient (each element
// gets the gradient of the place it went to); the indices, NaN's place and ties are checked in
// reduce_test.cpp. The reference sorts each slice with std::sort on copies.
#include <algorithm>
#include <functional>
#include <vector>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

const Domain distinct{-2.0, 2.0, {}, 0.01, true};

/// Each slice along axis sorted (descending: largest first), its first k kept.
Array sorted_ref(const Array& x, std::size_t axis, bool descending, std::size_t k) {
    const ref::Index sx = ref::shape_of(x);
    ref::Index so = sx;
    so[axis] = k;
    Array out = ref::empty(so);
    for (std::size_t flat = 0; flat < out.size(); ++flat) {
        ref::Index idx = ref::unravel(flat, so);
        const std::size_t rank = idx[axis];
        std::vector<double> slice;
        for (std::size_t j = 0; j < sx[axis]; ++j) {
            idx[axis] = j;
            slice.push_back(x.data()[ref::ravel(idx, sx)]);
        }
        std::sort(slice.begin(), slice.end());
        if (descending) std::reverse(slice.begin(), slice.end());
        out.data()[flat] = slice[rank];
    }
    return out;
}

std::vector<OpInfo> sort_rows() {
    return {
        OpInfo{.name = "sort (dim -1: values)",
               .op = "sort",
               .readme = {"`sort(x[, dim, descending, stable])`",
                          "{values, indices}, stable; NaN sorts largest (as PyTorch)",
                          "dx = g placed back at the indices"},
               .fn = op([](const auto& in) { return tg::sort(in[0]).values; }),
               .cases = {{{2, 3}}, {{4}}, {{2, 1, 3}}, {{3, 1}}, {{2, 0}}},
               .domains = {distinct},
               .reference =
                   [](const std::vector<Array>& x) {
                       const std::size_t axis = x[0].dimension() - 1;
                       return sorted_ref(x[0], axis, false, x[0].shape()[axis]);
                   },
               .errors = {error_case("dim out of range", {{2, 3}}, [](const tg::TensorD& x) { tg::sort(x, 2); },
                                     Expect::Value, {"sort", "dim 2", "[2, 3]"}),
                          error_case("0-d x has no dim", {{}}, [](const tg::TensorD& x) { tg::sort(x); }, Expect::Value,
                                     {"sort", "[]"})}},
        OpInfo{.name = "sort (dim 0, descending: values)",
               .op = "sort",
               .fn = op([](const auto& in) { return tg::sort(in[0], 0, true).values; }),
               .cases = {{{3, 2}}, {{4}}, {{3, 2, 2}}},
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return sorted_ref(x[0], 0, true, x[0].shape()[0]); }},
        OpInfo{.name = "topk (k 2, dim -1: values)",
               .op = "topk",
               .readme = {"`topk(x, k[, dim, largest, sorted])`", "{values, indices} of the k largest (smallest)",
                          "dx = g placed at the indices, 0 elsewhere"},
               .fn = op([](const auto& in) { return tg::topk(in[0], 2).values; }),
               .cases = {{{2, 3}}, {{4}}, {{2, 1, 2}}, {{0, 3}}},
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return sorted_ref(x[0], x[0].dimension() - 1, true, 2); },
               .errors = {error_case("k larger than the dim", {{2, 3}}, [](const tg::TensorD& x) { tg::topk(x, 4); },
                                     Expect::Value, {"topk", "k = 4", "size 3", "[2, 3]"}),
                          error_case("negative k", {{2, 3}}, [](const tg::TensorD& x) { tg::topk(x, -1); },
                                     Expect::Value, {"topk", "k = -1"}),
                          error_case("dim out of range", {{2, 3}}, [](const tg::TensorD& x) { tg::topk(x, 1, -3); },
                                     Expect::Value, {"topk", "dim -3", "[2, 3]"})}},
        OpInfo{.name = "topk (k 2, dim 0, smallest: values)",
               .op = "topk",
               .fn = op([](const auto& in) { return tg::topk(in[0], 2, 0, false).values; }),
               .cases = {{{3, 2}}, {{2}}, {{4, 2, 1}}},
               .domains = {distinct},
               .reference = [](const std::vector<Array>& x) { return sorted_ref(x[0], 0, false, 2); }},
        OpInfo{.name = "topk (k 0: empty)",
               .op = "topk",
               .fn = op([](const auto& in) { return tg::topk(in[0], 0, 1).values; }),
               .cases = {{{2, 3}}},
               .reference = [](const std::vector<Array>& x) { return sorted_ref(x[0], 1, true, 0); }},
    };
}

const RegisterFamily registered{{.name = "sort", .order = 23, .rows = sort_rows}};

}  // namespace

}  // namespace optable
