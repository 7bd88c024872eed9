// The floor: the same workloads written by hand with raw OpenBLAS calls and plain loops, no
// framework. MLP rows run at 1 and 2 BLAS threads ("/blas1", "/blas2"); the report takes the best.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#if defined(__AVX__)
#include <immintrin.h>
#endif
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "workloads.hpp"

namespace wl = workloads;

namespace {

using Vec = std::vector<float>;

/// C (m x n) = A (m x k) B^T (B is n x k) + bias per column.
void linear_fwd(const float* a, const float* w, const float* bias, float* c, int m, int n, int k) {
    for (int i = 0; i < m; ++i) std::copy(bias, bias + n, c + static_cast<std::size_t>(i) * n);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0F, a, k, w, k, 1.0F, c, n);
}

/// dW (n x k) = G^T A, db = column sums of G, and, when da is given, dA (m x k) = G W.
void linear_bwd(const float* g, const float* a, const float* w, float* dw, float* db, float* da, int m, int n, int k) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m, 1.0F, g, n, a, k, 0.0F, dw, k);
    std::fill(db, db + n, 0.0F);
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) db[j] += g[static_cast<std::size_t>(i) * n + j];
    if (da) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, n, 1.0F, g, n, w, k, 0.0F, da, k);
}

void relu(Vec& h) {
    for (auto& v : h) v = v > 0 ? v : 0;
}
void relu_mask(Vec& g, const Vec& h) {
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = h[i] > 0 ? g[i] : 0;
}

/// Mean cross-entropy of logits (m x n) and its gradient (softmax - onehot) / m, in place.
float xent(float* z, const std::int64_t* y, int m, int n) {
    float loss = 0;
    for (int i = 0; i < m; ++i) {
        float* row = z + static_cast<std::size_t>(i) * n;
        const float mx = *std::max_element(row, row + n);
        float s = 0;
        for (int j = 0; j < n; ++j) s += (row[j] = std::exp(row[j] - mx));
        loss += std::log(s) - std::log(row[y[i]]);
        for (int j = 0; j < n; ++j) row[j] /= s * static_cast<float>(m);
        row[y[i]] -= 1.0F / static_cast<float>(m);
    }
    return loss / static_cast<float>(m);
}

void sgd(Vec& p, const Vec& g) {
    cblas_saxpy(static_cast<int>(p.size()), -wl::kLr, g.data(), 1, p.data(), 1);
}

void mlp_step(benchmark::State& state, std::size_t batch, int threads) {
    openblas_set_num_threads(threads);
    const int sz[] = {int(wl::kIn), int(wl::kHidden1), int(wl::kHidden2), int(wl::kClasses)};
    const int m = static_cast<int>(batch);
    Vec w[3], b[3], dw[3], db[3], h[3], dh[3];
    for (int l = 0; l < 3; ++l) {
        const float bound = 1.0F / std::sqrt(static_cast<float>(sz[l]));
        w[l] = wl::uniform(std::size_t(sz[l + 1]) * sz[l], bound, 10 + l);
        b[l] = wl::uniform(sz[l + 1], bound, 20 + l);
        dw[l].resize(w[l].size());
        db[l].resize(b[l].size());
        h[l].resize(batch * sz[l + 1]);
        dh[l].resize(batch * sz[l + 1]);
    }
    const Vec x = wl::uniform(batch * wl::kIn, 1.0F, 1);
    const auto y = wl::labels(batch, wl::kClasses);
    for (auto _ : state) {
        linear_fwd(x.data(), w[0].data(), b[0].data(), h[0].data(), m, sz[1], sz[0]);
        relu(h[0]);
        linear_fwd(h[0].data(), w[1].data(), b[1].data(), h[1].data(), m, sz[2], sz[1]);
        relu(h[1]);
        linear_fwd(h[1].data(), w[2].data(), b[2].data(), h[2].data(), m, sz[3], sz[2]);
        benchmark::DoNotOptimize(xent(h[2].data(), y.data(), m, sz[3]));  // h[2] now holds dlogits
        linear_bwd(h[2].data(), h[1].data(), w[2].data(), dw[2].data(), db[2].data(), dh[1].data(), m, sz[3], sz[2]);
        relu_mask(dh[1], h[1]);
        linear_bwd(dh[1].data(), h[0].data(), w[1].data(), dw[1].data(), db[1].data(), dh[0].data(), m, sz[2], sz[1]);
        relu_mask(dh[0], h[0]);
        linear_bwd(dh[0].data(), x.data(), w[0].data(), dw[0].data(), db[0].data(), nullptr, m, sz[1], sz[0]);
        for (int l = 0; l < 3; ++l) {
            sgd(w[l], dw[l]);
            sgd(b[l], db[l]);
        }
    }
    openblas_set_num_threads(2);
}

void linear4096(benchmark::State& state) {
    const int m = int(wl::kLinearBatch), n = int(wl::kLinearFeatures);
    const Vec x = wl::uniform(std::size_t(m) * n, 1.0F, 1);
    const Vec w = wl::uniform(std::size_t(n) * n, 0.015F, 2);
    const Vec b = wl::uniform(n, 0.015F, 3);
    const Vec g = wl::uniform(std::size_t(m) * n, 1.0F, 4);
    Vec y(x.size()), dx(x.size()), dw(w.size()), db(b.size());
    for (auto _ : state) {
        linear_fwd(x.data(), w.data(), b.data(), y.data(), m, n, n);
        linear_bwd(g.data(), x.data(), w.data(), dw.data(), db.data(), dx.data(), m, n, n);
        benchmark::DoNotOptimize(dw.data());
    }
}

/// One sgemm of the Linear 4096 shape: the peak the Linear step is compared with.
void sgemm_peak(benchmark::State& state) {
    const int m = int(wl::kLinearBatch), n = int(wl::kLinearFeatures);
    const Vec x = wl::uniform(std::size_t(m) * n, 1.0F, 1);
    const Vec w = wl::uniform(std::size_t(n) * n, 0.015F, 2);
    Vec y(x.size());
    for (auto _ : state) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, n, 1.0F, x.data(), n, w.data(), n, 0.0F, y.data(),
                    n);
        benchmark::DoNotOptimize(y.data());
    }
}

/// matmul_4d's GEMMs by hand: per (batch, head) product C = A B, dA = G B^T, dB = A^T G, each one
/// cblas_sgemm (3 x 64 calls) into buffers allocated once, with nothing else around them: what
/// "within 1.1x of the same number of bare sgemm calls" is measured against.
void matmul_4d(benchmark::State& state, int threads) {
    openblas_set_num_threads(threads);
    const int m = int(wl::kBmmA[2]), k = int(wl::kBmmA[3]), n = int(wl::kBmmB[3]);
    const std::size_t sa = std::size_t(m) * k, sb = std::size_t(k) * n, sc = std::size_t(m) * n;
    const Vec a = wl::uniform(wl::kBmmProducts * sa, 1.0F, 1);
    const Vec b = wl::uniform(wl::kBmmProducts * sb, 1.0F, 2);
    const Vec g = wl::uniform(wl::kBmmProducts * sc, 1.0F, 3);
    Vec c(g.size()), da(a.size()), db(b.size());
    for (auto _ : state) {
        for (std::size_t i = 0; i < wl::kBmmProducts; ++i) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0F, &a[i * sa], k, &b[i * sb], n, 0.0F,
                        &c[i * sc], n);
        }
        for (std::size_t i = 0; i < wl::kBmmProducts; ++i) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, k, n, 1.0F, &g[i * sc], n, &b[i * sb], n, 0.0F,
                        &da[i * sa], k);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, n, m, 1.0F, &a[i * sa], k, &g[i * sc], n, 0.0F,
                        &db[i * sb], n);
        }
        benchmark::DoNotOptimize(db.data());
    }
    openblas_set_num_threads(2);
}

/// linear_3d by hand: the sequence batch folded into 4096 rows, then linear_fwd and linear_bwd.
void linear_3d(benchmark::State& state, int threads) {
    openblas_set_num_threads(threads);
    const int m = int(wl::kSeqBatch * wl::kSeqLen), n = int(wl::kSeqFeatures);
    const Vec x = wl::uniform(std::size_t(m) * n, 1.0F, 1);
    const Vec w = wl::uniform(std::size_t(n) * n, 0.04F, 2);
    const Vec b = wl::uniform(n, 0.04F, 3);
    const Vec g = wl::uniform(std::size_t(m) * n, 1.0F, 4);
    Vec y(x.size()), dx(x.size()), dw(w.size()), db(b.size());
    for (auto _ : state) {
        linear_fwd(x.data(), w.data(), b.data(), y.data(), m, n, n);
        linear_bwd(g.data(), x.data(), w.data(), dw.data(), db.data(), dx.data(), m, n, n);
        benchmark::DoNotOptimize(dw.data());
    }
    openblas_set_num_threads(2);
}

template <class F>
void elementwise(benchmark::State& state, std::size_t n, F f) {
    const Vec a = wl::uniform(n, 1.0F, 1);
    const Vec b = wl::uniform(n, 1.0F, 2);
    for (auto _ : state) {
        std::unique_ptr<float[]> out(new float[n]);  // a new result each call, as an op returns one
        for (std::size_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
        benchmark::DoNotOptimize(out.get());
    }
}

void softmax_xent(benchmark::State& state, wl::XentSize s) {
    const Vec logits = wl::uniform(s.batch * s.classes, 3.0F, 1);
    const auto y = wl::labels(s.batch, s.classes);
    for (auto _ : state) {
        Vec grad = logits;
        benchmark::DoNotOptimize(xent(grad.data(), y.data(), int(s.batch), int(s.classes)));
    }
}

/// The machine's write bandwidth: 120 MB of floats (the size of per_sample_grads' result for the
/// Fashion-MNIST MLP at batch 128) written into a preallocated buffer by `threads` threads, each
/// its contiguous share, with plain stores (each line read before it is written: the traffic is
/// twice the bytes) or non-temporal ones (no read). Counter GB/s: bytes written per second.
void write_bandwidth(benchmark::State& state, int threads, bool stream) {
    constexpr std::size_t n = std::size_t{120} * 1000 * 1000 / sizeof(float);
    // In transparent huge pages where the system offers them, as tapegrad's large GEMM results
    // (ops/matmul.cpp): 4 KB pages would add a TLB miss every 4 KB.
    constexpr std::size_t huge = std::size_t{2} << 20, bytes = (n * sizeof(float) + huge - 1) / huge * huge;
    std::unique_ptr<float[], decltype(&std::free)> buffer(static_cast<float*>(std::aligned_alloc(huge, bytes)),
                                                          &std::free);
#ifdef __linux__
    madvise(buffer.get(), bytes, MADV_HUGEPAGE);
#endif
    std::fill(buffer.get(), buffer.get() + n, 0.0F);  // mapped before timing
    float value = 0;
    auto write = [&buffer, stream](std::size_t begin, std::size_t end, float v) {
        float* p = buffer.get();
#if defined(__AVX__)
        if (stream) {
            for (; begin < end && reinterpret_cast<std::uintptr_t>(p + begin) % 32 != 0; ++begin) p[begin] = v;
            const __m256 x = _mm256_set1_ps(v);
            for (; begin + 8 <= end; begin += 8) _mm256_stream_ps(p + begin, x);
            _mm_sfence();
        }
#endif
        std::fill(p + begin, p + end, v);
    };
    for (auto _ : state) {
        value += 1;
        std::vector<std::thread> others;
        const std::size_t share = n / static_cast<std::size_t>(threads);
        for (int t = 1; t < threads; ++t)
            others.emplace_back(write, t * share, t + 1 == threads ? n : (t + 1) * share, value);
        write(0, threads == 1 ? n : share, value);
        for (auto& t : others) t.join();
        benchmark::DoNotOptimize(buffer.get());
        benchmark::ClobberMemory();
    }
    state.counters["GB/s"] =
        benchmark::Counter(static_cast<double>(n * sizeof(float)) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
    for (auto batch : wl::kMlpBatches) {
        for (int threads : {1, 2}) {
            const auto name = wl::mlp_name(batch) + "/blas" + std::to_string(threads);
            benchmark::RegisterBenchmark(name.c_str(), mlp_step, batch, threads);
        }
    }
    benchmark::RegisterBenchmark("linear4096_b512", linear4096)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("sgemm_peak", sgemm_peak)->Unit(benchmark::kMillisecond);
    for (int threads : {1, 2}) {
        const auto blas = "/blas" + std::to_string(threads);
        benchmark::RegisterBenchmark((wl::kBmmName + blas).c_str(), matmul_4d, threads)->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((wl::kSeqLinearName + blas).c_str(), linear_3d, threads)
            ->Unit(benchmark::kMillisecond);
    }
    for (auto n : wl::kElementwiseSizes) {
        const auto suffix = "/" + std::to_string(n);
        auto add = [](float a, float b) { return a + b; };
        auto relu_ = [](float a, float) { return a > 0 ? a : 0.0F; };
        auto exp = [](float a, float) { return std::exp(a); };
        benchmark::RegisterBenchmark(("add" + suffix).c_str(), elementwise<decltype(add)>, n, add);
        benchmark::RegisterBenchmark(("relu" + suffix).c_str(), elementwise<decltype(relu_)>, n, relu_);
        benchmark::RegisterBenchmark(("exp" + suffix).c_str(), elementwise<decltype(exp)>, n, exp);
    }
    for (auto s : wl::kXentSizes) benchmark::RegisterBenchmark(wl::xent_name(s).c_str(), softmax_xent, s);
    for (int threads : {1, 2}) {
        const auto suffix = "/threads" + std::to_string(threads);
        benchmark::RegisterBenchmark(("bandwidth/write_120MB" + suffix).c_str(), write_bandwidth, threads, false)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(("bandwidth/write_120MB_streaming" + suffix).c_str(), write_bandwidth, threads,
                                     true)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
