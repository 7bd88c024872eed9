// Rows for the shape ops and the engine's broadcast_to / sum_to.
#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using Axes = std::vector<std::size_t>;

std::vector<OpInfo> shape_rows() {
    return {
        OpInfo{.name = "reshape (to [3, 1, 2])",
               .op = "reshape",
               .readme = {"`reshape(x, shape)`, `reshape(x, {-1, n})`",
                          "same elements, new shape (one -1 inferred, as PyTorch)", "dx = reshape(g, x.shape)"},
               .fn = op([](const auto& in) {
                   return tg::reshape(in[0], {3, 1, 2});
               }),
               .cases = {{{2, 3}}, {{6}}, {{3, 2, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::reshaped(x[0], {3, 1, 2});
                   },
               .errors = {{"element count differs",
                           {{4}},
                           [](const Inputs64& in) {
                               tg::reshape(in[0], {3, 1, 2});
                           },
                           Expect::Shape,
                           {"reshape", "[4]", "[3, 1, 2]"}}}},
        OpInfo{.name = "reshape (to [-1, 2], PyTorch's inferred size)",
               .op = "reshape",
               .fn = op([](const auto& in) {
                   return tg::reshape(in[0], {-1, 2});
               }),
               .cases = {{{2, 3}}, {{6}}, {{3, 2, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::reshaped(x[0], {x[0].size() / 2, 2});
                   },
               .errors = {{"two sizes inferred",
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
        OpInfo{.name = "reshape (to [])",
               .op = "reshape",
               .fn = op([](const auto& in) { return tg::reshape(in[0], {}); }),
               .cases = {{{1}}, {{1, 1}}},
               .reference = [](const std::vector<Array>& x) { return ref::reshaped(x[0], {}); }},
        OpInfo{
            .name = "permute ({2, 0, 1})",
            .op = "permute",
            .readme = {"`permute(x, dims)`, `transpose(x, dim0, dim1)`", "reordered dims", "dx = permute(g, dims⁻¹)"},
            .fn = op([](const auto& in) {
                return tg::permute(in[0], {2, 0, 1});
            }),
            .cases = {{{2, 3, 2}}, {{1, 2, 3}}},
            .reference =
                [](const std::vector<Array>& x) {
                    return ref::permute(x[0], {2, 0, 1});
                },
            .errors = {{"not a permutation",
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
        OpInfo{.name = "permute ({-1, 0, -2}, negative dims count from the end)",
               .op = "permute",
               .fn = op([](const auto& in) {
                   return tg::permute(in[0], {-1, 0, -2});
               }),
               .cases = {{{2, 3, 4}}, {{1, 2, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::permute(x[0], {2, 0, 1});
                   },
               .errors = {{"dim out of range",
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
        OpInfo{.name = "permute ({0, 2, 1, 3}, the last dim kept: copied in whole runs)",
               .op = "permute",
               .fn = op([](const auto& in) {
                   return tg::permute(in[0], {0, 2, 1, 3});
               }),
               .cases = {{{2, 3, 2, 4}}, {{2, 0, 3, 2}}, {{1, 1, 1, 5}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::permute(x[0], {0, 2, 1, 3});
                   }},
        OpInfo{.name = "permute ({0, 1, 2}, the identity: one run)",
               .op = "permute",
               .fn = op([](const auto& in) {
                   return tg::permute(in[0], {0, 1, 2});
               }),
               .cases = {{{2, 3, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::permute(x[0], {0, 1, 2});
                   }},
        OpInfo{.name = "transpose (last two)",
               .op = "transpose",
               .fn = op([](const auto& in) { return tg::transpose(in[0]); }),
               .cases = {{{2, 3}}, {{2, 3, 2}}, {{1, 4}}},
               .reference = [](const std::vector<Array>& x) { return ref::transpose_last(x[0]); },
               .errors = {{"dim out of range",
                           {{2, 3}},
                           [](const Inputs64& in) { tg::transpose(in[0], 0, 5); },
                           Expect::Value,
                           {"transpose", "5"}}}},
        OpInfo{.name = "transpose (0, 2)",
               .op = "transpose",
               .fn = op([](const auto& in) { return tg::transpose(in[0], 0, 2); }),
               .cases = {{{2, 3, 4}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::permute(x[0], {2, 1, 0});
                   }},
        OpInfo{.name = "broadcast_to ([2, 3])",
               .op = "broadcast_to",
               .readme = {"`broadcast_to(x, shape)`", "numpy broadcast", "dx = sum_to(g, x.shape)"},
               .fn = op([](const auto& in) {
                   return tg::broadcast_to(in[0], {2, 3});
               }),
               .cases = {{{3}}, {{1, 3}}, {{2, 1}}, {{}}, {{2, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::zip(x[0], ref::empty({2, 3}), [](double a, double) { return a; });
                   },
               .errors = {{"does not broadcast",
                           {{4}},
                           [](const Inputs64& in) {
                               tg::broadcast_to(in[0], {2, 3});
                           },
                           Expect::Shape,
                           {"broadcast_to", "[4]", "[2, 3]"}}}},
        OpInfo{.name = "sum_to ([3])",
               .op = "sum_to",
               .readme = {"`sum_to(x, shape)`", "sum down to shape", "dx = broadcast_to(g, x.shape)"},
               .fn = op([](const auto& in) { return tg::sum_to(in[0], {3}); }),
               .cases = {{{2, 3}}, {{4, 1, 3}}, {{3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       Axes lead;
                       for (std::size_t i = 0; i + 1 < x[0].dimension(); ++i) lead.push_back(i);
                       return ref::sum(x[0], lead);
                   },
               .errors = {{"target does not broadcast back",
                           {{2, 3}},
                           [](const Inputs64& in) { tg::sum_to(in[0], {4}); },
                           Expect::Shape,
                           {"sum_to", "[2, 3]", "[4]"}}}},
        OpInfo{.name = "sum_to ([2, 1])",
               .op = "sum_to",
               .fn = op([](const auto& in) {
                   return tg::sum_to(in[0], {2, 1});
               }),
               .cases = {{{2, 3}}},
               .reference = [](const std::vector<Array>& x) { return ref::sum(x[0], {1}, true); }},
        OpInfo{.name = "slice (axis 1, [1, 3))",
               .op = "slice",
               .readme = {"`slice(x, dim, start, end)`", "x[start:end] along dim (negative from the end, clamped)",
                          "dx = g placed at [start, end), 0 elsewhere"},
               .fn = op([](const auto& in) { return tg::slice(in[0], 1, 1, 3); }),
               .cases = {{{2, 4}}, {{3, 3, 2}}},
               .reference =
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
               .errors = {{"dim out of range",
                           {{2, 4}},
                           [](const Inputs64& in) { tg::slice(in[0], 2, 0, 1); },
                           Expect::Value,
                           {"slice", "dim", "[2, 4]"}}}},
        OpInfo{.name = "concat (axis 0)",
               .op = "concat",
               .readme = {"`concat(xs, dim)`, `stack(xs, dim)`", "join", "dxₖ = the k-th part of g"},
               .fn = op([](const auto& in) { return tg::concat(in, 0); }),
               .cases = {{{2, 3}, {1, 3}}, {{1}, {2}}, {{2, 1, 2}, {3, 1, 2}, {1, 1, 2}}},
               .reference = [](const std::vector<Array>& x) { return ref::concat(x, 0); },
               .errors = {{"other axes differ",
                           {{2, 3}, {2, 4}},
                           [](const Inputs64& in) { tg::concat(in, 0); },
                           Expect::Shape,
                           {"concat", "[2, 3]", "[2, 4]"}},
                          {"nothing to join",
                           {},
                           [](const Inputs64& in) { tg::concat(in, 0); },
                           Expect::Value,
                           {"concat", "empty"}}}},
        OpInfo{.name = "concat (axis -1)",
               .op = "concat",
               .fn = op([](const auto& in) { return tg::concat(in, -1); }),
               .cases = {{{2, 1}, {2, 3}}},
               .reference = [](const std::vector<Array>& x) { return ref::concat(x, 1); }},
        OpInfo{.name = "stack (axis 0)",
               .op = "stack",
               .fn = op([](const auto& in) { return tg::stack(in, 0); }),
               .cases = {{{2, 3}, {2, 3}}, {{}, {}, {}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       std::vector<Array> parts;
                       for (const auto& p : x) {
                           Shape s{1};
                           s.insert(s.end(), p.shape().begin(), p.shape().end());
                           parts.push_back(ref::reshaped(p, s));
                       }
                       return ref::concat(parts, 0);
                   },
               .errors = {{"shapes differ",
                           {{2, 3}, {3, 2}},
                           [](const Inputs64& in) { tg::stack(in, 0); },
                           Expect::Shape,
                           {"stack", "[2, 3]", "[3, 2]"}}}},
        OpInfo{.name = "stack (axis -1)",
               .op = "stack",
               .fn = op([](const auto& in) { return tg::stack(in, -1); }),
               .cases = {{{2}, {2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return ref::concat({ref::reshaped(x[0], {2, 1}), ref::reshaped(x[1], {2, 1})}, 1);
                   }},
        OpInfo{
            .name = "unsqueeze (axis 1)",
            .op = "unsqueeze",
            .readme = {"`unsqueeze(x, dim)`, `squeeze(x, dim)`", "add/drop a size-1 dim", "dx = reshape(g, x.shape)"},
            .fn = op([](const auto& in) { return tg::unsqueeze(in[0], 1); }),
            .cases = {{{2, 3}}, {{4}}},
            .reference =
                [](const std::vector<Array>& x) {
                    Shape s(x[0].shape().begin(), x[0].shape().end());
                    s.insert(s.begin() + 1, 1);
                    return ref::reshaped(x[0], s);
                },
            .errors = {{"axis out of range",
                        {{2, 3}},
                        [](const Inputs64& in) { tg::unsqueeze(in[0], 5); },
                        Expect::Value,
                        {"unsqueeze", "5", "[2, 3]"}}}},
        OpInfo{.name = "unsqueeze (0-d, axis 0)",
               .op = "unsqueeze",
               .fn = op([](const auto& in) { return tg::unsqueeze(in[0], 0); }),
               .cases = {{{}}},
               .reference = [](const std::vector<Array>& x) { return ref::reshaped(x[0], {1}); }},
        OpInfo{.name = "squeeze (axis 1)",
               .op = "squeeze",
               .fn = op([](const auto& in) { return tg::squeeze(in[0], 1); }),
               .cases = {{{2, 1, 3}}, {{1, 1}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       Shape s(x[0].shape().begin(), x[0].shape().end());
                       s.erase(s.begin() + 1);
                       return ref::reshaped(x[0], s);
                   },
               .errors = {{"axis not of size 1",
                           {{2, 3}},
                           [](const Inputs64& in) { tg::squeeze(in[0], 1); },
                           Expect::Shape,
                           {"squeeze", "[2, 3]"}}}},
    };
}

const RegisterFamily registered{{.name = "shape", .order = 20, .rows = shape_rows}};

}  // namespace

}  // namespace optable
