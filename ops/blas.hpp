/// \file
/// Internal: the one GEMM entry point of the ops layer (OpenBLAS through cblas, float and double),
/// with the thread count picked per product in one place (ops/matmul.cpp). Not installed.
#pragma once

#include <cstddef>

namespace tapegrad::detail {

/// One row-major product C (m x n) = op(A) op(B), with op(A) m x k; lda/ldb are the stored row lengths.
struct GemmDims {
    std::size_t m, n, k, lda, ldb;
};

/// C = op(A) op(B) + beta C (C's rows n long), on the OpenBLAS thread count matmul.cpp picks for its
/// size (one thread below a few MFLOP).
template <class T>
void blas_gemm(bool ta, bool tb, const GemmDims& d, const T* a, const T* b, T* c, T beta = 0);

/// Sets OpenBLAS to one thread, before an op splits its products across its own threads
/// (ops/parallel.hpp), each then run by blas_gemm_here on the thread that calls it.
void use_one_blas_thread();

/// C = op(A) op(B) + beta C on OpenBLAS's current thread count, which it leaves alone (so that
/// threads running products side by side never change it under each other).
template <class T>
void blas_gemm_here(bool ta, bool tb, const GemmDims& d, const T* a, const T* b, T* c, T beta = 0);

}  // namespace tapegrad::detail
