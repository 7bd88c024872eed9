/// \file
/// How many threads tapegrad's ops may use, set once for the process (as torch::set_num_threads).
#pragma once

#include <cstddef>

namespace tapegrad {

/// Threads an op may use (today: OpenBLAS's GEMMs, batched matmul's products, and the convolutions,
/// which split their samples or channels over threads, on a pool of helpers started at first use
/// and kept waiting; small work always runs on the calling thread). Defaults to
/// OPENBLAS_NUM_THREADS, else OMP_NUM_THREADS, else the number of hardware threads. Process-wide
/// and safe to call from any thread; takes effect at the next op. Throws ValueError for n = 0.
/// Unlike PyTorch, a value above the hardware's thread count is refused too (oversubscribing a
/// GEMM only slows it): ValueError naming both numbers.
void set_num_threads(std::size_t n);

/// The current setting (see set_num_threads).
std::size_t get_num_threads();

/// The number of hardware threads (at least 1): the largest value set_num_threads accepts.
std::size_t max_num_threads();

}  // namespace tapegrad
