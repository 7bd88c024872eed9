#include <tapegrad/ops/convolution.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <xsimd/xsimd.hpp>

#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/buffer_pool.hpp>
#include <tapegrad/autograd/factories.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/threads.hpp>
#include <tapegrad/ops/blas.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/matmul.hpp>
#include <tapegrad/ops/parallel.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>
#include <tapegrad/ops/simd.hpp>
#include <tapegrad/ops/tangent.hpp>

namespace tapegrad {

namespace {

using std::ptrdiff_t;
using std::size_t;

/// One convolution in 2-D terms, whichever op was called: the input side x [n, c, h, w], the weight
/// [o, c/groups, kh, kw] and the output side y [n, o, ho, wo]. conv2d maps x to y, conv_transpose2d
/// y to x, conv2d_weight (x, y) to the weight. The tensors may hold these elements under another
/// shape (conv1d's [n, c, w], an unbatched [c, h, w]): the kernels read only the counts. The output
/// sizes are explicit, so an asymmetric ('same') padding only needs its top/left part here.
struct Geometry {
    size_t n, c, h, w;
    size_t o, kh, kw;
    size_t ho, wo;
    size_t sh, sw, dh, dw, groups;
    ptrdiff_t ph, pw;    // zeros before the first row / column
    size_t channel_dim;  // where the channels are in either side's tensors: 0 unbatched, else 1

    size_t cg() const { return c / groups; }
    size_t og() const { return o / groups; }
    size_t k() const { return cg() * kh * kw; }  // rows of a group's im2col columns
    size_t plane() const { return h * w; }
    size_t out_plane() const { return ho * wo; }
    /// Whether a product runs by taps (groups of one input channel, see taps_forward) rather than
    /// im2col + GEMM, which is the faster from `gemm_from` output channels per group on.
    bool by_taps(size_t gemm_from) const { return cg() == 1 && og() < gemm_from; }
    /// A 1x1 kernel at stride 1 without padding over the whole input: the columns are x itself.
    bool direct() const { return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && ho == h && wo == w; }
};

/// The range [first, last) of output positions j whose input position j s + offset lies in [0, size).
std::pair<size_t, size_t> inside(ptrdiff_t offset, size_t stride, size_t size, size_t count) {
    const auto s = static_cast<ptrdiff_t>(stride);
    const ptrdiff_t first = offset >= 0 ? 0 : (-offset + s - 1) / s;
    const ptrdiff_t room = static_cast<ptrdiff_t>(size) - offset;  // positions j s < room are inside
    const ptrdiff_t last = room <= 0 ? 0 : (room + s - 1) / s;
    const auto clamp = [count](ptrdiff_t v) {
        return static_cast<size_t>(std::clamp<ptrdiff_t>(v, 0, ptrdiff_t(count)));
    };
    return {clamp(first), std::max(clamp(first), clamp(last))};
}

/// Calls f(t, i, hin, first, last, offset) for every kernel tap t = p kw + q and output row i: the
/// output row reads input row hin (-1 where that row is padding), its entries j in [first, last)
/// the input column offset + j sw and the others the padding.
template <class F>
void walk_taps(const Geometry& g, F f) {
    for (size_t p = 0; p < g.kh; ++p) {
        for (size_t q = 0; q < g.kw; ++q) {
            const ptrdiff_t offset = ptrdiff_t(q * g.dw) - g.pw;
            const auto [first, last] = inside(offset, g.sw, g.w, g.wo);
            for (size_t i = 0; i < g.ho; ++i) {
                const ptrdiff_t hin = ptrdiff_t(i * g.sh + p * g.dh) - g.ph;
                f(p * g.kw + q, i, hin < 0 || hin >= ptrdiff_t(g.h) ? ptrdiff_t(-1) : hin, first, last, offset);
            }
        }
    }
}

// At stride 1 (the usual case) each tap is one pass over a whole plane rather than one per row: the
// plane read is copied into a zeroed buffer with its padding around it, in rows `width` long (room
// for every tap's reads), and the plane computed kept in rows of the same width. Entry f = i width +
// j of the latter then reads entry f + p dh width + q dw of the former for every tap (p, q); the
// entries j >= wo of each row read past the row's end and are dropped.

/// Where a plane of rows x cols sits in a padded buffer: `top` rows and `left` columns of zeros
/// before it, rows `width` long, `rows` of them, and `slack` zeros after the last (the dropped
/// entries of the last row read that far).
struct Padded {
    size_t top, left, width, rows, slack;
    size_t size() const { return rows * width + slack; }
};

/// The buffer a stride-1 pass reads to compute a plane of out_rows x out_cols, its taps (p, q)
/// reading entry (i + p dh - top, j + q dw - left) of a plane of in_rows x in_cols.
Padded padded(const Geometry& g, size_t top, size_t left, size_t in_rows, size_t in_cols, size_t out_rows,
              size_t out_cols) {
    const size_t reach_h = (g.kh - 1) * g.dh, reach_w = (g.kw - 1) * g.dw;
    return {top, left, std::max(left + in_cols, out_cols + reach_w), std::max(top + in_rows, out_rows + reach_h),
            reach_w};
}

/// The plane `in` of rows x cols copied into `out` as `at` says, zeros around it (each element
/// written once).
template <class T>
void pad_plane(const T* in, size_t rows, size_t cols, const Padded& at, T* out) {
    T* end = out + at.size();
    T* next = std::fill_n(out, at.top * at.width + at.left, T(0));
    for (size_t r = 0; r < rows; ++r) {
        next = std::copy(in + r * cols, in + (r + 1) * cols, next);
        if (r + 1 < rows) next = std::fill_n(next, at.width - cols, T(0));
    }
    std::fill(next, end, T(0));
}

/// At stride 1, im2col's columns are read out of (col2im's added into) each channel's plane padded
/// as a stride-1 pass reads it: every output row of every tap then one contiguous run of wo entries,
/// with no bounds to check (at 14 wide, the bounds and the short fills took most of the time).
bool pads_planes(const Geometry& g) {
    return g.sh == 1 && g.sw == 1;
}
Padded im2col_padded(const Geometry& g) {
    return padded(g, size_t(g.ph), size_t(g.pw), g.h, g.w, g.ho, g.wo);
}

/// to[0, count) = from[0, count) (distinct buffers) in whole SIMD batches, the last one overlapping
/// the one before when count is not a multiple of the lanes: no scalar tail for short rows.
template <class T>
void copy_run(const T* from, size_t count, T* to) {
    using Batch = xsimd::batch<T>;
    constexpr size_t lanes = Batch::size;
    if (count < lanes) {
        for (size_t j = 0; j < count; ++j) to[j] = from[j];
        return;
    }
    for (size_t j = 0; j + lanes < count; j += lanes) Batch::load_unaligned(from + j).store_unaligned(to + j);
    Batch::load_unaligned(from + count - lanes).store_unaligned(to + count - lanes);
}

/// The scratch im2col and col2im need besides the columns: the padded plane at stride 1.
size_t pad_scratch(const Geometry& g) {
    return pads_planes(g) ? im2col_padded(g).size() : 0;
}

/// cols [k, ho wo] = the input patches of one group of one sample (x: its first channel); `pad`
/// has pad_scratch(g) elements. Other strides: each row's inside part copied, its outside zeroed.
template <class T>
void im2col(const Geometry& g, const T* x, T* cols, T* pad) {
    const size_t taps = g.kh * g.kw;
    if (pads_planes(g)) {
        const Padded at = im2col_padded(g);
        for (size_t c = 0; c < g.cg(); ++c) {
            pad_plane(x + c * g.plane(), g.h, g.w, at, pad);
            for (size_t t = 0; t < taps; ++t) {
                const T* in = pad + (t / g.kw) * g.dh * at.width + (t % g.kw) * g.dw;
                T* out = cols + (c * taps + t) * g.out_plane();
                for (size_t i = 0; i < g.ho; ++i) copy_run(in + i * at.width, g.wo, out + i * g.wo);
            }
        }
        return;
    }
    for (size_t c = 0; c < g.cg(); ++c) {
        const T* xc = x + c * g.plane();
        walk_taps(g, [&](size_t t, size_t i, ptrdiff_t hin, size_t first, size_t last, ptrdiff_t offset) {
            T* out = cols + ((c * taps + t) * g.ho + i) * g.wo;
            if (hin < 0) {
                std::fill(out, out + g.wo, T(0));
                return;
            }
            const T* in = xc + size_t(hin) * g.w;
            std::fill(out, out + first, T(0));
            for (size_t j = first; j < last; ++j) out[j] = in[offset + ptrdiff_t(j * g.sw)];
            std::fill(out + last, out + g.wo, T(0));
        });
    }
}

/// The adjoint of im2col: adds each column entry back onto the input element it was read from (at
/// stride 1 into the padded plane `pad`, whose inside is then added onto x).
template <class T>
void col2im(const Geometry& g, const T* cols, T* x, T* pad) {
    const size_t taps = g.kh * g.kw;
    if (pads_planes(g)) {
        const Padded at = im2col_padded(g);
        for (size_t c = 0; c < g.cg(); ++c) {
            std::fill(pad, pad + at.size(), T(0));
            for (size_t t = 0; t < taps; ++t) {
                T* in = pad + (t / g.kw) * g.dh * at.width + (t % g.kw) * g.dw;
                const T* col = cols + (c * taps + t) * g.out_plane();
                for (size_t i = 0; i < g.ho; ++i) {
                    const T* from = col + i * g.wo;
                    T* to = in + i * at.width;
                    for (size_t j = 0; j < g.wo; ++j) to[j] += from[j];
                }
            }
            T* xc = x + c * g.plane();
            for (size_t r = 0; r < g.h; ++r) {
                const T* from = pad + (at.top + r) * at.width + at.left;
                for (size_t j = 0; j < g.w; ++j) xc[r * g.w + j] += from[j];
            }
        }
        return;
    }
    for (size_t c = 0; c < g.cg(); ++c) {
        T* xc = x + c * g.plane();
        walk_taps(g, [&](size_t t, size_t i, ptrdiff_t hin, size_t first, size_t last, ptrdiff_t offset) {
            if (hin < 0) return;
            const T* col = cols + ((c * taps + t) * g.ho + i) * g.wo;
            T* in = xc + size_t(hin) * g.w;
            for (size_t j = first; j < last; ++j) in[offset + ptrdiff_t(j * g.sw)] += col[j];
        });
    }
}

// Groups of one input channel (depthwise convolutions, and any with as many groups as input
// channels, such as a first layer on one channel): im2col's columns would have kh kw rows, a GEMM
// of that depth runs far below the machine's peak, so these kernels loop over the taps directly,
// each tap one vectorised pass over an output plane (in L1 for the usual plane sizes). With many
// output channels per group the GEMM [og, kh kw] x [kh kw, ho wo] wins all the same (OpenBLAS's
// AVX2 kernels against these, built for the baseline x86-64's SSE2): measured at 3x3 over 28x28,
// batch 100 (1 -> og channels), the forward from og = 16 on (0.39 against 0.61 ms at 16), the
// adjoint and the weight gradient from og = 32 (0.89 / 1.05 against 1.16 / 1.31 ms at 32; even at 16).
constexpr size_t kForwardGemmFrom = 16, kAdjointGemmFrom = 32, kWeightGemmFrom = 32;

/// out += Σ over taps t of w[t] times the input plane x read along the tap: one output plane.
template <class T>
void taps_forward(const Geometry& g, const T* x, const T* w, T* out) {
    walk_taps(g, [&](size_t t, size_t i, ptrdiff_t hin, size_t first, size_t last, ptrdiff_t offset) {
        if (hin < 0) return;
        const T wt = w[t];
        const T* in = x + size_t(hin) * g.w;
        T* row = out + i * g.wo;
        if (g.sw == 1) {
            const T* run = in + (offset + ptrdiff_t(first));
            for (size_t j = 0; j < last - first; ++j) row[first + j] += wt * run[j];
        } else {
            for (size_t j = first; j < last; ++j) row[j] += wt * in[offset + ptrdiff_t(j * g.sw)];
        }
    });
}

/// taps_forward's adjoint in x: adds w[t] times the output plane y onto the input plane x along
/// every tap.
template <class T>
void taps_adjoint(const Geometry& g, const T* y, const T* w, T* x) {
    walk_taps(g, [&](size_t t, size_t i, ptrdiff_t hin, size_t first, size_t last, ptrdiff_t offset) {
        if (hin < 0) return;
        const T wt = w[t];
        T* in = x + size_t(hin) * g.w;
        const T* row = y + i * g.wo;
        if (g.sw == 1) {
            T* run = in + (offset + ptrdiff_t(first));
            for (size_t j = 0; j < last - first; ++j) run[j] += wt * row[first + j];
        } else {
            for (size_t j = first; j < last; ++j) in[offset + ptrdiff_t(j * g.sw)] += wt * row[j];
        }
    });
}

/// taps_forward's adjoint in w, kept as rows: acc[t wo + j] += Σ over output rows of y's entry j
/// times the input entry tap t reads there. Summing acc's row t gives the weight gradient of tap
/// t; keeping the rows makes the inner loop elementwise (vectorised) rather than a reduction.
template <class T>
void taps_weight(const Geometry& g, const T* x, const T* y, T* acc) {
    walk_taps(g, [&](size_t t, size_t i, ptrdiff_t hin, size_t first, size_t last, ptrdiff_t offset) {
        if (hin < 0) return;
        const T* in = x + size_t(hin) * g.w;
        const T* row = y + i * g.wo;
        T* sum = acc + t * g.wo;
        if (g.sw == 1) {
            const T* run = in + (offset + ptrdiff_t(first));
            for (size_t j = 0; j < last - first; ++j) sum[first + j] += row[first + j] * run[j];
        } else {
            for (size_t j = first; j < last; ++j) sum[j] += row[j] * in[offset + ptrdiff_t(j * g.sw)];
        }
    });
}

/// out[f] = Σ over taps t of w[t] src[f + p dh width + q dw] for f < count, added to out when
/// `add`; `flip` reads the kernel rotated by 180 degrees (w[kh kw - 1 - t]). Up to 16 taps at a
/// time are summed in registers before out is stored, rather than one pass over out per tap.
template <class T>
void gather_taps(const Geometry& g, const T* src, size_t width, const T* w, bool flip, bool add, T* out, size_t count) {
    using Batch = xsimd::batch<T>;
    constexpr size_t lanes = Batch::size, chunk = 16;
    const size_t taps = g.kh * g.kw;
    for (size_t t0 = 0; t0 < taps; t0 += chunk) {
        const size_t n = std::min(chunk, taps - t0);
        const bool adding = add || t0 > 0;
        T wt[chunk];
        const T* from[chunk];
        for (size_t t = 0; t < n; ++t) {
            const size_t tap = t0 + t;
            wt[t] = w[flip ? taps - 1 - tap : tap];
            from[t] = src + (tap / g.kw) * g.dh * width + (tap % g.kw) * g.dw;
        }
        size_t f = 0;
        for (; f + lanes <= count; f += lanes) {
            Batch acc = adding ? Batch::load_unaligned(out + f) : Batch(T(0));
            for (size_t t = 0; t < n; ++t) acc = xsimd::fma(Batch(wt[t]), Batch::load_unaligned(from[t] + f), acc);
            acc.store_unaligned(out + f);
        }
        for (; f < count; ++f) {
            T acc = adding ? out[f] : T(0);
            for (size_t t = 0; t < n; ++t) acc += wt[t] * from[t][f];
            out[f] = acc;
        }
    }
}

/// sums[t] += Σ_{f < count} grad[f] src[f + p dh width + q dw] for every tap t = p kw + q: up to 16
/// taps at a time, each reading grad from the same registers, in float lanes added into double
/// every 256 entries (float32 keeps near float64 accuracy).
template <class T>
void dot_taps(const Geometry& g, const T* grad, const T* src, size_t width, size_t count, double* sums) {
    using Batch = xsimd::batch<T>;
    constexpr size_t lanes = Batch::size, chunk = 16, block = 256;
    const size_t taps = g.kh * g.kw;
    for (size_t t0 = 0; t0 < taps; t0 += chunk) {
        const size_t n = std::min(chunk, taps - t0);
        const T* from[chunk];
        for (size_t t = 0; t < n; ++t) {
            const size_t tap = t0 + t;
            from[t] = src + (tap / g.kw) * g.dh * width + (tap % g.kw) * g.dw;
        }
        size_t f = 0;
        while (f + lanes <= count) {
            Batch acc[chunk];
            for (size_t t = 0; t < n; ++t) acc[t] = Batch(T(0));
            const size_t end = f + std::min(block, (count - f) / lanes * lanes);
            for (; f < end; f += lanes) {
                const Batch gv = Batch::load_unaligned(grad + f);
                for (size_t t = 0; t < n; ++t) acc[t] = xsimd::fma(gv, Batch::load_unaligned(from[t] + f), acc[t]);
            }
            for (size_t t = 0; t < n; ++t) sums[t0 + t] += static_cast<double>(xsimd::hadd(acc[t]));
        }
        for (; f < count; ++f) {
            for (size_t t = 0; t < n; ++t) sums[t0 + t] += static_cast<double>(grad[f] * from[t][f]);
        }
    }
}

/// The plane `out` = the first `cols` entries of each of `rows` rows `width` long, plus `offset`.
template <class T>
void crop_rows(const T* in, size_t rows, size_t cols, size_t width, T offset, T* out) {
    for (size_t r = 0; r < rows; ++r) {
        for (size_t j = 0; j < cols; ++j) out[r * cols + j] = in[r * width + j] + offset;
    }
}

/// Each channel's plane of out [n, channels, plane] set to the bias, or 0 without one.
template <class T>
void fill_bias(T* out, const Tensor<T>& bias, size_t n, size_t channels, size_t plane) {
    for (size_t s = 0; s < n; ++s) {
        for (size_t ch = 0; ch < channels; ++ch) {
            T* at = out + (s * channels + ch) * plane;
            std::fill(at, at + plane, bias.defined() ? bias.value().data()[ch] : T(0));
        }
    }
}

/// The columns of a group of a sample: x itself for a direct convolution, else im2col into cols
/// (pad_scratch(g) elements of scratch after them).
template <class T>
const T* columns(const Geometry& g, const T* x, T* cols) {
    if (g.direct()) return x;
    im2col(g, x, cols, cols + g.k() * g.out_plane());
    return cols;
}

/// How many threads share an op's `items` independent pieces (samples, channels): all of
/// tapegrad's threads when the op is large enough to pay for starting them, else this one.
size_t workers_for(const Geometry& g, size_t items) {
    constexpr double kSplitFlops = 4e6;  // below this, handing work to a thread costs more than it saves
    const double flops = 2.0 * double(g.n * g.o * g.k() * g.out_plane());
    return flops < kSplitFlops ? 1 : std::min(get_num_threads(), items);
}

/// One GEMM of an op's items: on the calling thread when the items run on several threads (each
/// then one core's product), else at the thread count blas_gemm picks for its size.
template <class T>
void gemm(size_t workers, bool ta, bool tb, const detail::GemmDims& d, const T* a, const T* b, T* c, T beta) {
    if (workers > 1) {
        detail::blas_gemm_here(ta, tb, d, a, b, c, beta);
    } else {
        detail::blas_gemm(ta, tb, d, a, b, c, beta);
    }
}

/// Scratch of `per_worker` elements for each of `workers` threads, taken on this thread (buffer
/// pools are per thread: it goes back to this one's, where the next call finds it).
template <class T>
detail::Scratch<T> worker_scratch(const char* op, size_t workers, size_t per_worker) {
    return detail::Scratch<T>(detail::take_buffer<T>(op, Shape{workers, per_worker}));
}

/// Runs the op's items: OpenBLAS set to one thread first when they are shared across threads.
template <class F>
void run_items(size_t workers, size_t items, F f) {
    if (workers > 1) detail::use_one_blas_thread();
    detail::share_items(workers, items, f);
}

template <class T>
xt::xarray<T> conv_value(const Geometry& g, const T* x, const T* w, const Tensor<T>& bias, const Shape& shape) {
    xt::xarray<T> y = detail::take_buffer<T>("conv2d", shape);
    const size_t k = g.k(), og = g.og(), plane = g.out_plane();
    const bool taps = g.by_taps(kForwardGemmFrom);
    const bool by_planes = taps && g.sh * g.sw == 1 && g.n * plane > 0;  // writes y once, bias included
    const bool accumulate = bias.defined() || g.n * plane == 0 || taps;
    if (accumulate && !by_planes) fill_bias(y.data(), bias, g.n, g.o, plane);
    if (g.n * plane == 0) return y;
    if (by_planes) {  // item: one input plane (sample s, channel ic) and its og outputs
        const Padded at = padded(g, size_t(g.ph), size_t(g.pw), g.h, g.w, g.ho, g.wo);
        const size_t workers = workers_for(g, g.n * g.c), per_worker = at.size() + g.ho * at.width;
        detail::Scratch<T> scratch = worker_scratch<T>("conv2d", workers, per_worker);
        run_items(workers, g.n * g.c, [&](size_t worker, size_t item) {
            T* src = (*scratch).data() + worker * per_worker;
            T* out = src + at.size();
            pad_plane(x + item * g.plane(), g.h, g.w, at, src);
            const size_t s = item / g.c, ic = item % g.c;
            for (size_t oc = ic * og; oc < (ic + 1) * og; ++oc) {
                gather_taps(g, src, at.width, w + oc * k, false, false, out, g.ho * at.width);
                crop_rows(out, g.ho, g.wo, at.width, bias.defined() ? bias.value().data()[oc] : T(0),
                          y.data() + (s * g.o + oc) * plane);
            }
        });
        return y;
    }
    if (taps) {  // item: one output plane (sample s, output channel oc, reading input channel oc / og)
        const size_t workers = workers_for(g, g.n * g.o);
        run_items(workers, g.n * g.o, [&](size_t, size_t item) {
            const size_t s = item / g.o, oc = item % g.o;
            taps_forward(g, x + (s * g.c + oc / og) * g.plane(), w + oc * k, y.data() + item * plane);
        });
        return y;
    }
    const size_t workers = workers_for(g, g.n);
    const size_t per_worker = g.direct() ? 0 : k * plane + pad_scratch(g);
    detail::Scratch<T> cols = worker_scratch<T>("conv2d", workers, per_worker);
    run_items(workers, g.n, [&](size_t worker, size_t s) {
        for (size_t gi = 0; gi < g.groups; ++gi) {
            const T* xs = columns(g, x + (s * g.c + gi * g.cg()) * g.plane(), (*cols).data() + worker * per_worker);
            gemm(workers, false, false, detail::GemmDims{og, plane, k, k, plane}, w + gi * og * k, xs,
                 y.data() + (s * g.o + gi * og) * plane, accumulate ? T(1) : T(0));
        }
    });
    return y;
}

template <class T>
xt::xarray<T> transpose_value(const Geometry& g, const T* y, const T* w, const Tensor<T>& bias, const Shape& shape) {
    xt::xarray<T> x = detail::take_buffer<T>("conv_transpose2d", shape);
    const size_t k = g.k(), og = g.og(), plane = g.out_plane();
    // col2im and the one-channel kernels add into x, and so does a direct product when there is a bias.
    // At stride 1 the adjoint is a correlation with the rotated kernel over y padded by the kernel's
    // reach less the padding (when that is not negative): the same stride-1 pass, writing x once.
    const size_t reach_h = (g.kh - 1) * g.dh, reach_w = (g.kw - 1) * g.dw;
    const bool taps = g.by_taps(kAdjointGemmFrom);
    const bool by_planes =
        taps && g.sh * g.sw == 1 && size_t(g.ph) <= reach_h && size_t(g.pw) <= reach_w && g.n * plane > 0;
    const bool accumulate = bias.defined() || !g.direct() || g.n * plane == 0 || taps;
    if (accumulate && !by_planes) fill_bias(x.data(), bias, g.n, g.c, g.plane());
    if (g.n * plane == 0) return x;
    if (by_planes) {  // item: one input plane (sample s, channel ic), from its group's og outputs
        const Padded at = padded(g, reach_h - size_t(g.ph), reach_w - size_t(g.pw), g.ho, g.wo, g.h, g.w);
        const size_t workers = workers_for(g, g.n * g.c), per_worker = at.size() + g.h * at.width;
        detail::Scratch<T> scratch = worker_scratch<T>("conv_transpose2d", workers, per_worker);
        run_items(workers, g.n * g.c, [&](size_t worker, size_t item) {
            T* src = (*scratch).data() + worker * per_worker;
            T* out = src + at.size();
            const size_t s = item / g.c, ic = item % g.c;
            for (size_t oc = ic * og; oc < (ic + 1) * og; ++oc) {
                pad_plane(y + (s * g.o + oc) * plane, g.ho, g.wo, at, src);
                gather_taps(g, src, at.width, w + oc * k, true, oc > ic * og, out, g.h * at.width);
            }
            crop_rows(out, g.h, g.w, at.width, bias.defined() ? bias.value().data()[ic] : T(0),
                      x.data() + item * g.plane());
        });
        return x;
    }
    if (taps) {  // item: one input plane (sample s, channel ic = group ic), from its group's og outputs
        const size_t workers = workers_for(g, g.n * g.c);
        run_items(workers, g.n * g.c, [&](size_t, size_t item) {
            const size_t s = item / g.c, ic = item % g.c;
            for (size_t oc = ic * og; oc < (ic + 1) * og; ++oc) {
                taps_adjoint(g, y + (s * g.o + oc) * plane, w + oc * k, x.data() + item * g.plane());
            }
        });
        return x;
    }
    const size_t workers = workers_for(g, g.n);
    const size_t per_worker = g.direct() ? 0 : k * plane + pad_scratch(g);
    detail::Scratch<T> cols = worker_scratch<T>("conv_transpose2d", workers, per_worker);
    run_items(workers, g.n, [&](size_t worker, size_t s) {
        for (size_t gi = 0; gi < g.groups; ++gi) {
            T* xs = x.data() + (s * g.c + gi * g.cg()) * g.plane();
            T* out = g.direct() ? xs : (*cols).data() + worker * per_worker;
            gemm(workers, true, false, detail::GemmDims{k, plane, og, k, plane}, w + gi * og * k,
                 y + (s * g.o + gi * og) * plane, out, g.direct() && accumulate ? T(1) : T(0));
            if (!g.direct()) col2im(g, out, xs, out + k * plane);
        }
    });
    return x;
}

template <class T>
xt::xarray<T> weight_value(const Geometry& g, const T* x, const T* y, const Shape& shape) {
    xt::xarray<T> dw = detail::take_buffer<T>("conv2d_weight", shape);
    const size_t k = g.k(), og = g.og(), plane = g.out_plane();
    if (g.n * plane == 0) {
        dw.fill(T(0));
        return dw;
    }
    // At stride 1 the dropped entries of y's rows are zeros and add nothing, unless the x entry they
    // meet is infinite or NaN (0 x inf): then the row kernel below, which reads only what it must.
    const auto finite = [](const T* v, size_t count) {
        return std::isfinite(simd::fold_sum(v, count, [](auto e) { return e - e; }));
    };
    const bool taps = g.by_taps(kWeightGemmFrom);
    if (taps && g.sh * g.sw == 1 && finite(x, g.n * g.c * g.plane())) {
        // Item: a block of one group's output channels (up to 4 blocks a group, so that a layer of
        // few groups still splits), their taps summed over the batch in double; each x plane is
        // padded once per block.
        const Padded at = padded(g, size_t(g.ph), size_t(g.pw), g.h, g.w, g.ho, g.wo);
        const Padded rows{0, 0, at.width, g.ho, 0};
        const size_t blocks = std::min<size_t>(og, 4), block = (og + blocks - 1) / blocks;
        const size_t workers = workers_for(g, g.groups * blocks), per_worker = at.size() + rows.size();
        detail::Scratch<T> scratch = worker_scratch<T>("conv2d_weight", workers, per_worker);
        run_items(workers, g.groups * blocks, [&](size_t worker, size_t item) {
            T* src = (*scratch).data() + worker * per_worker;
            T* grad = src + at.size();
            const size_t ic = item / blocks, first = ic * og + (item % blocks) * block;
            const size_t last = std::min(first + block, (ic + 1) * og);
            std::vector<double> sums((last - first) * k, 0.0);
            for (size_t s = 0; s < g.n; ++s) {
                pad_plane(x + (s * g.c + ic) * g.plane(), g.h, g.w, at, src);
                for (size_t oc = first; oc < last; ++oc) {
                    pad_plane(y + (s * g.o + oc) * plane, g.ho, g.wo, rows, grad);
                    dot_taps(g, grad, src, at.width, rows.size(), sums.data() + (oc - first) * k);
                }
            }
            for (size_t e = 0; e < sums.size(); ++e) dw.data()[first * k + e] = T(sums[e]);
        });
        return dw;
    }
    if (taps) {  // item: one output channel's taps, summed over the batch in the worker's rows
        const size_t workers = workers_for(g, g.o);
        detail::Scratch<T> rows = worker_scratch<T>("conv2d_weight", workers, k * g.wo);
        run_items(workers, g.o, [&](size_t worker, size_t oc) {
            T* acc = (*rows).data() + worker * k * g.wo;
            std::fill(acc, acc + k * g.wo, T(0));
            for (size_t s = 0; s < g.n; ++s) {
                taps_weight(g, x + (s * g.c + oc / og) * g.plane(), y + (s * g.o + oc) * plane, acc);
            }
            for (size_t t = 0; t < k; ++t)
                dw.data()[oc * k + t] = std::accumulate(acc + t * g.wo, acc + (t + 1) * g.wo, T(0));
        });
        return dw;
    }
    // Item: a run of consecutive samples summed into its own copy of the gradient (the first run's
    // is dw), the copies then added in order: the result does not depend on which thread ran what.
    // Several runs per thread let a thread the machine holds back take fewer.
    const size_t workers = workers_for(g, g.n);
    const size_t runs = workers == 1 ? 1 : std::min(g.n, 4 * workers);
    const size_t per_worker = g.direct() ? 0 : k * plane + pad_scratch(g);
    detail::Scratch<T> cols = worker_scratch<T>("conv2d_weight", workers, per_worker);
    detail::Scratch<T> sums = worker_scratch<T>("conv2d_weight", runs - 1, dw.size());
    run_items(workers, runs, [&](size_t worker, size_t r) {
        T* into = r == 0 ? dw.data() : (*sums).data() + (r - 1) * dw.size();
        const size_t first = r * g.n / runs, last = (r + 1) * g.n / runs;
        for (size_t s = first; s < last; ++s) {
            for (size_t gi = 0; gi < g.groups; ++gi) {
                const T* xs = columns(g, x + (s * g.c + gi * g.cg()) * g.plane(), (*cols).data() + worker * per_worker);
                gemm(workers, false, true, detail::GemmDims{og, k, plane, plane, plane},
                     y + (s * g.o + gi * og) * plane, xs, into + gi * og * k, s == first ? T(0) : T(1));
            }
        }
    });
    for (size_t r = 1; r < runs; ++r) {
        const T* from = (*sums).data() + (r - 1) * dw.size();
        for (size_t e = 0; e < dw.size(); ++e) dw.data()[e] += from[e];
    }
    return dw;
}

/// The bias gradient: grad summed over every dim but the channels. The spatial dims go first, each
/// the last dim's product with a vector of ones (OpenBLAS's vectorised kernels, and no copy: `sum`
/// over them adds one element at a time, 40% of a depthwise convolution's step), then the batch by
/// `sum`. Both are differentiable ops, so the derivative is theirs: G spread over every plane.
template <class T>
Tensor<T> bias_grad(const Tensor<T>& grad, const Geometry& g) {
    Tensor<T> sums = grad;
    while (sums.ndim() > g.channel_dim + 1) sums = matmul(sums, ones<T>(Shape{sums.shape().back()}));
    return g.channel_dim == 1 ? tapegrad::sum(sums, Dims{0}) : sums;
}

template <class T>
Tensor<T> conv_forward(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, const Geometry& g,
                       const Shape& shape);
template <class T>
Tensor<T> transpose_forward(const Tensor<T>& y, const Tensor<T>& w, const Tensor<T>& b, const Geometry& g,
                            const Shape& shape);
template <class T>
Tensor<T> weight_forward(const Tensor<T>& x, const Tensor<T>& y, const Geometry& g, const Shape& shape);

/// The tangent rule of a node bilinear in its inputs (a, w), `op(a, w, shape)` without the bias, plus
/// a bias per output channel when it has a third input: d op = op(da, w) + op(a, dw) + db spread
/// over every plane.
template <class T, class F>
auto bilinear_tangent(F op, const Geometry& g) {
    return [op, channel_dim = g.channel_dim](const Forward<T>& ctx) -> Tensor<T> {
        const Shape& shape = ctx.output().shape();
        Tensor<T> t = detail::add_tangents(ctx.has(0) ? op(ctx.tangent(0), ctx.input(1), shape) : Tensor<T>(),
                                           ctx.has(1) ? op(ctx.input(0), ctx.tangent(1), shape) : Tensor<T>());
        if (ctx.count() < 3 || !ctx.has(2)) return t;
        Shape per_channel(shape.size() - channel_dim, 1);
        per_channel[0] = shape[channel_dim];
        return detail::add_tangents(t, broadcast_to(reshape(ctx.tangent(2), per_channel), shape));
    };
}

/// The nodes of conv2d and conv_transpose2d: inputs (a, w) or (a, w, bias).
template <class T, class F, class J>
Tensor<T> record_conv(const char* op, const Tensor<T>& a, const Tensor<T>& w, const Tensor<T>& b, xt::xarray<T> value,
                      F rule, const J& jvp) {
    if (b.defined()) return record<T>(op, {a, w, b}, std::move(value), std::move(rule), jvp);
    return record<T>(op, {a, w}, std::move(value), std::move(rule), jvp);
}

/// x -> y (`shape`: y's). dx = transpose_forward(grad, w), dw = weight_forward(x, grad), db = Σ grad.
template <class T>
Tensor<T> conv_forward(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, const Geometry& g,
                       const Shape& shape) {
    const bool has_bias = b.defined();
    auto value = conv_value(g, x.value().data(), w.value().data(), b, shape);
    return record_conv<T>(
        "conv2d", x, w, b, std::move(value),
        [g, has_bias](const Backward<T>& ctx) -> Grads<T> {
            const auto& grad = ctx.grad();
            Grads<T> grads(has_bias ? 3 : 2);
            if (ctx.needs(0)) grads[0] = transpose_forward(grad, ctx.input(1), Tensor<T>(), g, ctx.input(0).shape());
            if (ctx.needs(1)) grads[1] = weight_forward(ctx.input(0), grad, g, ctx.input(1).shape());
            if (has_bias && ctx.needs(2)) grads[2] = bias_grad(grad, g);
            return grads;
        },
        bilinear_tangent<T>([g](const Tensor<T>& lhs, const Tensor<T>& rhs,
                                const Shape& s) { return conv_forward(lhs, rhs, Tensor<T>(), g, s); },
                            g));
}

/// y -> x (`shape`: x's), conv_forward's adjoint in x. dy = conv_forward(grad, w), dw = weight_forward(grad, y),
/// db = Σ grad.
template <class T>
Tensor<T> transpose_forward(const Tensor<T>& y, const Tensor<T>& w, const Tensor<T>& b, const Geometry& g,
                            const Shape& shape) {
    const bool has_bias = b.defined();
    auto value = transpose_value(g, y.value().data(), w.value().data(), b, shape);
    return record_conv<T>(
        "conv_transpose2d", y, w, b, std::move(value),
        [g, has_bias](const Backward<T>& ctx) -> Grads<T> {
            const auto& grad = ctx.grad();
            Grads<T> grads(has_bias ? 3 : 2);
            if (ctx.needs(0)) grads[0] = conv_forward(grad, ctx.input(1), Tensor<T>(), g, ctx.input(0).shape());
            if (ctx.needs(1)) grads[1] = weight_forward(grad, ctx.input(0), g, ctx.input(1).shape());
            if (has_bias && ctx.needs(2)) grads[2] = bias_grad(grad, g);
            return grads;
        },
        bilinear_tangent<T>([g](const Tensor<T>& lhs, const Tensor<T>& rhs,
                                const Shape& s) { return transpose_forward(lhs, rhs, Tensor<T>(), g, s); },
                            g));
}

/// (x, y) -> the weight (`shape`). For an incoming G: dx = transpose_forward(y, G), dy = conv_forward(x, G).
template <class T>
Tensor<T> weight_forward(const Tensor<T>& x, const Tensor<T>& y, const Geometry& g, const Shape& shape) {
    auto value = weight_value(g, x.value().data(), y.value().data(), shape);
    return record<T>(
        "conv2d_weight", {x, y}, std::move(value),
        [g](const Backward<T>& ctx) -> Grads<T> {
            const auto& grad = ctx.grad();
            Grads<T> grads(2);
            if (ctx.needs(0)) grads[0] = transpose_forward(ctx.input(1), grad, Tensor<T>(), g, ctx.input(0).shape());
            if (ctx.needs(1)) grads[1] = conv_forward(ctx.input(0), grad, Tensor<T>(), g, ctx.input(1).shape());
            return grads;
        },
        bilinear_tangent<T>(
            [g](const Tensor<T>& lhs, const Tensor<T>& rhs, const Shape& s) { return weight_forward(lhs, rhs, g, s); },
            g));
}

/// One call's arguments in 2-D terms (conv1d's with a unit height), checked by plan().
template <class T>
struct Call {
    const char* op;
    size_t spatial;  // 1 (conv1d) or 2
    bool transposed;
    const Tensor<T>& x;
    const Tensor<T>& weight;
    const Tensor<T>& bias;
    Size2 stride, dilation, output_padding;
    ConvPadding2d padding;
    std::int64_t groups;

    std::string str(Size2 v) const { return spatial == 1 ? fmt::format("{}", v.w) : fmt::format("({}, {})", v.h, v.w); }
    std::string shapes() const {
        return fmt::format("x has shape {}, weight has shape {}", shape_str(x.shape()), shape_str(weight.shape()));
    }
    const char* dim_name(size_t d) const { return spatial == 1 ? "L" : d == 0 ? "H" : "W"; }
    size_t batched() const { return x.ndim() == spatial + 2 ? 1 : 0; }
    /// Spatial size d (0: height, 1: width) of a tensor whose last `spatial` dims are spatial.
    size_t size_of(const Shape& s, size_t d) const { return spatial == 1 && d == 0 ? 1 : s[s.size() - 2 + d]; }
};

/// Ranks and sizes of x and weight.
template <class T>
void check_tensors(const Call<T>& a) {
    check_defined(a.op, "x", a.x);
    check_defined(a.op, "weight", a.weight);
    const char* sp = a.spatial == 1 ? "L" : "H, W";
    if (a.x.ndim() != a.spatial + 1 && a.x.ndim() != a.spatial + 2) {
        fail<ShapeError>("{}: x has shape {}; expected {}-D (unbatched [C, {}]) or {}-D ([N, C, {}])", a.op,
                         shape_str(a.x.shape()), a.spatial + 1, sp, a.spatial + 2, sp);
    }
    if (a.weight.ndim() != a.spatial + 2) {
        fail<ShapeError>("{}: weight has shape {}; expected {}-D ([{}, {} / groups, {}])", a.op,
                         shape_str(a.weight.shape()), a.spatial + 2, a.transposed ? "in_channels" : "out_channels",
                         a.transposed ? "out_channels" : "in_channels", a.spatial == 1 ? "kL" : "kH, kW");
    }
    const Shape& sx = a.x.shape();
    if (std::find(sx.begin() + ptrdiff_t(a.batched()), sx.end(), 0) != sx.end()) {
        fail<ShapeError>("{}: x has shape {}; every dim but the batch must be positive", a.op, shape_str(sx));
    }
    if (a.weight.numel() == 0) {
        fail<ShapeError>("{}: weight has shape {}; every dim must be positive", a.op, shape_str(a.weight.shape()));
    }
}

/// Stride, dilation, padding, output_padding and groups.
template <class T>
void check_scalars(const Call<T>& a) {
    if (a.groups < 1) fail<ValueError>("{}: groups is {}; expected >= 1", a.op, a.groups);
    if (a.stride.h < 1 || a.stride.w < 1) fail<ValueError>("{}: stride is {}; expected >= 1", a.op, a.str(a.stride));
    if (a.dilation.h < 1 || a.dilation.w < 1) {
        fail<ValueError>("{}: dilation is {}; expected >= 1", a.op, a.str(a.dilation));
    }
    if (!a.padding.mode && (a.padding.size.h < 0 || a.padding.size.w < 0)) {
        fail<ValueError>("{}: padding is {}; expected >= 0", a.op, a.str(a.padding.size));
    }
    if (a.padding.mode == Padding::Same && (a.stride.h != 1 || a.stride.w != 1)) {
        fail<ValueError>("{}: padding 'same' needs stride 1 (as PyTorch), got stride {}", a.op, a.str(a.stride));
    }
    const Size2 op = a.output_padding;
    if (op.h < 0 || op.w < 0) fail<ValueError>("{}: output_padding is {}; expected >= 0", a.op, a.str(op));
    if ((op.h >= a.stride.h && op.h >= a.dilation.h) || (op.w >= a.stride.w && op.w >= a.dilation.w)) {
        fail<ValueError>("{}: output_padding {} must be smaller than either stride {} or dilation {}", a.op, a.str(op),
                         a.str(a.stride), a.str(a.dilation));
    }
}

/// Channels against groups and the weight, and the bias; returns the output channels.
template <class T>
size_t check_channels(const Call<T>& a) {
    const size_t c = a.x.shape()[a.batched()];
    const auto groups = size_t(a.groups);
    const Shape& sw = a.weight.shape();
    if (c % groups != 0) {
        fail<ShapeError>("{}: x has shape {} with {} channels, not divisible by groups {}", a.op,
                         shape_str(a.x.shape()), c, groups);
    }
    if (!a.transposed && sw[0] % groups != 0) {
        fail<ShapeError>("{}: weight has shape {}; out_channels {} is not divisible by groups {}", a.op, shape_str(sw),
                         sw[0], groups);
    }
    const size_t expected = a.transposed ? sw[0] : sw[1] * groups;
    if (c != expected) {
        fail<ShapeError>("{}: {}, groups {}; x's {} channels must equal {} = {}", a.op, a.shapes(), groups, c,
                         a.transposed ? "weight.shape[0]" : "weight.shape[1] * groups", expected);
    }
    const size_t out = a.transposed ? sw[1] * groups : sw[0];
    if (a.bias.defined() && a.bias.shape() != Shape{out}) {
        fail<ShapeError>("{}: bias has shape {}, weight has shape {}; expected [{}] (one per output channel)", a.op,
                         shape_str(a.bias.shape()), shape_str(sw), out);
    }
    return out;
}

/// The checked call as a Geometry.
template <class T>
Geometry plan(const Call<T>& a) {
    check_tensors(a);
    check_scalars(a);
    const size_t out_channels = check_channels(a);
    const Shape& sx = a.x.shape();
    const Shape& sw = a.weight.shape();
    const size_t kernel[2] = {a.size_of(sw, 0), a.size_of(sw, 1)};
    const std::int64_t stride[2] = {a.stride.h, a.stride.w}, dilation[2] = {a.dilation.h, a.dilation.w};
    const std::int64_t out_pad[2] = {a.output_padding.h, a.output_padding.w};
    std::int64_t before[2] = {0, 0}, total[2] = {0, 0}, in[2] = {0, 0}, out[2] = {0, 0};
    for (size_t d = 0; d < 2; ++d) {
        const std::int64_t span = dilation[d] * std::int64_t(kernel[d] - 1);  // the dilated kernel's extent - 1
        const std::int64_t p = d == 0 ? a.padding.size.h : a.padding.size.w;
        before[d] = a.padding.mode == Padding::Same ? span / 2 : a.padding.mode ? 0 : p;
        total[d] = a.padding.mode == Padding::Same ? span : 2 * before[d];
        in[d] = std::int64_t(a.size_of(sx, d));
        if (a.transposed) {
            out[d] = (in[d] - 1) * stride[d] - total[d] + span + out_pad[d] + 1;
            if (out[d] <= 0) {
                fail<ShapeError>(
                    "{}: {}, stride {}, padding {}, output_padding {}, dilation {}; the output size {} "
                    "along {} is not positive",
                    a.op, a.shapes(), a.str(a.stride), a.str(a.padding.size), a.str(a.output_padding),
                    a.str(a.dilation), out[d], a.dim_name(d));
            }
        } else {
            if (span + 1 > in[d] + total[d]) {
                fail<ShapeError>("{}: {}; the kernel (dilated: {}) is larger than the padded input ({}) along {}", a.op,
                                 a.shapes(), span + 1, in[d] + total[d], a.dim_name(d));
            }
            out[d] = (in[d] + total[d] - span - 1) / stride[d] + 1;
        }
    }
    // The input side (x of a convolution, the output of a transposed one) and the output side.
    const size_t n = a.batched() ? sx[0] : 1, channels = sx[a.batched()];
    const auto side = [&](size_t d, bool input) { return size_t(input != a.transposed ? in[d] : out[d]); };
    return Geometry{n,
                    a.transposed ? out_channels : channels,
                    side(0, true),
                    side(1, true),
                    a.transposed ? channels : out_channels,
                    kernel[0],
                    kernel[1],
                    side(0, false),
                    side(1, false),
                    size_t(stride[0]),
                    size_t(stride[1]),
                    size_t(dilation[0]),
                    size_t(dilation[1]),
                    size_t(a.groups),
                    ptrdiff_t(before[0]),
                    ptrdiff_t(before[1]),
                    a.batched()};
}

/// The shape of the call's result: x's with the channels and spatial sizes of the other side.
template <class T>
Shape result_shape(const Call<T>& a, const Geometry& g) {
    Shape s = a.x.shape();
    s[a.batched()] = a.transposed ? g.c : g.o;
    s.back() = a.transposed ? g.w : g.wo;
    if (a.spatial == 2) s[s.size() - 2] = a.transposed ? g.h : g.ho;
    return s;
}

template <class T>
Tensor<T> run(const Call<T>& a) {
    const Geometry g = plan(a);
    const Shape shape = result_shape(a, g);
    return a.transposed ? transpose_forward(a.x, a.weight, a.bias, g, shape)
                        : conv_forward(a.x, a.weight, a.bias, g, shape);
}

}  // namespace

template <class T>
Tensor<T> conv2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, Size2 stride,
                 ConvPadding2d padding, Size2 dilation, std::int64_t groups) {
    return run(Call<T>{"conv2d", 2, false, x, weight, bias, stride, dilation, 0, padding, groups});
}

template <class T>
Tensor<T> conv1d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, std::int64_t stride,
                 ConvPadding1d padding, std::int64_t dilation, std::int64_t groups) {
    const ConvPadding2d pad = padding.mode ? ConvPadding2d(*padding.mode) : ConvPadding2d(0, padding.size);
    return run(Call<T>{"conv1d", 1, false, x, weight, bias, {1, stride}, {1, dilation}, 0, pad, groups});
}

template <class T>
Tensor<T> conv_transpose2d(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, Size2 stride,
                           Size2 padding, Size2 output_padding, std::int64_t groups, Size2 dilation) {
    return run(Call<T>{"conv_transpose2d", 2, true, x, weight, bias, stride, dilation, output_padding,
                       ConvPadding2d(padding.h, padding.w), groups});
}

namespace detail {

template <class T>
Tensor<T> conv2d_weight(const Tensor<T>& x, const Tensor<T>& gy, const Shape& weight_shape, Size2 stride, Size2 padding,
                        Size2 dilation, std::int64_t groups) {
    const Shape& sx = x.shape();
    const Shape& sy = gy.shape();
    const Geometry g{sx[0],
                     sx[1],
                     sx[2],
                     sx[3],
                     weight_shape[0],
                     weight_shape[2],
                     weight_shape[3],
                     sy[2],
                     sy[3],
                     size_t(stride.h),
                     size_t(stride.w),
                     size_t(dilation.h),
                     size_t(dilation.w),
                     size_t(groups),
                     ptrdiff_t(padding.h),
                     ptrdiff_t(padding.w),
                     1};
    return weight_forward(x, gy, g, weight_shape);
}

}  // namespace detail

#define TAPEGRAD_INSTANTIATE(T)                                                                                     \
    template Tensor<T> conv2d(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Size2, ConvPadding2d, Size2,    \
                              std::int64_t);                                                                        \
    template Tensor<T> conv1d(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, std::int64_t, ConvPadding1d,    \
                              std::int64_t, std::int64_t);                                                          \
    template Tensor<T> conv_transpose2d(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&, Size2, Size2, Size2,  \
                                        std::int64_t, Size2);                                                       \
    template Tensor<T> detail::conv2d_weight(const Tensor<T>&, const Tensor<T>&, const Shape&, Size2, Size2, Size2, \
                                             std::int64_t);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
