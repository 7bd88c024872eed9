// Rows for the pooling ops (ops/pooling.hpp): max_pool2d, max_pool1d, avg_pool2d, avg_pool1d and
// adaptive_avg_pool2d. The references walk every window with plain loops over x seen as planes of
// H x W (a 1-d pool is H = 1), their output sizes from PyTorch's documented formula. Max pooling's
// inputs are drawn without near-ties (Domain::distinct), so each window's argmax, and with it the
// gradient, is unique; ties and NaNs are tested against hand-written results in pooling_test.cpp.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

using I = std::int64_t;

/// Elements at least 1e-3 apart (gradcheck's steps are 1e-6), so no argmax changes under them.
const Domain distinct{-2.0, 2.0, {}, 1e-3, true};

/// One spatial dim of a pool as the reference sees it.
struct Dim {
    I kernel = 1, stride = 1, padding = 0, dilation = 1;
};

/// torch.nn.MaxPool2d's documented output size: floor (or ceil) of (in + 2p - d(k-1) - 1) / s, + 1;
/// with ceil_mode, a last window starting past the input and its left padding is dropped.
I out_size(I in, const Dim& d, bool ceil_mode) {
    const double steps = static_cast<double>(in + 2 * d.padding - d.dilation * (d.kernel - 1) - 1) / double(d.stride);
    I out = static_cast<I>(ceil_mode ? std::ceil(steps) : std::floor(steps)) + 1;
    if (ceil_mode && (out - 1) * d.stride >= in + d.padding) --out;
    return out;
}

/// x's shape with its last two dims replaced by oh x ow.
Shape pooled_shape(const Array& x, I oh, I ow) {
    Shape s = ref::shape_of(x);
    s[s.size() - 2] = static_cast<std::size_t>(oh);
    s[s.size() - 1] = static_cast<std::size_t>(ow);
    return s;
}

/// Calls f(plane, oh, ow, out flat index) for every output position of a [..., H, W] x.
template <class F>
Array for_outputs(const Array& x, I oh_n, I ow_n, F f) {
    Array out = ref::empty(pooled_shape(x, oh_n, ow_n));
    const std::size_t planes = oh_n * ow_n == 0 ? 0 : out.size() / static_cast<std::size_t>(oh_n * ow_n);
    for (std::size_t p = 0; p < planes; ++p)
        for (I oh = 0; oh < oh_n; ++oh)
            for (I ow = 0; ow < ow_n; ++ow) out.data()[(p * oh_n + oh) * ow_n + ow] = f(p, oh, ow);
    return out;
}

Array max_pool_ref(const Array& x, const Dim& dh, const Dim& dw, bool ceil_mode) {
    const I h = static_cast<I>(x.shape()[x.dimension() - 2]), w = static_cast<I>(x.shape().back());
    return for_outputs(x, out_size(h, dh, ceil_mode), out_size(w, dw, ceil_mode), [&](std::size_t p, I oh, I ow) {
        double best = -std::numeric_limits<double>::infinity();
        for (I i = 0; i < dh.kernel; ++i) {
            for (I j = 0; j < dw.kernel; ++j) {
                const I r = oh * dh.stride - dh.padding + i * dh.dilation;
                const I c = ow * dw.stride - dw.padding + j * dw.dilation;
                if (r >= 0 && r < h && c >= 0 && c < w) best = std::max(best, x.data()[(p * h + r) * w + c]);
            }
        }
        return best;
    });
}

/// torch.nn.AvgPool2d: the sum over the window's elements of x, divided by divisor, else by the
/// window's size cut at in + padding (with count_include_pad) or its elements of x.
Array avg_pool_ref(const Array& x, const Dim& dh, const Dim& dw, bool ceil_mode, bool count_pad,
                   std::optional<I> divisor = std::nullopt) {
    const I h = static_cast<I>(x.shape()[x.dimension() - 2]), w = static_cast<I>(x.shape().back());
    return for_outputs(x, out_size(h, dh, ceil_mode), out_size(w, dw, ceil_mode), [&](std::size_t p, I oh, I ow) {
        double sum = 0;
        I inside = 0, padded = 0;
        for (I r = oh * dh.stride - dh.padding; r < oh * dh.stride - dh.padding + dh.kernel; ++r) {
            for (I c = ow * dw.stride - dw.padding; c < ow * dw.stride - dw.padding + dw.kernel; ++c) {
                if (r < h + dh.padding && c < w + dw.padding) ++padded;
                if (r < 0 || r >= h || c < 0 || c >= w) continue;
                sum += x.data()[(p * h + r) * w + c];
                ++inside;
            }
        }
        return sum / static_cast<double>(divisor ? *divisor : count_pad ? padded : inside);
    });
}

Array adaptive_ref(const Array& x, I oh_n, I ow_n) {
    const I h = static_cast<I>(x.shape()[x.dimension() - 2]), w = static_cast<I>(x.shape().back());
    const auto lo = [](I i, I in, I out) { return static_cast<I>(std::floor(double(i * in) / double(out))); };
    const auto hi = [](I i, I in, I out) { return static_cast<I>(std::ceil(double((i + 1) * in) / double(out))); };
    return for_outputs(x, oh_n, ow_n, [&](std::size_t p, I oh, I ow) {
        double sum = 0;
        I n = 0;
        for (I r = lo(oh, h, oh_n); r < hi(oh, h, oh_n); ++r) {
            for (I c = lo(ow, w, ow_n); c < hi(ow, w, ow_n); ++c, ++n) sum += x.data()[(p * h + r) * w + c];
        }
        return sum / static_cast<double>(n);
    });
}

/// A 1-d pool's reference: x [..., L] seen as [..., 1, L], pooled by `pool2d`, the 1 dropped.
template <class F>
Array as_1d(const Array& x, F pool2d) {
    Shape s = ref::shape_of(x);
    s.insert(s.end() - 1, std::size_t{1});
    const Array y = pool2d(ref::reshaped(x, s));
    Shape out = ref::shape_of(y);
    out.erase(out.end() - 2);
    return ref::reshaped(y, out);
}

ErrorCase error(std::string what, Shape shape, std::function<void(const tg::TensorD&)> call, Expect expect,
                std::vector<std::string> fragments) {
    return error_case(std::move(what), {std::move(shape)}, std::move(call), expect, std::move(fragments));
}

std::vector<OpInfo> max_pool_rows() {
    using tg::Size2;
    return {
        OpInfo{.name = "max_pool2d (kernel 2)",
               .op = "max_pool2d",
               .readme = {"`max_pool2d(x, kernel_size[, stride, padding, dilation, ceil_mode])`, `max_pool1d(...)`",
                          "max of each (dilated) window, NCHW / NCL, padding = −inf; stride defaults to the kernel",
                          "dx = scatter_add of g at each window's argmax (first maximum; a NaN wins)"},
               .fn = op([](const auto& in) { return tg::max_pool2d(in[0], 2); }),
               .cases = {{{1, 2, 4, 4}}, {{2, 3, 5}}, {{0, 2, 4, 4}}, {{1, 1, 2, 2}}},
               .domains = {distinct},
               .reference =
                   [](const std::vector<Array>& x) {
                       return max_pool_ref(x[0], {2, 2}, {2, 2}, false);
                   },
               .errors = {error("kernel_size 0", {1, 1, 4, 4}, [](const auto& x) { tg::max_pool2d(x, 0); },
                                Expect::Value, {"max_pool2d", "kernel_size", "[0, 0]"}),
                          error("negative stride", {1, 1, 4, 4},
                                [](const auto& x) {
                                    tg::max_pool2d(x, 2, Size2{1, -1});
                                },
                                Expect::Value, {"max_pool2d", "stride", "[1, -1]"}),
                          error("dilation 0", {1, 1, 4, 4}, [](const auto& x) { tg::max_pool2d(x, 2, 2, 0, 0); },
                                Expect::Value, {"max_pool2d", "dilation", "[0, 0]"}),
                          error("negative padding", {1, 1, 4, 4}, [](const auto& x) { tg::max_pool2d(x, 2, 2, -1); },
                                Expect::Value, {"max_pool2d", "padding", "[-1, -1]"}),
                          error("padding above kernel / 2", {1, 1, 4, 4},
                                [](const auto& x) {
                                    tg::max_pool2d(x, 3, 1, Size2{1, 2});
                                },
                                Expect::Value, {"max_pool2d", "padding [1, 2]", "kernel_size [3, 3]"}),
                          error("kernel larger than the padded input", {1, 1, 2, 5},
                                [](const auto& x) { tg::max_pool2d(x, 3); }, Expect::Shape,
                                {"max_pool2d", "kernel_size [3, 3]", "padded input [2, 5]", "[1, 1, 2, 5]"}),
                          error("dilated kernel larger than the input", {1, 1, 4, 4},
                                [](const auto& x) { tg::max_pool2d(x, 2, 1, 0, 4); }, Expect::Shape,
                                {"max_pool2d", "dilated: [5, 5]", "[1, 1, 4, 4]"}),
                          error("2-d x", {4, 4}, [](const auto& x) { tg::max_pool2d(x, 2); }, Expect::Shape,
                                {"max_pool2d", "[4, 4]", "expected 4 dims"}),
                          error("5-d x", {1, 1, 1, 4, 4}, [](const auto& x) { tg::max_pool2d(x, 2); }, Expect::Shape,
                                {"max_pool2d", "[1, 1, 1, 4, 4]"}),
                          error("no channels", {1, 0, 4, 4}, [](const auto& x) { tg::max_pool2d(x, 2); }, Expect::Shape,
                                {"max_pool2d", "[1, 0, 4, 4]", "batch"})}},
        OpInfo{.name = "max_pool2d (kernel 2, odd sizes: the last row and column in no window)",
               .op = "max_pool2d",
               .fn = op([](const auto& in) { return tg::max_pool2d(in[0], 2); }),
               .cases = {{{2, 3, 5, 7}}, {{1, 1, 3, 3}}},
               .domains = {distinct},
               .reference =
                   [](const std::vector<Array>& x) {
                       return max_pool_ref(x[0], {2, 2}, {2, 2}, false);
                   }},
        OpInfo{.name = "max_pool2d (kernel {3, 2}, stride {2, 1}, padding 1)",
               .op = "max_pool2d",
               .fn = op([](const auto& in) {
                   return tg::max_pool2d(in[0], Size2{3, 2}, Size2{2, 1}, 1);
               }),
               .cases = {{{1, 2, 5, 4}}, {{2, 4, 3}}},
               .domains = {distinct},
               .reference =
                   [](const std::vector<Array>& x) {
                       return max_pool_ref(x[0], {3, 2, 1}, {2, 1, 1}, false);
                   }},
        OpInfo{.name = "max_pool2d (kernel 3, stride 2, padding 1, dilation 2, ceil_mode)",
               .op = "max_pool2d",
               .fn = op([](const auto& in) { return tg::max_pool2d(in[0], 3, 2, 1, 2, true); }),
               .cases = {{{1, 1, 6, 7}}, {{2, 5, 6}}},
               .domains = {distinct},
               .reference =
                   [](const std::vector<Array>& x) {
                       return max_pool_ref(x[0], {3, 2, 1, 2}, {3, 2, 1, 2}, true);
                   }},
        OpInfo{.name = "max_pool2d (kernel 2, ceil_mode: a last, partial window)",
               .op = "max_pool2d",
               .fn = op([](const auto& in) { return tg::max_pool2d(in[0], 2, std::nullopt, 0, 1, true); }),
               .cases = {{{1, 2, 5, 5}}, {{1, 3, 3}}},
               .domains = {distinct},
               .reference =
                   [](const std::vector<Array>& x) {
                       return max_pool_ref(x[0], {2, 2}, {2, 2}, true);
                   }},
        OpInfo{
            .name = "max_pool1d (kernel 3, stride 2, padding 1, ceil_mode)",
            .op = "max_pool1d",
            .fn = op([](const auto& in) { return tg::max_pool1d(in[0], 3, 2, 1, 1, true); }),
            .cases = {{{2, 2, 7}}, {{3, 6}}, {{0, 1, 3}}},
            .domains = {distinct},
            .reference =
                [](const std::vector<Array>& x) {
                    return as_1d(x[0], [](const Array& v) { return max_pool_ref(v, {}, {3, 2, 1}, true); });
                },
            .errors = {error("3-d kernel on a 4-d x", {1, 1, 4, 4}, [](const auto& x) { tg::max_pool1d(x, 2); },
                             Expect::Shape, {"max_pool1d", "[1, 1, 4, 4]", "N, C, L"}),
                       error("padding above kernel / 2", {1, 1, 4}, [](const auto& x) { tg::max_pool1d(x, 2, 1, 2); },
                             Expect::Value, {"max_pool1d", "padding 2", "kernel_size 2"}),
                       error("kernel larger than the input", {2, 3}, [](const auto& x) { tg::max_pool1d(x, 4); },
                             Expect::Shape, {"max_pool1d", "kernel_size 4", "padded input 3", "[2, 3]"})}},
        OpInfo{.name = "max_pool1d (kernel 2, stride 1, dilation 2)",
               .op = "max_pool1d",
               .fn = op([](const auto& in) { return tg::max_pool1d(in[0], 2, 1, 0, 2); }),
               .cases = {{{1, 2, 6}}},
               .domains = {distinct},
               .reference =
                   [](const std::vector<Array>& x) {
                       return as_1d(x[0], [](const Array& v) { return max_pool_ref(v, {}, {2, 1, 0, 2}, false); });
                   }},
    };
}

std::vector<OpInfo> avg_pool_rows() {
    using tg::Size2;
    return {
        OpInfo{
            .name = "avg_pool2d (kernel 2)",
            .op = "avg_pool2d",
            .readme = {"`avg_pool2d(x, kernel_size[, stride, padding, ceil_mode, count_include_pad, "
                       "divisor_override])`, `avg_pool1d(...)`",
                       "mean of each window; divisor: the window's size with or without the padding, or given",
                       "dx = g / divisor spread over each window's elements (its adjoint's derivative: avg_pool)"},
            .fn = op([](const auto& in) { return tg::avg_pool2d(in[0], 2); }),
            .cases = {{{1, 2, 4, 4}}, {{2, 3, 5}}, {{0, 1, 2, 2}}},
            .reference =
                [](const std::vector<Array>& x) {
                    return avg_pool_ref(x[0], {2, 2}, {2, 2}, false, true);
                },
            .errors = {error("divisor_override 0", {1, 1, 4, 4},
                             [](const auto& x) { tg::avg_pool2d(x, 2, 2, 0, false, true, 0); }, Expect::Value,
                             {"avg_pool2d", "divisor_override", "[1, 1, 4, 4]"}),
                       error("stride 0", {1, 1, 4, 4}, [](const auto& x) { tg::avg_pool2d(x, 2, 0); }, Expect::Value,
                             {"avg_pool2d", "stride", "[0, 0]"}),
                       error("padding above kernel / 2", {1, 1, 4, 4},
                             [](const auto& x) { tg::avg_pool2d(x, 2, 2, 2); }, Expect::Value,
                             {"avg_pool2d", "padding [2, 2]", "kernel_size [2, 2]"}),
                       error("kernel larger than the padded input", {2, 3, 3},
                             [](const auto& x) {
                                 tg::avg_pool2d(x, Size2{2, 6}, 1, Size2{0, 1});
                             },
                             Expect::Shape, {"avg_pool2d", "kernel_size [2, 6]", "padded input [3, 5]", "[2, 3, 3]"}),
                       error("1-d x", {4}, [](const auto& x) { tg::avg_pool2d(x, 2); }, Expect::Shape,
                             {"avg_pool2d", "[4]"})}},
        OpInfo{.name = "avg_pool2d (kernel 3, stride 2, padding 1, ceil_mode, count_include_pad)",
               .op = "avg_pool2d",
               .fn = op([](const auto& in) { return tg::avg_pool2d(in[0], 3, 2, 1, true, true); }),
               .cases = {{{1, 1, 6, 6}}, {{2, 5, 4}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return avg_pool_ref(x[0], {3, 2, 1}, {3, 2, 1}, true, true);
                   }},
        OpInfo{.name = "avg_pool2d (kernel 3, stride 2, padding 1, ceil_mode, without the padding)",
               .op = "avg_pool2d",
               .fn = op([](const auto& in) { return tg::avg_pool2d(in[0], 3, 2, 1, true, false); }),
               .cases = {{{1, 1, 6, 6}}, {{2, 5, 4}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return avg_pool_ref(x[0], {3, 2, 1}, {3, 2, 1}, true, false);
                   }},
        OpInfo{.name = "avg_pool2d (kernel {2, 3}, stride 1, padding {1, 0}, divisor_override 5)",
               .op = "avg_pool2d",
               .fn = op([](const auto& in) {
                   return tg::avg_pool2d(in[0], Size2{2, 3}, 1, Size2{1, 0}, false, true, 5);
               }),
               .cases = {{{1, 2, 3, 4}}, {{1, 2, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return avg_pool_ref(x[0], {2, 1, 1}, {3, 1, 0}, false, true, I{5});
                   }},
        OpInfo{.name = "avg_pool1d (kernel 3, stride 2, padding 1, ceil_mode, without the padding)",
               .op = "avg_pool1d",
               .fn = op([](const auto& in) { return tg::avg_pool1d(in[0], 3, 2, 1, true, false); }),
               .cases = {{{2, 2, 6}}, {{3, 5}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return as_1d(x[0], [](const Array& v) { return avg_pool_ref(v, {}, {3, 2, 1}, true, false); });
                   },
               .errors = {error("kernel 0", {1, 1, 4}, [](const auto& x) { tg::avg_pool1d(x, 0); }, Expect::Value,
                                {"avg_pool1d", "kernel_size", "0"}),
                          error("1-d x", {4}, [](const auto& x) { tg::avg_pool1d(x, 2); }, Expect::Shape,
                                {"avg_pool1d", "[4]", "N, C, L"})}},
        OpInfo{.name = "avg_pool1d (kernel 2)",
               .op = "avg_pool1d",
               .fn = op([](const auto& in) { return tg::avg_pool1d(in[0], 2); }),
               .cases = {{{1, 3, 5}}, {{2, 2}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return as_1d(x[0], [](const Array& v) { return avg_pool_ref(v, {}, {2, 2}, false, true); });
                   }},
        OpInfo{
            .name = "adaptive_avg_pool2d (output {3, 2}: overlapping windows)",
            .op = "adaptive_avg_pool2d",
            .readme = {"`adaptive_avg_pool2d(x, output_size)`",
                       "mean of each window [⌊i·in/out⌋, ⌈(i+1)·in/out⌉) per spatial dim",
                       "dx = g / window size spread over each window"},
            .fn = op([](const auto& in) {
                return tg::adaptive_avg_pool2d(in[0], Size2{3, 2});
            }),
            .cases = {{{1, 2, 5, 7}}, {{3, 4, 4}}, {{1, 1, 2, 1}}, {{0, 2, 3, 3}}},
            .reference = [](const std::vector<Array>& x) { return adaptive_ref(x[0], 3, 2); },
            .errors = {error("output_size 0", {1, 1, 4, 4},
                             [](const auto& x) {
                                 tg::adaptive_avg_pool2d(x, Size2{0, 2});
                             },
                             Expect::Value, {"adaptive_avg_pool2d", "output_size [0, 2]", "[1, 1, 4, 4]"}),
                       error("negative output_size", {1, 4, 4}, [](const auto& x) { tg::adaptive_avg_pool2d(x, -1); },
                             Expect::Value, {"adaptive_avg_pool2d", "output_size [-1, -1]"}),
                       error("2-d x", {4, 4}, [](const auto& x) { tg::adaptive_avg_pool2d(x, 2); }, Expect::Shape,
                             {"adaptive_avg_pool2d", "[4, 4]"})}},
        OpInfo{.name = "adaptive_avg_pool2d (output 1: global average)",
               .op = "adaptive_avg_pool2d",
               .fn = op([](const auto& in) { return tg::adaptive_avg_pool2d(in[0], 1); }),
               .cases = {{{2, 3, 3, 2}}},
               .reference = [](const std::vector<Array>& x) { return adaptive_ref(x[0], 1, 1); }},
    };
}

std::vector<OpInfo> pooling_rows() {
    std::vector<OpInfo> rows = max_pool_rows();
    for (auto& row : avg_pool_rows()) rows.push_back(std::move(row));
    return rows;
}

const RegisterFamily registered{{.name = "pooling", .order = 43, .rows = pooling_rows}};

}  // namespace

}  // namespace optable
