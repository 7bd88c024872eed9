// Rows for the convolutions (ops/convolution.hpp): conv2d, conv1d, conv_transpose2d and the
// internal weight gradient detail::conv2d_weight. The references are the defining sums written out
// with nested loops over 4-D arrays (conv1d and unbatched inputs viewed with unit dims added):
// a correlation that reads x at i s - p + k d (0 outside), the transposed one scattering each input
// element through the kernel, and the weight gradient summing gy against the same x reads.
#include <cstdint>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using Index = ref::Index;

/// A convolution's settings, per dim (h, w); `extra` is padding on the bottom/right only ('same'
/// with an odd total).
struct Conv {
    std::int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1, extra_h = 0, extra_w = 0;
    std::int64_t oph = 0, opw = 0;  // conv_transpose2d's output_padding
};

/// Element [a, b, c, d] of a 4-D array.
double& at(Array& x, std::size_t a, std::size_t b, std::size_t c, std::size_t d) {
    const auto& s = x.shape();
    return x.data()[((a * s[1] + b) * s[2] + c) * s[3] + d];
}
double at(const Array& x, std::size_t a, std::size_t b, std::size_t c, std::size_t d) {
    const auto& s = x.shape();
    return x.data()[((a * s[1] + b) * s[2] + c) * s[3] + d];
}

/// x read at input row / column `v` of size `n`: whether it lies inside.
bool inside(std::int64_t v, std::size_t n) {
    return v >= 0 && v < static_cast<std::int64_t>(n);
}

/// y[n, o, i, j] = b[o] + Σ w[o, c, p, q] x[n, g Cg + c, i sh - ph + p dh, j sw - pw + q dw].
Array conv_ref(const Array& x, const Array& w, const Array* b, const Conv& c) {
    const std::size_t n = x.shape()[0], h = x.shape()[2], wd = x.shape()[3];
    const std::size_t o = w.shape()[0], cg = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
    const std::size_t og = o / static_cast<std::size_t>(c.groups);
    const auto out = [](std::size_t in, std::int64_t pad, std::int64_t extra, std::int64_t d, std::size_t k,
                        std::int64_t s) {
        return static_cast<std::size_t>((std::int64_t(in) + 2 * pad + extra - d * (std::int64_t(k) - 1) - 1) / s + 1);
    };
    const std::size_t ho = out(h, c.ph, c.extra_h, c.dh, kh, c.sh), wo = out(wd, c.pw, c.extra_w, c.dw, kw, c.sw);
    Array y = ref::empty({n, o, ho, wo});
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t oc = 0; oc < o; ++oc)
            for (std::size_t i = 0; i < ho; ++i)
                for (std::size_t j = 0; j < wo; ++j) {
                    double sum = b ? b->data()[oc] : 0.0;
                    for (std::size_t ci = 0; ci < cg; ++ci)
                        for (std::size_t p = 0; p < kh; ++p)
                            for (std::size_t q = 0; q < kw; ++q) {
                                const std::int64_t hi = std::int64_t(i) * c.sh - c.ph + std::int64_t(p) * c.dh;
                                const std::int64_t wi = std::int64_t(j) * c.sw - c.pw + std::int64_t(q) * c.dw;
                                if (inside(hi, h) && inside(wi, wd))
                                    sum += at(w, oc, ci, p, q) * at(x, s, oc / og * cg + ci, hi, wi);
                            }
                    at(y, s, oc, i, j) = sum;
                }
    return y;
}

/// out[n, g Cog + co, i sh - ph + p dh, j sw - pw + q dw] += w[ci, co, p, q] x[n, ci, i, j].
Array conv_transpose_ref(const Array& x, const Array& w, const Array* b, const Conv& c) {
    const std::size_t n = x.shape()[0], cin = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
    const std::size_t cog = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
    const std::size_t cout = cog * static_cast<std::size_t>(c.groups), cig = cin / static_cast<std::size_t>(c.groups);
    const auto size = [](std::size_t in, std::int64_t s, std::int64_t pad, std::int64_t d, std::size_t k,
                         std::int64_t op) {
        return static_cast<std::size_t>((std::int64_t(in) - 1) * s - 2 * pad + d * (std::int64_t(k) - 1) + op + 1);
    };
    const std::size_t ho = size(h, c.sh, c.ph, c.dh, kh, c.oph), wo = size(wd, c.sw, c.pw, c.dw, kw, c.opw);
    Array y = ref::empty({n, cout, ho, wo});
    for (std::size_t k = 0; k < y.size(); ++k) y.data()[k] = b ? b->data()[(k / (ho * wo)) % cout] : 0.0;
    for (std::size_t s = 0; s < n; ++s)
        for (std::size_t ci = 0; ci < cin; ++ci)
            for (std::size_t i = 0; i < h; ++i)
                for (std::size_t j = 0; j < wd; ++j)
                    for (std::size_t co = 0; co < cog; ++co)
                        for (std::size_t p = 0; p < kh; ++p)
                            for (std::size_t q = 0; q < kw; ++q) {
                                const std::int64_t oi = std::int64_t(i) * c.sh - c.ph + std::int64_t(p) * c.dh;
                                const std::int64_t oj = std::int64_t(j) * c.sw - c.pw + std::int64_t(q) * c.dw;
                                if (inside(oi, ho) && inside(oj, wo))
                                    at(y, s, ci / cig * cog + co, oi, oj) += at(w, ci, co, p, q) * at(x, s, ci, i, j);
                            }
    return y;
}

/// dw[o, c, p, q] = Σ_{n, i, j} gy[n, o, i, j] x[n, g Cg + c, i sh - ph + p dh, j sw - pw + q dw].
Array weight_ref(const Array& x, const Array& gy, const Index& shape, const Conv& c) {
    const std::size_t n = x.shape()[0], h = x.shape()[2], wd = x.shape()[3];
    const std::size_t o = shape[0], cg = shape[1], kh = shape[2], kw = shape[3];
    const std::size_t og = o / static_cast<std::size_t>(c.groups);
    Array dw = ref::empty(shape);
    for (std::size_t oc = 0; oc < o; ++oc)
        for (std::size_t ci = 0; ci < cg; ++ci)
            for (std::size_t p = 0; p < kh; ++p)
                for (std::size_t q = 0; q < kw; ++q) {
                    double sum = 0;
                    for (std::size_t s = 0; s < n; ++s)
                        for (std::size_t i = 0; i < gy.shape()[2]; ++i)
                            for (std::size_t j = 0; j < gy.shape()[3]; ++j) {
                                const std::int64_t hi = std::int64_t(i) * c.sh - c.ph + std::int64_t(p) * c.dh;
                                const std::int64_t wi = std::int64_t(j) * c.sw - c.pw + std::int64_t(q) * c.dw;
                                if (inside(hi, h) && inside(wi, wd))
                                    sum += at(gy, s, oc, i, j) * at(x, s, oc / og * cg + ci, hi, wi);
                            }
                    at(dw, oc, ci, p, q) = sum;
                }
    return dw;
}

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
    };
}

const RegisterFamily registered{{.name = "convolution", .order = 42, .rows = convolution_rows}};

}  // namespace

}  // namespace optable
