// Rows for reductions, shape ops and the engine's broadcast_to / sum_to.
#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using Axes = std::vector<std::size_t>;
const Domain distinct{-2.0, 2.0, {}, 0.01, true};  // max: no ties, so the gradient is unique

ErrorCase bad_axis(const std::string& name, std::function<void(const tg::TensorD&)> call, const std::string& axis) {
    return {
        "axis out of range", {{2, 3}}, [call](const Inputs64& in) { call(in[0]); }, Expect::Value, {name, "dim", axis}};
}

Array mean_ref(const Array& x, const Axes& axes, bool keepdims) {
    std::size_t n = 1;
    for (auto a : axes) n *= x.shape()[a];
    return ref::map(ref::sum(x, axes, keepdims), [n](double v) { return v / static_cast<double>(n); });
}

std::vector<OpInfo> reduce_rows() {
    const std::vector<std::vector<Shape>> any = {{{2, 3}}, {{}}, {{1, 4}}, {{2, 1, 3}}};
    const std::vector<std::vector<Shape>> matrix = {{{2, 3}}, {{3, 1}}, {{2, 3, 2}}};
    return {
        {"sum (all)",
         "sum",
         op([](const auto& in) { return tg::sum(in[0]); }),
         any,
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::sum(x[0], ref::all_axes(x[0])); }},
        {"sum (axes {1})",
         "sum",
         op([](const auto& in) { return tg::sum(in[0], {1}); }),
         matrix,
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::sum(x[0], {1}); },
         {bad_axis(
              "sum", [](const tg::TensorD& x) { tg::sum(x, {5}); }, "5"),
          {"axis listed twice",
           {{2, 3}},
           [](const Inputs64& in) {
               tg::sum(in[0], {1, -1});
           },
           Expect::Value,
           {"sum", "dim", "1"}}}},
        {"sum (axes {0, -1}, keepdims)",
         "sum",
         op([](const auto& in) {
             return tg::sum(in[0], {0, -1}, true);
         }),
         matrix,
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::sum(x[0], {0, x[0].dimension() - 1}, true);
         }},
        {"mean (all)",
         "mean",
         op([](const auto& in) { return tg::mean(in[0]); }),
         any,
         {Domain{}},
         [](const std::vector<Array>& x) { return mean_ref(x[0], ref::all_axes(x[0]), false); }},
        {"mean (axes {-1}, keepdims)",
         "mean",
         op([](const auto& in) { return tg::mean(in[0], {-1}, true); }),
         matrix,
         {Domain{}},
         [](const std::vector<Array>& x) { return mean_ref(x[0], {x[0].dimension() - 1}, true); },
         {bad_axis(
             "mean", [](const tg::TensorD& x) { tg::mean(x, {-3}); }, "-3")}},
        {"max (all)",
         "max",
         op([](const auto& in) { return tg::max(in[0]); }),
         any,
         {distinct},
         [](const std::vector<Array>& x) { return ref::max(x[0], ref::all_axes(x[0])); },
         {{"no elements", {{0}}, [](const Inputs64& in) { tg::max(in[0]); }, Expect::Value, {"max", "[0]"}}}},
        {"max (axes {0})",
         "max",
         op([](const auto& in) { return tg::max(in[0], {0}); }),
         matrix,
         {distinct},
         [](const std::vector<Array>& x) { return ref::max(x[0], {0}); },
         {bad_axis(
              "max", [](const tg::TensorD& x) { tg::max(x, {2}); }, "2"),
          {"reduced axis of size 0",
           {{0, 3}},
           [](const Inputs64& in) { tg::max(in[0], {0}); },
           Expect::Value,
           {"max", "[0, 3]"}}}},
        {"max (axes {1}, keepdims)",
         "max",
         op([](const auto& in) { return tg::max(in[0], {1}, true); }),
         matrix,
         {distinct},
         [](const std::vector<Array>& x) { return ref::max(x[0], {1}, true); }},
    };
}

std::vector<OpInfo> shape_rows() {
    return {
        {"reshape (to [3, 1, 2])",
         "reshape",
         op([](const auto& in) {
             return tg::reshape(in[0], {3, 1, 2});
         }),
         {{{2, 3}}, {{6}}, {{3, 2, 1}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::reshaped(x[0], {3, 1, 2});
         },
         {{"element count differs",
           {{4}},
           [](const Inputs64& in) {
               tg::reshape(in[0], {3, 1, 2});
           },
           Expect::Shape,
           {"reshape", "[4]", "[3, 1, 2]"}}}},
        {"reshape (to [-1, 2], PyTorch's inferred size)",
         "reshape",
         op([](const auto& in) {
             return tg::reshape(in[0], {-1, 2});
         }),
         {{{2, 3}}, {{6}}, {{3, 2, 1}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::reshaped(x[0], {x[0].size() / 2, 2});
         },
         {{"two sizes inferred",
           {{2, 3}},
           [](const Inputs64& in) {
               tg::reshape(in[0], {-1, -1});
           },
           Expect::Shape,
           {"reshape", "[-1, -1]", "only one"}},
          {"no size fits",
           {{5}},
           [](const Inputs64& in) {
               tg::reshape(in[0], {-1, 2});
           },
           Expect::Shape,
           {"reshape", "[5]", "[-1, 2]"}}}},
        {"reshape (to [])",
         "reshape",
         op([](const auto& in) { return tg::reshape(in[0], {}); }),
         {{{1}}, {{1, 1}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::reshaped(x[0], {}); }},
        {"permute ({2, 0, 1})",
         "permute",
         op([](const auto& in) {
             return tg::permute(in[0], {2, 0, 1});
         }),
         {{{2, 3, 2}}, {{1, 2, 3}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::permute(x[0], {2, 0, 1});
         },
         {{"not a permutation",
           {{2, 3, 2}},
           [](const Inputs64& in) {
               tg::permute(in[0], {0, 0, 1});
           },
           Expect::Value,
           {"permute", "dims", "[2, 3, 2]"}},
          {"too few dims",
           {{2, 3, 2}},
           [](const Inputs64& in) {
               tg::permute(in[0], {1, 0});
           },
           Expect::Value,
           {"permute", "dims", "[2, 3, 2]"}}}},
        {"permute ({-1, 0, -2}, negative dims count from the end)",
         "permute",
         op([](const auto& in) {
             return tg::permute(in[0], {-1, 0, -2});
         }),
         {{{2, 3, 4}}, {{1, 2, 1}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::permute(x[0], {2, 0, 1});
         },
         {{"dim out of range",
           {{2, 3, 4}},
           [](const Inputs64& in) {
               tg::permute(in[0], {-4, 0, 1});
           },
           Expect::Value,
           {"permute", "[-4, 0, 1]", "[2, 3, 4]"}},
          {"the same axis twice through a negative dim",
           {{2, 3, 4}},
           [](const Inputs64& in) {
               tg::permute(in[0], {2, -1, 0});
           },
           Expect::Value,
           {"permute", "[2, -1, 0]", "not a permutation"}}}},
        {"transpose (last two)",
         "transpose",
         op([](const auto& in) { return tg::transpose(in[0]); }),
         {{{2, 3}}, {{2, 3, 2}}, {{1, 4}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::transpose_last(x[0]); },
         {{"dim out of range",
           {{2, 3}},
           [](const Inputs64& in) { tg::transpose(in[0], 0, 5); },
           Expect::Value,
           {"transpose", "5"}}}},
        {"transpose (0, 2)",
         "transpose",
         op([](const auto& in) { return tg::transpose(in[0], 0, 2); }),
         {{{2, 3, 4}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::permute(x[0], {2, 1, 0});
         }},
        {"slice (axis 1, [1, 3))",
         "slice",
         op([](const auto& in) { return tg::slice(in[0], 1, 1, 3); }),
         {{{2, 4}}, {{3, 3, 2}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             const Shape from = ref::shape_of(x[0]);
             Shape s = from;
             s[1] = 2;
             Array out = ref::empty(s);
             for (std::size_t k = 0; k < out.size(); ++k) {
                 auto idx = ref::unravel(k, s);
                 idx[1] += 1;
                 out.data()[k] = x[0].data()[ref::ravel(idx, from)];
             }
             return out;
         },
         {{"axis out of range",
           {{2, 4}},
           [](const Inputs64& in) { tg::slice(in[0], 2, 0, 1); },
           Expect::Value,
           {"slice", "dim", "[2, 4]"}}}},
        {"concat (axis 0)",
         "concat",
         op([](const auto& in) { return tg::concat(in, 0); }),
         {{{2, 3}, {1, 3}}, {{1}, {2}}, {{2, 1, 2}, {3, 1, 2}, {1, 1, 2}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::concat(x, 0); },
         {{"other axes differ",
           {{2, 3}, {2, 4}},
           [](const Inputs64& in) { tg::concat(in, 0); },
           Expect::Shape,
           {"concat", "[2, 3]", "[2, 4]"}},
          {"nothing to join", {}, [](const Inputs64& in) { tg::concat(in, 0); }, Expect::Value, {"concat", "empty"}}}},
        {"concat (axis -1)",
         "concat",
         op([](const auto& in) { return tg::concat(in, -1); }),
         {{{2, 1}, {2, 3}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::concat(x, 1); }},
        {"stack (axis 0)",
         "stack",
         op([](const auto& in) { return tg::stack(in, 0); }),
         {{{2, 3}, {2, 3}}, {{}, {}, {}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             std::vector<Array> parts;
             for (const auto& p : x) {
                 Shape s{1};
                 s.insert(s.end(), p.shape().begin(), p.shape().end());
                 parts.push_back(ref::reshaped(p, s));
             }
             return ref::concat(parts, 0);
         },
         {{"shapes differ",
           {{2, 3}, {3, 2}},
           [](const Inputs64& in) { tg::stack(in, 0); },
           Expect::Shape,
           {"stack", "[2, 3]", "[3, 2]"}}}},
        {"stack (axis -1)",
         "stack",
         op([](const auto& in) { return tg::stack(in, -1); }),
         {{{2}, {2}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::concat({ref::reshaped(x[0], {2, 1}), ref::reshaped(x[1], {2, 1})}, 1);
         }},
        {"unsqueeze (axis 1)",
         "unsqueeze",
         op([](const auto& in) { return tg::unsqueeze(in[0], 1); }),
         {{{2, 3}}, {{4}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             Shape s(x[0].shape().begin(), x[0].shape().end());
             s.insert(s.begin() + 1, 1);
             return ref::reshaped(x[0], s);
         },
         {{"axis out of range",
           {{2, 3}},
           [](const Inputs64& in) { tg::unsqueeze(in[0], 5); },
           Expect::Value,
           {"unsqueeze", "5", "[2, 3]"}}}},
        {"unsqueeze (0-d, axis 0)",
         "unsqueeze",
         op([](const auto& in) { return tg::unsqueeze(in[0], 0); }),
         {{{}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::reshaped(x[0], {1}); }},
        {"squeeze (axis 1)",
         "squeeze",
         op([](const auto& in) { return tg::squeeze(in[0], 1); }),
         {{{2, 1, 3}}, {{1, 1}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             Shape s(x[0].shape().begin(), x[0].shape().end());
             s.erase(s.begin() + 1);
             return ref::reshaped(x[0], s);
         },
         {{"axis not of size 1",
           {{2, 3}},
           [](const Inputs64& in) { tg::squeeze(in[0], 1); },
           Expect::Shape,
           {"squeeze", "[2, 3]"}}}},
        {"broadcast_to ([2, 3])",
         "broadcast_to",
         op([](const auto& in) {
             return tg::broadcast_to(in[0], {2, 3});
         }),
         {{{3}}, {{1, 3}}, {{2, 1}}, {{}}, {{2, 3}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             return ref::zip(x[0], ref::empty({2, 3}), [](double a, double) { return a; });
         },
         {{"does not broadcast",
           {{4}},
           [](const Inputs64& in) {
               tg::broadcast_to(in[0], {2, 3});
           },
           Expect::Shape,
           {"broadcast_to", "[4]", "[2, 3]"}}}},
        {"sum_to ([3])",
         "sum_to",
         op([](const auto& in) { return tg::sum_to(in[0], {3}); }),
         {{{2, 3}}, {{4, 1, 3}}, {{3}}},
         {Domain{}},
         [](const std::vector<Array>& x) {
             Axes lead;
             for (std::size_t i = 0; i + 1 < x[0].dimension(); ++i) lead.push_back(i);
             return ref::sum(x[0], lead);
         },
         {{"target does not broadcast back",
           {{2, 3}},
           [](const Inputs64& in) { tg::sum_to(in[0], {4}); },
           Expect::Shape,
           {"sum_to", "[2, 3]", "[4]"}}}},
        {"sum_to ([2, 1])",
         "sum_to",
         op([](const auto& in) {
             return tg::sum_to(in[0], {2, 1});
         }),
         {{{2, 3}}},
         {Domain{}},
         [](const std::vector<Array>& x) { return ref::sum(x[0], {1}, true); }},
    };
}

}  // namespace

std::vector<OpInfo> reduce_shape_rows() {
    auto rows = reduce_rows();
    for (auto& row : shape_rows()) rows.push_back(std::move(row));
    return rows;
}

}  // namespace optable
