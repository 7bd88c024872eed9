#include <tapegrad/ops/matmul.hpp>

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include <tapegrad/autograd/anomaly_mode.hpp>
#include <tapegrad/autograd/broadcast.hpp>
#include <tapegrad/autograd/forward_ad.hpp>
#include <tapegrad/autograd/grad_mode.hpp>
#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/threads.hpp>
#include <tapegrad/ops/arithmetic.hpp>
#include <tapegrad/ops/blas.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/layout.hpp>
#include <tapegrad/ops/parallel.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>
#include <tapegrad/ops/simd.hpp>
#include <tapegrad/ops/tangent.hpp>

namespace tapegrad {

namespace {

using detail::GemmDims;

/// Sets OpenBLAS's thread count (per process), calling it only when it changes.
void use_blas_threads(int want) {
    static std::atomic<int> current = openblas_get_num_threads();
    if (current.exchange(want) != want) openblas_set_num_threads(want);
}

/// Whether a product is large enough for several threads: a few MFLOP.
bool worth_threads(const GemmDims& d) {
    constexpr double kThreadedFlops = 1e6;
    return 2.0 * double(d.m) * double(d.n) * double(d.k) >= kThreadedFlops;
}

/// The one place that picks OpenBLAS's thread count, per product: below worth_threads (a batch-1
/// MLP layer) waking the threads costs more than it saves, so small products run on the calling
/// thread; larger ones use tapegrad::get_num_threads(). Measured on 2 cores in bench/RESULTS.md; on
/// a machine busy with other work, one thread is faster at every size. (Products split across
/// threads run on one each: see run_products and linear_value_and_tangent.)
void set_blas_threads(const GemmDims& d) {
    use_blas_threads(worth_threads(d) ? static_cast<int>(get_num_threads()) : 1);
}

/// C = op(A) op(B) + beta C, on OpenBLAS's current thread count.
void gemm_call(bool ta, bool tb, const GemmDims& d, const float* a, const float* b, float* c, float beta) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(d.m),
                static_cast<int>(d.n), static_cast<int>(d.k), 1.0F, a, static_cast<int>(d.lda), b,
                static_cast<int>(d.ldb), beta, c, static_cast<int>(d.n));
}

void gemm_call(bool ta, bool tb, const GemmDims& d, const double* a, const double* b, double* c, double beta) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(d.m),
                static_cast<int>(d.n), static_cast<int>(d.k), 1.0, a, static_cast<int>(d.lda), b,
                static_cast<int>(d.ldb), beta, c, static_cast<int>(d.n));
}

}  // namespace

namespace detail {

template <class T>
void blas_gemm(bool ta, bool tb, const GemmDims& d, const T* a, const T* b, T* c, T beta) {
    set_blas_threads(d);
    gemm_call(ta, tb, d, a, b, c, beta);
}

void use_one_blas_thread() {
    use_blas_threads(1);
}

template <class T>
void blas_gemm_here(bool ta, bool tb, const GemmDims& d, const T* a, const T* b, T* c, T beta) {
    gemm_call(ta, tb, d, a, b, c, beta);
}

template void blas_gemm(bool, bool, const GemmDims&, const float*, const float*, float*, float);
template void blas_gemm(bool, bool, const GemmDims&, const double*, const double*, double*, double);
template void blas_gemm_here(bool, bool, const GemmDims&, const float*, const float*, float*, float);
template void blas_gemm_here(bool, bool, const GemmDims&, const double*, const double*, double*, double);

}  // namespace detail

namespace {

using detail::blas_gemm;

/// A fresh product of many megabytes (Linear 4096's weight gradient is 64 MB) is mapped by malloc
/// page by page; asking for transparent huge pages before its first write turns ~16k page faults
/// per step into ~32 (5% of the Linear 4096 step, bench/RESULTS.md). A hint only: ignored where
/// huge pages are off, and a cheap no-op for a buffer the pool hands back already mapped.
template <class T>
xt::xarray<T> product_buffer(const char* op, const Shape& shape) {
    xt::xarray<T> out = detail::take_buffer<T>(op, shape);
#ifdef __linux__
    constexpr std::uintptr_t kHuge = std::uintptr_t(2) << 20;
    const auto begin = reinterpret_cast<std::uintptr_t>(out.data());
    const std::uintptr_t end = begin + out.size() * sizeof(T);
    const std::uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
    if (end >= first + 2 * kHuge) madvise(reinterpret_cast<void*>(first), (end - first) & ~(kHuge - 1), MADV_HUGEPAGE);
#endif
    return out;
}

std::size_t count_of(const Shape& shape) {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

/// The batch dims of an operand: every dim before the last two (none for a 1-D or 2-D one).
Shape batch_of(const Shape& shape) {
    return shape.size() > 2 ? Shape(shape.begin(), shape.end() - 2) : Shape{};
}

/// numpy's broadcast of a's and b's batch dims, or a ShapeError naming op and both shapes.
Shape broadcast_batch(const char* op, const Shape& sa, const Shape& sb) {
    const Shape ba = batch_of(sa);
    const Shape bb = batch_of(sb);
    const std::size_t r = std::max(ba.size(), bb.size());
    Shape out(r, 1);
    for (std::size_t i = 0; i < r; ++i) {
        const std::size_t da = i < r - ba.size() ? 1 : ba[i - (r - ba.size())];
        const std::size_t db = i < r - bb.size() ? 1 : bb[i - (r - bb.size())];
        if (da != db && da != 1 && db != 1) {
            fail<ShapeError>("{}: a has shape {}, b has shape {}; batch dims {} and {} do not broadcast ({} vs {})", op,
                             shape_str(sa), shape_str(sb), shape_str(ba), shape_str(bb), da, db);
        }
        out[i] = da == 1 ? db : da;
    }
    return out;
}

/// Element offset, per dim of the broadcast batch `full`, between consecutive matrices of an
/// operand with batch dims `batch` (aligned to full's last dims) and `matrix` elements per matrix;
/// 0 where the operand has no such dim or size 1 there (it is broadcast, or for C, summed).
xt::svector<std::size_t, 6> batch_strides(const Shape& batch, const Shape& full, std::size_t matrix) {
    xt::svector<std::size_t, 6> out(full.size(), 0);
    std::size_t stride = matrix;
    for (std::size_t i = batch.size(); i-- > 0;) {
        if (batch[i] != 1) out[i + full.size() - batch.size()] = stride;
        stride *= batch[i];
    }
    return out;
}

/// The products of a batched GEMM: product p (row-major over the broadcast batch `full`) reads A
/// and B and writes C at offsets given by each one's batch strides.
template <class T>
struct Products {
    bool ta, tb;
    GemmDims d;
    Shape full;
    xt::svector<std::size_t, 6> sa, sb, sc;
    const T* a;
    const T* b;
    T* c;

    std::size_t count() const { return count_of(full); }
    /// Whether several products write into one C matrix (C is summed over a batch dim).
    bool sums() const {
        for (std::size_t i = 0; i < full.size(); ++i) {
            if (sc[i] == 0 && full[i] > 1) return true;
        }
        return false;
    }
    /// Where product p reads A and B and writes C, and whether it is the first into its C matrix (in
    /// row-major order, the one at index 0 of every summed dim).
    struct Offsets {
        std::size_t a, b, c;
        bool first;
    };
    Offsets offsets(std::size_t p) const {
        Offsets o{0, 0, 0, true};
        for (std::size_t i = full.size(); i-- > 0;) {
            const std::size_t j = p % full[i];
            p /= full[i];
            o.a += j * sa[i], o.b += j * sb[i], o.c += j * sc[i];
            o.first = o.first && (j == 0 || sc[i] != 0);
        }
        return o;
    }
    /// Runs product p: the first into its C matrix overwrites it (beta = 0), the others add to it (beta = 1).
    void run(std::size_t p) const {
        const Offsets o = offsets(p);
        gemm_call(ta, tb, d, a + o.a, b + o.b, c + o.c, o.first ? T(0) : T(1));
    }
};

/// Products whose inner dimension is 1, none summed into another's C: outer products, C[r][j] =
/// op(A)[r] op(B)[j] (the per-sample weight gradients of a Dense layer, nn::per_sample_grads, are a
/// batch of them, B * out * in elements). Their cost is writing C, which BLAS does twice (with beta
/// = 0 it first zeroes C, then adds the product), each time reading every cache line before
/// writing it. Here each row of C is written once, by one multiply of op(B)'s row, and a C larger
/// than the caches with non-temporal stores (simd::stream_store: nothing read), the rows shared out
/// over get_num_threads() threads. Each element is one product a * b whichever thread writes it:
/// the result does not depend on the thread count, and equals BLAS's.
template <class T>
void run_outer_products(const Products<T>& work) {
    constexpr std::size_t kStreamBytes = std::size_t{8} << 20;  // well past L2, near a share of L3
    constexpr std::size_t kSplitBytes = std::size_t{1} << 20;   // below this, handing rows to a thread costs more
    const std::size_t m = work.d.m, n = work.d.n, rows = work.count() * m;
    const std::size_t bytes = rows * n * sizeof(T);
    const bool stream = bytes >= kStreamBytes;
    // With k = 1, op(A) is m contiguous elements (ta: one row; else a column of stride lda = 1) and
    // op(B) n contiguous ones, whichever the transposes. Work is shared in chunks of rows of about
    // 256 KB, each ended by a fence (a thread's streamed rows are then visible to the caller).
    const std::size_t chunk =
        std::max<std::size_t>(1, (std::size_t{256} << 10) / std::max<std::size_t>(1, n * sizeof(T)));
    auto rows_of = [&work, m, n, rows, chunk, stream](std::size_t, std::size_t c) {
        for (std::size_t r = c * chunk; r < std::min(rows, (c + 1) * chunk); ++r) {
            const auto o = work.offsets(r / m);
            const T s = work.a[o.a + r % m];
            T* out = work.c + o.c + (r % m) * n;
            if (stream) {
                simd::scale_streaming(work.b + o.b, s, out, n);
            } else {
                simd::transform(work.b + o.b, out, n, [s](auto v) { return v * s; });
            }
        }
        if (stream) simd::stream_fence();
    };
    const std::size_t chunks = (rows + chunk - 1) / chunk;
    detail::share_items(bytes >= kSplitBytes ? std::min(get_num_threads(), chunks) : 1, chunks, rows_of);
}

/// Runs every product. A batch of several products per thread, none summed into another's C,
/// is split across get_num_threads() threads (this one among them, each taking the next product
/// from a shared counter) with one BLAS thread per product: where OpenBLAS's own threading of
/// each small GEMM spends much of its time waiting for its threads, and more so on a busy machine
/// (bench/RESULTS.md, matmul_4d). Otherwise a loop in order, each product at the thread count
/// set_blas_threads picks.
template <class T>
void run_products(const Products<T>& work) {
    constexpr double kSplitFlops = 8e6;  // below this, handing work to threads costs more than it saves
    const std::size_t products = work.count();
    const std::size_t threads = get_num_threads();
    const double flops = 2.0 * double(work.d.m) * double(work.d.n) * double(work.d.k) * double(products);
    if (threads == 1 || products < 2 * threads || flops < kSplitFlops || work.sums()) {
        set_blas_threads(work.d);
        for (std::size_t p = 0; p < products; ++p) work.run(p);
        return;
    }
    use_blas_threads(1);
    detail::share_items(threads, products, [&work](std::size_t, std::size_t p) { work.run(p); });
}

/// C[t] = sum of op(A[i]) op(B[i]) over the batch indices i of `full` that land on C's batch index
/// t: each of A, B and C (batch dims `batch`) is broadcast over the dims of `full` where it has
/// size 1 or none, and C is summed over them. The products of run_products, or a single GEMM
/// where the batch folds: into the rows when B is one matrix and A and C cover the whole batch (A
/// [batch.., m, k] times a shared B), into the inner dimension when C is one matrix that sums
/// op(A)^T op(B) over a batch A and B both cover (the weight gradient of a batched Linear).
template <class T>
xt::xarray<T> gemm_value(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb, const Shape& batch) {
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    const std::size_t ra = sa.size() - 2;
    const std::size_t rb = sb.size() - 2;
    const GemmDims d{ta ? sa[ra + 1] : sa[ra], tb ? sb[rb] : sb[rb + 1], ta ? sa[ra] : sa[ra + 1], sa[ra + 1],
                     sb[rb + 1]};
    Shape shape = batch;
    shape.push_back(d.m);
    shape.push_back(d.n);
    xt::xarray<T> out = product_buffer<T>("gemm", shape);
    const T* pa = a.value().data();
    const T* pb = b.value().data();
    T* pc = out.data();
    // One product and nothing to walk (an MLP's every GEMM): straight to BLAS.
    if (ra == 0 && rb == 0 && batch.empty() && d.m != 0 && d.n != 0 && d.k != 0) {
        blas_gemm(ta, tb, d, pa, pb, pc);
        return out;
    }
    const Shape ba = batch_of(sa);
    const Shape bb = batch_of(sb);
    const Shape full = broadcast_shapes("gemm", broadcast_shapes("gemm", ba, bb), batch);
    const std::size_t products = count_of(full);
    // An empty sum is 0, and BLAS rejects leading dimensions of 0.
    if (d.m == 0 || d.n == 0 || d.k == 0 || products == 0) {
        out.fill(T(0));
        return out;
    }
    const bool a_covers = count_of(ba) == products;
    if (!ta && count_of(bb) == 1 && a_covers && count_of(batch) == products && products * d.m <= INT_MAX) {
        blas_gemm(ta, tb, GemmDims{products * d.m, d.n, d.k, d.lda, d.ldb}, pa, pb, pc);
        return out;
    }
    if (ta && !tb && count_of(batch) == 1 && a_covers && count_of(bb) == products && products * d.k <= INT_MAX) {
        blas_gemm(ta, tb, GemmDims{d.m, d.n, products * d.k, d.lda, d.ldb}, pa, pb, pc);
        return out;
    }
    const Products<T> work{ta,
                           tb,
                           d,
                           full,
                           batch_strides(ba, full, d.m * d.k),
                           batch_strides(bb, full, d.k * d.n),
                           batch_strides(batch, full, d.m * d.n),
                           pa,
                           pb,
                           pc};
    if (d.k == 1 && !work.sums()) {
        run_outer_products(work);
    } else {
        run_products(work);
    }
    return out;
}

/// gemm's node, its result summed to the batch dims `batch` (gemm's own: the broadcast batch; its
/// backward's: each input's batch dims, so a broadcast operand gets the sum over what it was
/// broadcast over). The shapes are checked by the callers.
template <class T>
Tensor<T> batched_gemm(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb, const Shape& batch) {
    return record<T>(
        "gemm", {a, b}, gemm_value(a, b, ta, tb, batch),
        [ta, tb](const Backward<T>& ctx) -> Grads<T> {
            // For C = op(A) op(B): dop(A) = G op(B)^T and dop(B) = op(A)^T G, transposed back when op transposes.
            const auto& g = ctx.grad();
            const auto& a_ = ctx.input(0);
            const auto& b_ = ctx.input(1);
            const Shape batch_a = batch_of(a_.shape());
            const Shape batch_b = batch_of(b_.shape());
            Tensor<T> da;
            Tensor<T> db;
            if (ctx.needs(0))
                da = ta ? batched_gemm(b_, g, tb, true, batch_a) : batched_gemm(g, b_, false, !tb, batch_a);
            if (ctx.needs(1))
                db = tb ? batched_gemm(g, a_, true, ta, batch_b) : batched_gemm(a_, g, !ta, false, batch_b);
            return {da, db};
        },
        [ta, tb, batch](const Forward<T>& ctx) {
            // dC = op(dA) op(B) + op(A) op(dB): the same products with a tangent in place of an operand.
            return detail::add_tangents(
                ctx.has(0) ? batched_gemm(ctx.tangent(0), ctx.input(1), ta, tb, batch) : Tensor<T>(),
                ctx.has(1) ? batched_gemm(ctx.input(0), ctx.tangent(1), ta, tb, batch) : Tensor<T>());
        });
}

/// A 1-D tensor as one row [1, n]; any other as it is.
template <class T>
Tensor<T> as_rows(const Tensor<T>& x) {
    return x.ndim() == 1 ? reshape(x, Shape{1, x.numel()}) : x;
}

/// The product of linear: x's leading dims folded into the m rows of one GEMM x W^T.
template <class T>
GemmDims linear_dims(const Tensor<T>& x, const Tensor<T>& weight) {
    const std::size_t k = weight.shape()[1];
    return GemmDims{count_of(Shape(x.shape().begin(), x.shape().end() - 1)), weight.shape()[0], k, k, k};
}

/// linear's output before the product: every row the bias (BLAS then adds x W^T, beta = 1), or 0.
template <class T>
xt::xarray<T> bias_rows(const Tensor<T>& bias, const GemmDims& d, const Shape& shape) {
    xt::xarray<T> out = product_buffer<T>("linear", shape);
    if (bias.defined()) {
        const T* b = bias.value().data();
        for (std::size_t i = 0; i < d.m; ++i) std::copy(b, b + d.n, out.data() + i * d.n);
    } else {
        out.fill(T(0));
    }
    return out;
}

/// x W^T + b in one GEMM over x's leading dims folded into rows.
template <class T>
xt::xarray<T> linear_value(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, const Shape& shape) {
    const GemmDims d = linear_dims(x, weight);
    xt::xarray<T> out = bias_rows(bias, d, shape);
    if (d.m == 0 || d.n == 0 || d.k == 0) return out;
    blas_gemm(false, true, d, x.value().data(), weight.value().data(), out.data(), T(1));
    return out;
}

/// In forward mode, x's tangent dx when linear can compute its output's tangent dx W^T beside the
/// value x W^T + b (linear_value_and_tangent); undefined otherwise. It can when dx is the only
/// tangent (W and b have none), the tangent needs no graph (grad mode off, or neither dx nor W
/// requires grad: tangent rules are recorded ops, for forward over reverse), anomaly mode (which
/// checks each op) is off, and the product is one OpenBLAS would run on several threads.
template <class T>
Tensor<T> tangent_beside(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias, const GemmDims& d) {
    if (!detail::dual_level_open() || get_num_threads() < 2 || !worth_threads(d) || is_anomaly_enabled()) return {};
    Tensor<T> dx = detail::open_tangent(x);
    if (!dx.defined() || detail::open_tangent(weight).defined()) return {};
    if (bias.defined() && detail::open_tangent(bias).defined()) return {};
    if (is_grad_enabled() && (dx.requires_grad() || weight.requires_grad())) return {};
    return dx;
}

/// Forward mode's value x W^T + b, returned, and tangent dx W^T, put in `tangent` (x's leading
/// dims and out, without the bias), at once: they are independent products of one shape, run on
/// two threads with one BLAS thread each instead of one after the other, each split by OpenBLAS
/// over every thread, whose split of a product of few rows spends much of its time waiting for its
/// threads (the Fashion-MNIST MLP's jvp at batch 32: bench/RESULTS.md, "jvp: the value's and the
/// tangent's products at once"). Each is what linear_value computes, on one BLAS thread.
template <class T>
xt::xarray<T> linear_value_and_tangent(const Tensor<T>& x, const Tensor<T>& dx, const Tensor<T>& weight,
                                       const Tensor<T>& bias, const GemmDims& d, const Shape& shape,
                                       Tensor<T>& tangent) {
    Shape tangent_shape(x.shape().begin(), x.shape().end() - 1);
    tangent_shape.push_back(d.n);
    xt::xarray<T> out[2] = {bias_rows(bias, d, shape), bias_rows(Tensor<T>(), d, tangent_shape)};
    const T* operand[2] = {x.value().data(), dx.value().data()};
    use_blas_threads(1);
    detail::share_items(2, 2, [&](std::size_t, std::size_t i) {
        gemm_call(false, true, d, operand[i], weight.value().data(), out[i].data(), T(1));
    });
    tangent = Tensor<T>(std::move(out[1]));
    return std::move(out[0]);
}

}  // namespace

template <class T>
Tensor<T> gemm(const Tensor<T>& a, const Tensor<T>& b, bool transpose_a, bool transpose_b) {
    check_defined("gemm", "a", a);
    check_defined("gemm", "b", b);
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    if (sa.size() < 2 || sb.size() < 2) {
        fail<ShapeError>(
            "gemm: a has shape {}, b has shape {}; both need at least 2 dims (matrices in the last two, batch dims "
            "before them; matmul takes vectors)",
            shape_str(sa), shape_str(sb));
    }
    const bool ta = transpose_a;
    const bool tb = transpose_b;
    const std::size_t ka = ta ? sa[sa.size() - 2] : sa.back();
    const std::size_t kb = tb ? sb.back() : sb[sb.size() - 2];
    if (ka != kb) {
        fail<ShapeError>("gemm: a has shape {}{}, b has shape {}{}; inner dimensions {} and {} differ", shape_str(sa),
                         ta ? " (transposed)" : "", shape_str(sb), tb ? " (transposed)" : "", ka, kb);
    }
    return batched_gemm(a, b, ta, tb, broadcast_batch("gemm", sa, sb));
}

template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
    check_defined("matmul", "a", a);
    check_defined("matmul", "b", b);
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    const std::size_t na = sa.size();
    const std::size_t nb = sb.size();
    if (na == 0 || nb == 0) {
        fail<ShapeError>("matmul: a has shape {}, b has shape {}; both need at least 1 dim (mul takes a 0-d tensor)",
                         shape_str(sa), shape_str(sb));
    }
    const std::size_t ka = sa[na - 1];
    const std::size_t kb = nb == 1 ? sb[0] : sb[nb - 2];
    if (ka != kb) {
        fail<ShapeError>("matmul: a has shape {}, b has shape {}; inner dimensions {} and {} differ", shape_str(sa),
                         shape_str(sb), ka, kb);
    }
    const Shape batch = broadcast_batch("matmul", sa, sb);
    if (na >= 2 && nb >= 2) return batched_gemm(a, b, false, false, batch);
    // A vector becomes a row (on the left) or a column (on the right), removed again from the result.
    const Tensor<T> left = na == 1 ? reshape(a, Shape{1, ka}) : a;
    const Tensor<T> right = nb == 1 ? reshape(b, Shape{kb, 1}) : b;
    Shape shape = batch;
    if (na >= 2) shape.push_back(sa[na - 2]);
    if (nb >= 2) shape.push_back(sb[nb - 1]);
    return reshape(batched_gemm(left, right, false, false, batch), shape);
}

template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
    check_defined("linear", "x", x);
    check_ndim("linear", "weight", weight, 2);
    const Shape& sx = x.shape();
    if (sx.empty() || sx.back() != weight.shape()[1]) {
        fail<ShapeError>(
            "linear: x has shape {}, weight has shape {}; x must be [..., in_features] with the {} features weight "
            "(out x in) expects",
            shape_str(sx), shape_str(weight.shape()), weight.shape()[1]);
    }
    const std::size_t out = weight.shape()[0];
    if (bias.defined() && bias.shape() != Shape{out} && bias.shape() != Shape{1, out}) {
        fail<ShapeError>("linear: bias has shape {}, weight has shape {}; expected bias of shape [{}] (one per output)",
                         shape_str(bias.shape()), shape_str(weight.shape()), out);
    }
    Shape shape(sx.begin(), sx.end() - 1);
    shape.push_back(out);
    if (bias.defined() && bias.ndim() > shape.size()) shape = Shape{1, out};  // [out] + a [1, out] bias, as PyTorch
    const bool has_bias = bias.defined();
    auto rule = [has_bias](const Backward<T>& ctx) -> Grads<T> {
        const auto& g = ctx.grad();
        Grads<T> grads(has_bias ? 3 : 2);
        // g has x's leading dims (a 1-D x: a vector, for matmul's rule; with a [1, out] bias a row,
        // whose extra 1 the engine sums away).
        if (ctx.needs(0)) {
            grads[0] = g.ndim() == 1 ? matmul(g, ctx.input(1))
                                     : batched_gemm(g, ctx.input(1), false, false, batch_of(g.shape()));
        }
        // One GEMM: every leading dim folds into the inner dimension of grad^T x.
        if (ctx.needs(1)) grads[1] = batched_gemm(as_rows(g), as_rows(ctx.input(0)), true, false, Shape{});
        if (has_bias && ctx.needs(2)) grads[2] = sum_to(g, ctx.input(2).shape());
        return grads;
    };
    const GemmDims d = linear_dims(x, weight);
    Tensor<T> computed;  // forward mode's tangent, when computed beside the value
    const Tensor<T> dx = tangent_beside(x, weight, bias, d);
    auto value = dx.defined() ? linear_value_and_tangent(x, dx, weight, bias, d, shape, computed)
                              : linear_value(x, weight, bias, shape);
    // dy = dx W^T + x dW^T + db: linear itself with a tangent in place of an operand.
    auto tangent = [has_bias, computed](const Forward<T>& ctx) {
        if (computed.defined()) return computed;
        Tensor<T> t = ctx.has(0) ? linear(ctx.tangent(0), ctx.input(1), Tensor<T>()) : Tensor<T>();
        if (ctx.has(1)) t = detail::add_tangents(t, linear(ctx.input(0), ctx.tangent(1), Tensor<T>()));
        return has_bias ? detail::add_tangents(t, ctx.tangent(2)) : t;
    };
    if (has_bias) return record<T>("linear", {x, weight, bias}, std::move(value), std::move(rule), tangent);
    return record<T>("linear", {x, weight}, std::move(value), std::move(rule), tangent);
}

template <class T>
Tensor<T> outer(const Tensor<T>& a, const Tensor<T>& b) {
    check_ndim("outer", "a", a, 1);
    check_ndim("outer", "b", b, 1);
    return mul(reshape(a, Shape{a.numel(), 1}), b);
}

template <class T>
Tensor<T> dot(const Tensor<T>& a, const Tensor<T>& b) {
    check_ndim("dot", "a", a, 1);
    check_ndim("dot", "b", b, 1);
    if (a.numel() != b.numel()) {
        fail<ShapeError>("dot: a has shape {}, b has shape {}; lengths {} and {} differ", shape_str(a.shape()),
                         shape_str(b.shape()), a.numel(), b.numel());
    }
    return matmul(a, b);
}

template <class T>
Tensor<T> trace(const Tensor<T>& x) {
    check_ndim("trace", "x", x, 2);
    return sum(diagonal(x));
}

#define TAPEGRAD_INSTANTIATE(T)                                                      \
    template Tensor<T> gemm(const Tensor<T>&, const Tensor<T>&, bool, bool);         \
    template Tensor<T> matmul(const Tensor<T>&, const Tensor<T>&);                   \
    template Tensor<T> linear(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&); \
    template Tensor<T> outer(const Tensor<T>&, const Tensor<T>&);                    \
    template Tensor<T> dot(const Tensor<T>&, const Tensor<T>&);                      \
    template Tensor<T> trace(const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
