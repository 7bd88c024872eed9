// Rows for the convolutions (ops/convolution.hpp): conv2d, conv1d, conv_transpose2d and the
// internal weight gradient detail::conv2d_weight. The references are the defining sums written out
// with nested loops over 4-D arrays (conv_reference.hpp; conv1d and unbatched inputs viewed with
// unit dims added).
#include <cstdint>

#include "conv_reference.hpp"
#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using Index = ref::Index;
using conv_loops::Conv;
using conv_loops::conv_ref;
using conv_loops::conv_transpose_ref;
using conv_loops::weight_ref;

/// `a` as a 4-D array: a batch of 1 put in front when `unbatched`, a unit height inserted for
/// conv1d's 3-D arrays.
Array as4d(const Array& a, bool unbatched) {
    Index s = ref::shape_of(a);
    if (unbatched) s.insert(s.begin(), 1);
    if (s.size() == 3) s.insert(s.begin() + 2, 1);
    Array out = a;
    out.reshape(s);
    return out;
}

/// The 4-D result of a reference, shaped back as the op's result for x of rank `x_rank` (of
/// `batched_rank` when batched).
Array shaped_back(Array y, std::size_t x_rank, std::size_t batched_rank) {
    Index s = ref::shape_of(y);
    if (batched_rank == 3) s.erase(s.begin() + 2);
    if (x_rank + 1 == batched_rank) s.erase(s.begin());
    y.reshape(s);
    return y;
}

/// The reference of a conv-like op (conv_ref or conv_transpose_ref) on the row's inputs x, w[, b]
/// of a `spatial`-D op.
template <class F>
Reference reference(F f, std::size_t spatial, Conv c) {
    return [f, spatial, c](const std::vector<Array>& in) {
        const std::size_t batched = spatial + 2;
        const Array* b = in.size() > 2 ? &in[2] : nullptr;
        const bool unbatched = in[0].dimension() + 1 == batched;
        return shaped_back(f(as4d(in[0], unbatched), as4d(in[1], false), b, c), in[0].dimension(), batched);
    };
}

/// 'same' padding of a kernel of k taps (dilation d): the top/left part and the extra bottom/right.
std::int64_t same_before(std::int64_t k, std::int64_t d = 1) {
    return d * (k - 1) / 2;
}
std::int64_t same_extra(std::int64_t k, std::int64_t d = 1) {
    return d * (k - 1) % 2;
}

using Call = std::function<void(const Inputs64&)>;

/// Error cases of one op: each message must name the op too.
struct Errors {
    const char* op;
    ErrorCase operator()(std::string what, std::vector<Shape> shapes, Call call, Expect expect,
                         std::vector<std::string> fragments) const {
        fragments.insert(fragments.begin(), op);
        return {std::move(what), std::move(shapes), std::move(call), expect, std::move(fragments)};
    }
};

std::vector<ErrorCase> conv2d_errors() {
    const auto plain = [](const Inputs64& in) { tg::conv2d(in[0], in[1]); };
    const Errors e{"conv2d"};
    return {
        e("x 2-D", {{4, 4}, {1, 1, 1, 1}}, plain, Expect::Shape, {"x has shape [4, 4]", "3-D", "4-D"}),
        e("weight 3-D", {{1, 2, 4, 4}, {2, 2, 3}}, plain, Expect::Shape, {"weight has shape [2, 2, 3]", "4-D"}),
        e("kernel larger than the input", {{1, 1, 3, 3}, {1, 1, 4, 4}}, plain, Expect::Shape,
          {"x has shape [1, 1, 3, 3]", "weight has shape [1, 1, 4, 4]", "kernel", "larger than the padded input (3)"}),
        e("dilated kernel larger than the padded input", {{1, 1, 2, 2}, {1, 1, 3, 3}},
          Call([](const Inputs64& in) { tg::conv2d(in[0], in[1], {}, 1, 1, 2); }), Expect::Shape,
          {"dilated: 5", "padded input (4)", "along H"}),
        e("channels not divisible by groups", {{1, 3, 4, 4}, {2, 1, 2, 2}},
          Call([](const Inputs64& in) { tg::conv2d(in[0], in[1], {}, 1, 0, 1, 2); }), Expect::Shape,
          {"x has shape [1, 3, 4, 4]", "3 channels", "not divisible by groups 2"}),
        e("out_channels not divisible by groups", {{1, 4, 4, 4}, {3, 2, 2, 2}},
          Call([](const Inputs64& in) { tg::conv2d(in[0], in[1], {}, 1, 0, 1, 2); }), Expect::Shape,
          {"weight has shape [3, 2, 2, 2]", "out_channels 3", "groups 2"}),
        e("weight channels differ from x's", {{1, 3, 4, 4}, {2, 2, 2, 2}}, plain, Expect::Shape,
          {"x has shape [1, 3, 4, 4]", "weight has shape [2, 2, 2, 2]", "x's 3 channels",
           "weight.shape[1] * groups = 2"}),
        e("bias of the wrong size", {{1, 2, 4, 4}, {3, 2, 2, 2}, {2}},
          Call([](const Inputs64& in) { tg::conv2d(in[0], in[1], in[2]); }), Expect::Shape,
          {"bias has shape [2]", "weight has shape [3, 2, 2, 2]", "expected [3]"}),
        e("stride 0", {{1, 1, 4, 4}, {1, 1, 2, 2}}, Call([](const Inputs64& in) {
              tg::conv2d(in[0], in[1], {}, {1, 0});
          }),
          Expect::Value, {"stride is (1, 0)", ">= 1"}),
        e("dilation -1", {{1, 1, 4, 4}, {1, 1, 2, 2}},
          Call([](const Inputs64& in) { tg::conv2d(in[0], in[1], {}, 1, 0, -1); }), Expect::Value,
          {"dilation is (-1, -1)"}),
        e("negative padding", {{1, 1, 4, 4}, {1, 1, 2, 2}}, Call([](const Inputs64& in) {
              tg::conv2d(in[0], in[1], {}, 1, {0, -1});
          }),
          Expect::Value, {"padding is (0, -1)", ">= 0"}),
        e("groups 0", {{1, 1, 4, 4}, {1, 1, 2, 2}},
          Call([](const Inputs64& in) { tg::conv2d(in[0], in[1], {}, 1, 0, 1, 0); }), Expect::Value, {"groups is 0"}),
        e("'same' with stride 2", {{1, 1, 4, 4}, {1, 1, 3, 3}},
          Call([](const Inputs64& in) { tg::conv2d(in[0], in[1], {}, 2, tg::Padding::Same); }), Expect::Value,
          {"'same'", "stride (2, 2)"}),
        e("zero channels", {{1, 0, 4, 4}, {1, 0, 2, 2}}, plain, Expect::Shape,
          {"x has shape [1, 0, 4, 4]", "positive"}),
        e("undefined weight", {{1, 1, 4, 4}}, Call([](const Inputs64& in) { tg::conv2d(in[0], tg::TensorD()); }),
          Expect::Value, {"weight", "undefined"}),
    };
}

std::vector<ErrorCase> conv_transpose2d_errors() {
    const Errors e{"conv_transpose2d"};
    return {
        e("output_padding not smaller than stride or dilation", {{1, 2, 3, 3}, {2, 2, 2, 2}},
          Call([](const Inputs64& in) { tg::conv_transpose2d(in[0], in[1], {}, 2, 0, 2); }), Expect::Value,
          {"output_padding (2, 2)", "stride (2, 2)", "dilation (1, 1)"}),
        e("negative output_padding", {{1, 2, 3, 3}, {2, 2, 2, 2}}, Call([](const Inputs64& in) {
              tg::conv_transpose2d(in[0], in[1], {}, 2, 0, {0, -1});
          }),
          Expect::Value, {"output_padding is (0, -1)"}),
        e("output size not positive", {{1, 2, 1, 1}, {2, 2, 1, 1}},
          Call([](const Inputs64& in) { tg::conv_transpose2d(in[0], in[1], {}, 1, 1); }), Expect::Shape,
          {"x has shape [1, 2, 1, 1]", "padding (1, 1)", "output size -1 along H", "not positive"}),
        e("weight channels differ from x's", {{1, 3, 3, 3}, {2, 2, 2, 2}},
          Call([](const Inputs64& in) { tg::conv_transpose2d(in[0], in[1]); }), Expect::Shape,
          {"x's 3 channels", "weight.shape[0] = 2"}),
        e("channels not divisible by groups", {{1, 3, 3, 3}, {3, 1, 2, 2}},
          Call([](const Inputs64& in) { tg::conv_transpose2d(in[0], in[1], {}, 1, 0, 0, 2); }), Expect::Shape,
          {"3 channels", "not divisible by groups 2"}),
        e("bias of the wrong size", {{1, 2, 3, 3}, {2, 3, 2, 2}, {2}},
          Call([](const Inputs64& in) { tg::conv_transpose2d(in[0], in[1], in[2]); }), Expect::Shape,
          {"bias has shape [2]", "expected [3]"}),
        e("x 5-D", {{1, 1, 2, 3, 3}, {1, 1, 2, 2}},
          Call([](const Inputs64& in) { tg::conv_transpose2d(in[0], in[1]); }), Expect::Shape,
          {"x has shape [1, 1, 2, 3, 3]", "3-D", "4-D"}),
        e("stride 0", {{1, 2, 3, 3}, {2, 2, 2, 2}},
          Call([](const Inputs64& in) { tg::conv_transpose2d(in[0], in[1], {}, 0); }), Expect::Value,
          {"stride is (0, 0)"}),
    };
}

std::vector<ErrorCase> conv1d_errors() {
    const Errors e{"conv1d"};
    return {
        e("x 4-D", {{1, 1, 2, 2}, {1, 1, 1}}, Call([](const Inputs64& in) { tg::conv1d(in[0], in[1]); }), Expect::Shape,
          {"x has shape [1, 1, 2, 2]", "2-D (unbatched [C, L])", "3-D ([N, C, L])"}),
        e("kernel larger than the padded input", {{1, 1, 3}, {1, 1, 6}},
          Call([](const Inputs64& in) { tg::conv1d(in[0], in[1], {}, 1, 1); }), Expect::Shape,
          {"weight has shape [1, 1, 6]", "(dilated: 6)", "padded input (5)", "along L"}),
        e("negative padding", {{1, 1, 3}, {1, 1, 2}},
          Call([](const Inputs64& in) { tg::conv1d(in[0], in[1], {}, 1, -2); }), Expect::Value, {"padding is -2"}),
    };
}

std::vector<OpInfo> convolution_rows() {
    using tg::Padding;
    return {
        OpInfo{.name = "conv2d",
               .op = "conv2d",
               .readme = {"`conv2d(x, w[, b, stride, padding, dilation, groups])`",
                          "2-D cross-correlation, NCHW, w [O, C/groups, kH, kW]; padding int, pair, Same or Valid "
                          "(im2col + GEMM)",
                          "dx = conv_transpose2d(g, w), dw = correlation of x with g, db = Σ_{N,H,W} g"},
               .fn = op([](const auto& in) { return tg::conv2d(in[0], in[1], in[2]); }),
               .cases = {{{2, 2, 4, 4}, {3, 2, 2, 3}, {3}},
                         {{2, 4, 5}, {3, 2, 3, 3}, {3}},     // unbatched
                         {{2, 3, 3, 2}, {2, 3, 1, 1}, {2}},  // 1x1: a GEMM without im2col
                         {{1, 1, 1, 1}, {1, 1, 1, 1}, {1}},
                         {{0, 2, 3, 3}, {2, 2, 2, 2}, {2}}},  // an empty batch
               .reference = reference(conv_ref, 2, {}),
               .errors = conv2d_errors()},
        OpInfo{.name = "conv2d (stride 2, padding 1)",
               .op = "conv2d",
               .fn = op([](const auto& in) { return tg::conv2d(in[0], in[1], in[2], 2, 1); }),
               .cases = {{{2, 2, 5, 4}, {2, 2, 3, 3}, {2}}, {{1, 1, 2, 2}, {2, 1, 3, 3}, {2}}},
               .reference = reference(conv_ref, 2, {.sh = 2, .sw = 2, .ph = 1, .pw = 1})},
        OpInfo{.name = "conv2d (stride {2, 1}, padding {1, 0}, dilation 2)",
               .op = "conv2d",
               .fn = op([](const auto& in) {
                   return tg::conv2d(in[0], in[1], in[2], {2, 1}, {1, 0}, 2);
               }),
               .cases = {{{1, 2, 6, 5}, {2, 2, 2, 2}, {2}}},
               .reference = reference(conv_ref, 2, {.sh = 2, .sw = 1, .ph = 1, .pw = 0, .dh = 2, .dw = 2})},
        OpInfo{.name = "conv2d (groups 2, padding 1, no bias)",
               .op = "conv2d",
               .fn = op([](const auto& in) { return tg::conv2d(in[0], in[1], {}, 1, 1, 1, 2); }),
               .cases = {{{2, 4, 3, 3}, {4, 2, 2, 2}}, {{1, 2, 3, 2}, {2, 1, 2, 2}}},
               .reference = reference(conv_ref, 2, {.ph = 1, .pw = 1, .groups = 2})},
        OpInfo{.name = "conv2d (depthwise, groups = channels, padding 1)",
               .op = "conv2d",
               .fn = op([](const auto& in) {
                   const auto channels = static_cast<std::int64_t>(in[1].shape()[0]);
                   return tg::conv2d(in[0], in[1], in[2], 1, 1, 1, channels);
               }),
               .cases = {{{1, 3, 4, 4}, {3, 1, 3, 3}, {3}}, {{2, 2, 3, 3}, {2, 1, 2, 2}, {2}}},
               .reference =
                   [](const std::vector<Array>& in) {
                       const auto channels = static_cast<std::int64_t>(in[1].shape()[0]);
                       return conv_ref(in[0], in[1], &in[2], {.ph = 1, .pw = 1, .groups = channels});
                   }},
        OpInfo{.name = "conv2d (padding Same, odd kernel 3x3 and even kernel 2x4)",
               .op = "conv2d",
               .fn = op([](const auto& in) { return tg::conv2d(in[0], in[1], in[2], 1, tg::Padding::Same); }),
               .cases = {{{1, 2, 4, 5}, {2, 2, 3, 3}, {2}}, {{1, 2, 4, 5}, {2, 2, 2, 4}, {2}}},
               .reference =
                   [](const std::vector<Array>& in) {
                       const auto kh = std::int64_t(in[1].shape()[2]), kw = std::int64_t(in[1].shape()[3]);
                       return conv_ref(in[0], in[1], &in[2],
                                       {.ph = same_before(kh),
                                        .pw = same_before(kw),
                                        .extra_h = same_extra(kh),
                                        .extra_w = same_extra(kw)});
                   }},
        OpInfo{
            .name = "conv2d (padding Same, dilation 2, unbatched)",
            .op = "conv2d",
            .fn = op([](const auto& in) { return tg::conv2d(in[0], in[1], in[2], 1, tg::Padding::Same, 2); }),
            .cases = {{{2, 4, 4}, {1, 2, 2, 3}, {1}}},
            .reference = reference(conv_ref, 2, {.ph = same_before(2, 2), .pw = same_before(3, 2), .dh = 2, .dw = 2})},
        OpInfo{.name = "conv2d (padding Valid)",
               .op = "conv2d",
               .fn = op([](const auto& in) { return tg::conv2d(in[0], in[1], in[2], 1, tg::Padding::Valid); }),
               .cases = {{{1, 2, 4, 3}, {2, 2, 2, 2}, {2}}},
               .reference = reference(conv_ref, 2, {})},
        OpInfo{.name = "conv1d",
               .op = "conv1d",
               .readme = {"`conv1d(x, w[, b, stride, padding, dilation, groups])`",
                          "1-D cross-correlation, NCL, w [O, C/groups, k] (conv2d over a unit height)", "as conv2d's"},
               .fn = op([](const auto& in) { return tg::conv1d(in[0], in[1], in[2]); }),
               .cases = {{{2, 2, 6}, {3, 2, 3}, {3}}, {{2, 5}, {3, 2, 2}, {3}}, {{2, 3, 4}, {2, 3, 1}, {2}}},
               .reference = reference(conv_ref, 1, {}),
               .errors = conv1d_errors()},
        OpInfo{.name = "conv1d (stride 2, padding 1, dilation 2, groups 2, no bias)",
               .op = "conv1d",
               .fn = op([](const auto& in) { return tg::conv1d(in[0], in[1], {}, 2, 1, 2, 2); }),
               .cases = {{{2, 4, 7}, {2, 2, 3}}},
               .reference = reference(conv_ref, 1, {.sw = 2, .pw = 1, .dw = 2, .groups = 2})},
        OpInfo{.name = "conv1d (padding Same, even kernel)",
               .op = "conv1d",
               .fn = op([](const auto& in) { return tg::conv1d(in[0], in[1], in[2], 1, tg::Padding::Same); }),
               .cases = {{{1, 2, 5}, {2, 2, 4}, {2}}},
               .reference = reference(conv_ref, 1, {.pw = same_before(4), .extra_w = same_extra(4)})},
        OpInfo{.name = "conv_transpose2d",
               .op = "conv_transpose2d",
               .readme = {"`conv_transpose2d(x, w[, b, stride, padding, output_padding, groups, dilation])`",
                          "the adjoint of conv2d in x, w [Cin, Cout/groups, kH, kW] (GEMM + col2im)",
                          "dx = conv2d(g, w), dw = correlation of g with x, db = Σ_{N,H,W} g"},
               .fn = op([](const auto& in) { return tg::conv_transpose2d(in[0], in[1], in[2]); }),
               .cases = {{{2, 3, 3, 3}, {3, 2, 2, 2}, {2}},
                         {{3, 2, 3}, {3, 2, 2, 2}, {2}},  // unbatched
                         {{2, 3, 2, 3}, {3, 2, 1, 1}, {2}}},
               .reference = reference(conv_transpose_ref, 2, {}),
               .errors = conv_transpose2d_errors()},
        OpInfo{.name = "conv_transpose2d (stride 2, padding 1, output_padding 1)",
               .op = "conv_transpose2d",
               .fn = op([](const auto& in) { return tg::conv_transpose2d(in[0], in[1], in[2], 2, 1, 1); }),
               .cases = {{{1, 2, 3, 3}, {2, 2, 3, 3}, {2}}},
               .reference = reference(conv_transpose_ref, 2, {.sh = 2, .sw = 2, .ph = 1, .pw = 1, .oph = 1, .opw = 1})},
        OpInfo{.name = "conv_transpose2d (stride {2, 1}, output_padding {1, 0}, groups 2, dilation 2, no bias)",
               .op = "conv_transpose2d",
               .fn = op([](const auto& in) {
                   return tg::conv_transpose2d(in[0], in[1], {}, {2, 1}, 0, {1, 0}, 2, 2);
               }),
               .cases = {{{1, 4, 2, 3}, {4, 1, 2, 2}}},
               .reference = reference(conv_transpose_ref, 2,
                                      {.sh = 2, .sw = 1, .dh = 2, .dw = 2, .groups = 2, .oph = 1, .opw = 0})},
        OpInfo{.name = "conv_transpose2d (output_padding 1 >= stride 1, < dilation 2)",
               .op = "conv_transpose2d",
               .fn = op([](const auto& in) { return tg::conv_transpose2d(in[0], in[1], in[2], 1, 0, 1, 1, 2); }),
               .cases = {{{1, 2, 2, 2}, {2, 1, 2, 2}, {1}}},
               .reference = reference(conv_transpose_ref, 2, {.dh = 2, .dw = 2, .oph = 1, .opw = 1})},
        OpInfo{
            .name = "conv2d_weight (stride 2, padding 1, groups 2)",
            .op = "conv2d_weight",
            .fn = op([](const auto& in) {
                return tg::detail::conv2d_weight(in[0], in[1], Shape{4, 2, 3, 3}, 2, 1, 1, 2);
            }),
            .cases = {{{2, 4, 5, 5}, {2, 4, 3, 3}},
                      {{1, 4, 5, 4}, {1, 4, 2, 2}}},  // gy smaller than conv2d's output: its rows past 2 take no part
            .reference =
                [](const std::vector<Array>& in) {
                    return weight_ref(in[0], in[1], {4, 2, 3, 3}, {.sh = 2, .sw = 2, .ph = 1, .pw = 1, .groups = 2});
                }},
        // Groups of one input channel run their own kernels (ops/convolution.cpp): a whole-plane pass
        // per tap at stride 1, a pass per row otherwise, for conv2d, its adjoint and its weight gradient.
        OpInfo{
            .name = "conv2d (one input channel per group, 2 outputs each, stride {2, 1}, padding {1, 2}, dilation "
                    "{1, 2})",
            .op = "conv2d",
            .fn = op([](const auto& in) {
                return tg::conv2d(in[0], in[1], in[2], {2, 1}, {1, 2}, {1, 2}, 2);
            }),
            .cases = {{{2, 2, 6, 7}, {4, 1, 3, 3}, {4}}},
            .reference = reference(conv_ref, 2, {.sh = 2, .sw = 1, .ph = 1, .pw = 2, .dh = 1, .dw = 2, .groups = 2})},
        OpInfo{
            .name = "conv2d (depthwise, stride {1, 2}, padding 2, dilation 2)",
            .op = "conv2d",
            .fn = op([](const auto& in) {
                return tg::conv2d(in[0], in[1], in[2], {1, 2}, 2, 2, 3);
            }),
            .cases = {{{1, 3, 7, 8}, {3, 1, 3, 2}, {3}}},
            .reference = reference(conv_ref, 2, {.sh = 1, .sw = 2, .ph = 2, .pw = 2, .dh = 2, .dw = 2, .groups = 3})},
        OpInfo{.name = "conv2d (one input channel, padding {2, 0}, dilation {2, 1}, no bias)",
               .op = "conv2d",
               .fn = op([](const auto& in) {
                   return tg::conv2d(in[0], in[1], {}, 1, {2, 0}, {2, 1});
               }),
               .cases = {{{3, 1, 5, 6}, {4, 1, 3, 2}}, {{1, 4, 3}, {2, 1, 2, 3}}},  // batched, unbatched
               .reference = reference(conv_ref, 2, {.ph = 2, .pw = 0, .dh = 2, .dw = 1})},
        OpInfo{.name = "conv2d (depthwise 1x1, padding 1: more padding than the kernel reaches)",
               .op = "conv2d",
               .fn = op([](const auto& in) { return tg::conv2d(in[0], in[1], in[2], 1, 1, 1, 2); }),
               .cases = {{{2, 2, 3, 3}, {2, 1, 1, 1}, {2}}},
               .reference = reference(conv_ref, 2, {.ph = 1, .pw = 1, .groups = 2})},
        OpInfo{.name = "conv2d (depthwise, padding Same with an even kernel 2x4)",
               .op = "conv2d",
               .fn = op([](const auto& in) { return tg::conv2d(in[0], in[1], in[2], 1, tg::Padding::Same, 1, 2); }),
               .cases = {{{1, 2, 4, 5}, {2, 1, 2, 4}, {2}}},
               .reference = reference(conv_ref, 2,
                                      {.ph = same_before(2),
                                       .pw = same_before(4),
                                       .groups = 2,
                                       .extra_h = same_extra(2),
                                       .extra_w = same_extra(4)})},
        OpInfo{.name = "conv_transpose2d (depthwise, dilation 2, output_padding 1)",
               .op = "conv_transpose2d",
               .fn = op([](const auto& in) { return tg::conv_transpose2d(in[0], in[1], in[2], 1, 0, 1, 2, 2); }),
               .cases = {{{1, 2, 3, 3}, {2, 1, 2, 2}, {2}}},
               .reference = reference(conv_transpose_ref, 2, {.dh = 2, .dw = 2, .groups = 2, .oph = 1, .opw = 1})},
        OpInfo{.name = "conv2d_weight (depthwise, padding 1, gy smaller than the output)",
               .op = "conv2d_weight",
               .fn = op([](const auto& in) {
                   return tg::detail::conv2d_weight(in[0], in[1], Shape{2, 1, 3, 3}, 1, 1, 1, 2);
               }),
               .cases = {{{2, 2, 5, 5}, {2, 2, 3, 4}}},
               .reference =
                   [](const std::vector<Array>& in) {
                       return weight_ref(in[0], in[1], {2, 1, 3, 3}, {.ph = 1, .pw = 1, .groups = 2});
                   }},
        // At stride 1 im2col reads (col2im adds into) each plane padded once: dilation, and padding
        // beyond the kernel's reach (rows and columns of the padded plane that no tap reads inside x).
        OpInfo{.name = "conv2d (stride 1, padding {3, 1}, dilation {2, 1}, kernel 2x3)",
               .op = "conv2d",
               .fn = op([](const auto& in) {
                   return tg::conv2d(in[0], in[1], in[2], 1, {3, 1}, {2, 1});
               }),
               .cases = {{{2, 2, 4, 5}, {3, 2, 2, 3}, {3}}},
               .reference = reference(conv_ref, 2, {.ph = 3, .pw = 1, .dh = 2, .dw = 1})},
        // Groups of one input channel with many outputs each go through im2col + GEMM instead: from 16
        // outputs per group for conv2d itself, from 32 for its adjoint (conv_transpose2d) and weight
        // gradient, so 16 mixes the two and 32 takes GEMM throughout.
        OpInfo{.name = "conv2d (one input channel, 16 outputs, padding 1)",
               .op = "conv2d",
               .fn = op([](const auto& in) { return tg::conv2d(in[0], in[1], in[2], 1, 1); }),
               .cases = {{{2, 1, 4, 3}, {16, 1, 3, 3}, {16}}},
               .reference = reference(conv_ref, 2, {.ph = 1, .pw = 1})},
        OpInfo{.name = "conv2d (one input channel per group, 32 outputs each, groups 2, stride {1, 2}, padding 1)",
               .op = "conv2d",
               .fn = op([](const auto& in) {
                   return tg::conv2d(in[0], in[1], in[2], {1, 2}, 1, 1, 2);
               }),
               .cases = {{{2, 2, 3, 4}, {64, 1, 3, 3}, {64}}},
               .reference = reference(conv_ref, 2, {.sw = 2, .ph = 1, .pw = 1, .groups = 2})},
        OpInfo{.name = "conv_transpose2d (32 inputs, one output channel, stride 2, padding 1)",
               .op = "conv_transpose2d",
               .fn = op([](const auto& in) { return tg::conv_transpose2d(in[0], in[1], in[2], 2, 1); }),
               .cases = {{{1, 32, 2, 3}, {32, 1, 3, 3}, {1}}},
               .reference = reference(conv_transpose_ref, 2, {.sh = 2, .sw = 2, .ph = 1, .pw = 1})},
    };
}

const RegisterFamily registered{{.name = "convolution", .order = 42, .rows = convolution_rows}};

}  // namespace

}  // namespace optable
