#include <tapegrad/ops/matmul.hpp>

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include <tapegrad/autograd/node.hpp>
#include <tapegrad/autograd/threads.hpp>
#include <tapegrad/ops/check.hpp>
#include <tapegrad/ops/reduce.hpp>
#include <tapegrad/ops/shape.hpp>

namespace tapegrad {

namespace {

/// One row-major product C (m x n) = op(A) op(B), with op(A) m x k; lda/ldb are the stored row lengths.
struct GemmDims {
    std::size_t m, n, k, lda, ldb;
};

/// The one place that picks OpenBLAS's thread count, per product: below a few MFLOP (a batch-1
/// MLP layer) waking the threads costs more than it saves, so small products run on the calling
/// thread; larger ones use tapegrad::get_num_threads(). Measured on 2 cores in bench/RESULTS.md; on
/// a machine busy with other work, one thread is faster at every size.
void set_blas_threads(const GemmDims& d) {
    static std::atomic<int> current = openblas_get_num_threads();  // OpenBLAS's setting is per process
    constexpr double kThreadedFlops = 1e6;
    const bool threaded = 2.0 * double(d.m) * double(d.n) * double(d.k) >= kThreadedFlops;
    const int want = threaded ? static_cast<int>(get_num_threads()) : 1;
    if (current.exchange(want) != want) openblas_set_num_threads(want);
}

/// C = op(A) op(B) + beta C.
void blas_gemm(bool ta, bool tb, const GemmDims& d, const float* a, const float* b, float* c, float beta = 0) {
    set_blas_threads(d);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(d.m),
                static_cast<int>(d.n), static_cast<int>(d.k), 1.0F, a, static_cast<int>(d.lda), b,
                static_cast<int>(d.ldb), beta, c, static_cast<int>(d.n));
}

void blas_gemm(bool ta, bool tb, const GemmDims& d, const double* a, const double* b, double* c, double beta = 0) {
    set_blas_threads(d);
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(d.m),
                static_cast<int>(d.n), static_cast<int>(d.k), 1.0, a, static_cast<int>(d.lda), b,
                static_cast<int>(d.ldb), beta, c, static_cast<int>(d.n));
}

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

/// Checks gemm's operands and returns the sizes of one product (batch: how many).
template <class T>
GemmDims gemm_dims(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb, std::size_t& batch) {
    check_defined("gemm", "a", a);
    check_defined("gemm", "b", b);
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    if (sa.size() != sb.size() || (sa.size() != 2 && sa.size() != 3)) {
        fail<ShapeError>("gemm: a has shape {}, b has shape {}; expected two 2-D or two 3-D (batched) tensors",
                         shape_str(sa), shape_str(sb));
    }
    const std::size_t r = sa.size() - 2;  // the first matrix dim
    if (r == 1 && sa[0] != sb[0]) {
        fail<ShapeError>("gemm: a has shape {}, b has shape {}; batch sizes {} and {} differ", shape_str(sa),
                         shape_str(sb), sa[0], sb[0]);
    }
    const std::size_t ka = ta ? sa[r] : sa[r + 1];
    const std::size_t kb = tb ? sb[r + 1] : sb[r];
    if (ka != kb) {
        fail<ShapeError>("gemm: a has shape {}{}, b has shape {}{}; inner dimensions {} and {} differ", shape_str(sa),
                         ta ? " (transposed)" : "", shape_str(sb), tb ? " (transposed)" : "", ka, kb);
    }
    batch = r == 1 ? sa[0] : 1;
    return {ta ? sa[r + 1] : sa[r], tb ? sb[r] : sb[r + 1], ka, sa[r + 1], sb[r + 1]};
}

/// Products with a zero dimension are left to the zero fill: BLAS rejects leading dimensions of 0.
template <class T>
xt::xarray<T> gemm_value(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb) {
    std::size_t batch = 1;
    const GemmDims d = gemm_dims(a, b, ta, tb, batch);
    Shape shape = a.ndim() == 3 ? Shape{batch, d.m, d.n} : Shape{d.m, d.n};
    if (d.m == 0 || d.n == 0 || d.k == 0) return xt::zeros<T>(shape);
    xt::xarray<T> out = product_buffer<T>("gemm", shape);  // beta = 0: BLAS overwrites every element
    for (std::size_t i = 0; i < batch; ++i) {
        blas_gemm(ta, tb, d, a.value().data() + i * d.m * d.k, b.value().data() + i * d.k * d.n,
                  out.data() + i * d.m * d.n);
    }
    return out;
}

/// x W^T + b in one GEMM: each row of the output starts as the bias and BLAS adds the product (beta = 1).
template <class T>
xt::xarray<T> linear_value(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
    const std::size_t m = x.shape()[0], n = weight.shape()[0], k = x.shape()[1];
    xt::xarray<T> out = product_buffer<T>("linear", {m, n});
    if (bias.defined()) {
        const T* b = bias.value().data();
        for (std::size_t i = 0; i < m; ++i) std::copy(b, b + n, out.data() + i * n);
    } else {
        out.fill(T(0));
    }
    if (m == 0 || n == 0 || k == 0) return out;
    blas_gemm(false, true, GemmDims{m, n, k, k, k}, x.value().data(), weight.value().data(), out.data(), T(1));
    return out;
}

}  // namespace

template <class T>
Tensor<T> gemm(const Tensor<T>& a, const Tensor<T>& b, bool transpose_a, bool transpose_b) {
    const bool ta = transpose_a;
    const bool tb = transpose_b;
    return record<T>("gemm", {a, b}, gemm_value(a, b, ta, tb), [ta, tb](const Backward<T>& ctx) -> Grads<T> {
        // For C = op(A) op(B): dop(A) = G op(B)^T and dop(B) = op(A)^T G, transposed back when op transposes.
        const auto& g = ctx.grad();
        const auto& a_ = ctx.input(0);
        const auto& b_ = ctx.input(1);
        Tensor<T> da;
        Tensor<T> db;
        if (ctx.needs(0)) da = ta ? gemm(b_, g, tb, true) : gemm(g, b_, false, !tb);
        if (ctx.needs(1)) db = tb ? gemm(g, a_, true, ta) : gemm(a_, g, !ta, false);
        return {da, db};
    });
}

template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b) {
    check_defined("matmul", "a", a);
    check_defined("matmul", "b", b);
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    const std::size_t na = sa.size();
    const std::size_t nb = sb.size();
    const bool supported = (na >= 1 && na <= 2 && nb >= 1 && nb <= 2) || (na == 3 && (nb == 2 || nb == 3));
    if (!supported) {
        fail<ShapeError>(
            "matmul: a has shape {}, b has shape {}; supported are 1-D or 2-D times 1-D or 2-D, "
            "3-D times 3-D and 3-D times 2-D",
            shape_str(sa), shape_str(sb));
    }
    const std::size_t ka = sa[na - 1];
    const std::size_t kb = nb == 1 ? sb[0] : sb[nb - 2];
    if (ka != kb) {
        fail<ShapeError>("matmul: a has shape {}, b has shape {}; inner dimensions {} and {} differ", shape_str(sa),
                         shape_str(sb), ka, kb);
    }
    if (na == 3 && nb == 3 && sa[0] != sb[0]) {
        fail<ShapeError>("matmul: a has shape {}, b has shape {}; batch sizes {} and {} differ", shape_str(sa),
                         shape_str(sb), sa[0], sb[0]);
    }
    if (na == 3 && nb == 2) {  // one right matrix for every batch: a single (B n) x k product
        return reshape(gemm(reshape(a, {sa[0] * sa[1], ka}), b), {sa[0], sa[1], sb[1]});
    }
    if (na == nb && na != 1) return gemm(a, b);
    // Vectors become a row (on the left) or a column (on the right), removed again from the result.
    const Tensor<T> left = na == 1 ? reshape(a, {1, ka}) : a;
    const Tensor<T> right = nb == 1 ? reshape(b, {kb, 1}) : b;
    Shape shape;
    if (na == 2) shape.push_back(sa[0]);
    if (nb == 2) shape.push_back(sb[1]);
    return reshape(gemm(left, right), shape);
}

template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
    check_ndim("linear", "x", x, 2);
    check_ndim("linear", "weight", weight, 2);
    if (x.shape()[1] != weight.shape()[1]) {
        fail<ShapeError>(
            "linear: x has shape {}, weight has shape {}; x has {} features but weight (out x in) "
            "expects {}",
            shape_str(x.shape()), shape_str(weight.shape()), x.shape()[1], weight.shape()[1]);
    }
    const std::size_t out = weight.shape()[0];
    if (bias.defined() && bias.shape() != Shape{out} && bias.shape() != Shape{1, out}) {
        fail<ShapeError>("linear: bias has shape {}, weight has shape {}; expected bias of shape [{}] (one per output)",
                         shape_str(bias.shape()), shape_str(weight.shape()), out);
    }
    const bool has_bias = bias.defined();
    auto rule = [has_bias](const Backward<T>& ctx) -> Grads<T> {
        const auto& g = ctx.grad();
        Grads<T> grads(has_bias ? 3 : 2);
        if (ctx.needs(0)) grads[0] = gemm(g, ctx.input(1));
        if (ctx.needs(1)) grads[1] = gemm(g, ctx.input(0), true, false);
        if (has_bias && ctx.needs(2)) grads[2] = sum(g, {0}, ctx.input(2).ndim() == 2);
        return grads;
    };
    auto value = linear_value(x, weight, bias);
    if (has_bias) return record<T>("linear", {x, weight, bias}, std::move(value), std::move(rule));
    return record<T>("linear", {x, weight}, std::move(value), std::move(rule));
}

#define TAPEGRAD_INSTANTIATE(T)                                              \
    template Tensor<T> gemm(const Tensor<T>&, const Tensor<T>&, bool, bool); \
    template Tensor<T> matmul(const Tensor<T>&, const Tensor<T>&);           \
    template Tensor<T> linear(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
