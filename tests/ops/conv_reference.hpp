// The convolutions' defining sums written out with nested loops over 4-D float64 arrays: the
// references of the op table's rows (rows_convolution.cpp) and of conv_split_test.cpp. A
// correlation that reads x at i s - p + k d (0 outside), the transposed one scattering each input
// element through the kernel, and the weight gradient summing gy against the same x reads.
#pragma once

#include <cstdint>

#include "reference.hpp"

namespace optable::conv_loops {

using Array = ref::Array;
using Index = ref::Index;

/// A convolution's settings, per dim (h, w); `extra` is padding on the bottom/right only ('same'
/// with an odd total).
struct Conv {
    std::int64_t sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1, extra_h = 0, extra_w = 0;
    std::int64_t oph = 0, opw = 0;  // conv_transpose2d's output_padding
};

/// Element [a, b, c, d] of a 4-D array.
inline double& at(Array& x, std::size_t a, std::size_t b, std::size_t c, std::size_t d) {
    const auto& s = x.shape();
    return x.data()[((a * s[1] + b) * s[2] + c) * s[3] + d];
}
inline double at(const Array& x, std::size_t a, std::size_t b, std::size_t c, std::size_t d) {
    const auto& s = x.shape();
    return x.data()[((a * s[1] + b) * s[2] + c) * s[3] + d];
}

/// x read at input row / column `v` of size `n`: whether it lies inside.
inline bool inside(std::int64_t v, std::size_t n) {
    return v >= 0 && v < static_cast<std::int64_t>(n);
}

/// y[n, o, i, j] = b[o] + Σ w[o, c, p, q] x[n, g Cg + c, i sh - ph + p dh, j sw - pw + q dw].
inline Array conv_ref(const Array& x, const Array& w, const Array* b, const Conv& c) {
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
inline Array conv_transpose_ref(const Array& x, const Array& w, const Array* b, const Conv& c) {
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
inline Array weight_ref(const Array& x, const Array& gy, const Index& shape, const Conv& c) {
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

}  // namespace optable::conv_loops
