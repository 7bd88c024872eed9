#include "ops/matmul.hpp"

#include <cblas.h>

#include "autograd/node.hpp"
#include "ops/arithmetic.hpp"
#include "ops/check.hpp"
#include "ops/shape.hpp"

namespace tapegrad {

namespace {

/// One row-major product C (m x n) = op(A) op(B), with op(A) m x k; lda/ldb are the stored row lengths.
struct GemmDims {
    std::size_t m, n, k, lda, ldb;
};

void blas_gemm(bool ta, bool tb, const GemmDims& d, const float* a, const float* b, float* c) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(d.m),
                static_cast<int>(d.n), static_cast<int>(d.k), 1.0F, a, static_cast<int>(d.lda), b,
                static_cast<int>(d.ldb), 0.0F, c, static_cast<int>(d.n));
}

void blas_gemm(bool ta, bool tb, const GemmDims& d, const double* a, const double* b, double* c) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(d.m),
                static_cast<int>(d.n), static_cast<int>(d.k), 1.0, a, static_cast<int>(d.lda), b,
                static_cast<int>(d.ldb), 0.0, c, static_cast<int>(d.n));
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
    const std::size_t r = sa.size() - 2;  // the first matrix axis
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
    xt::xarray<T> out = xt::zeros<T>(shape);
    if (d.m == 0 || d.n == 0 || d.k == 0) return out;
    for (std::size_t i = 0; i < batch; ++i) {
        blas_gemm(ta, tb, d, a.value().data() + i * d.m * d.k, b.value().data() + i * d.k * d.n,
                  out.data() + i * d.m * d.n);
    }
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
    const Tensor<T> y = gemm(x, weight, false, true);
    return bias.defined() ? add(y, bias) : y;
}

#define TAPEGRAD_INSTANTIATE(T)                                              \
    template Tensor<T> gemm(const Tensor<T>&, const Tensor<T>&, bool, bool); \
    template Tensor<T> matmul(const Tensor<T>&, const Tensor<T>&);           \
    template Tensor<T> linear(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&);
TAPEGRAD_INSTANTIATE(float)
TAPEGRAD_INSTANTIATE(double)
#undef TAPEGRAD_INSTANTIATE

}  // namespace tapegrad
