// LibTorch's side of the side-by-side benchmarks (see workloads.hpp): 1 intra-op thread (its
// best setting on 2 cores); MLP rows at 1 and 2 OpenBLAS threads ("/blas1", "/blas2").
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <torch/torch.h>

#include "workloads.hpp"

namespace wl = workloads;
namespace F = torch::nn::functional;

namespace {

torch::Tensor make(std::vector<std::int64_t> shape, float scale, std::uint64_t seed, bool requires_grad = false) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    auto values = wl::uniform(static_cast<std::size_t>(n), scale, seed);
    return torch::from_blob(values.data(), shape, torch::kFloat32).clone().requires_grad_(requires_grad);
}

torch::Tensor labels(std::size_t batch, std::size_t classes) {
    auto y = wl::labels(batch, classes);
    return torch::from_blob(y.data(), {static_cast<std::int64_t>(batch)}, torch::kInt64).clone();
}

void mlp_step(benchmark::State& state, std::size_t batch, int threads) {
    openblas_set_num_threads(threads);
    torch::nn::Sequential model(torch::nn::Linear(wl::kIn, wl::kHidden1), torch::nn::ReLU(),
                                torch::nn::Linear(wl::kHidden1, wl::kHidden2), torch::nn::ReLU(),
                                torch::nn::Linear(wl::kHidden2, wl::kClasses));
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(wl::kLr));
    const auto x = make({std::int64_t(batch), std::int64_t(wl::kIn)}, 1.0F, 1);
    const auto y = labels(batch, wl::kClasses);
    for (auto _ : state) {
        opt.zero_grad();
        auto loss = F::cross_entropy(model->forward(x), y);
        loss.backward();
        opt.step();
        benchmark::DoNotOptimize(loss.item<float>());
    }
    openblas_set_num_threads(2);
}

void op_overhead(benchmark::State& state) {
    auto x = torch::ones({}, torch::requires_grad());
    const auto w = torch::full({}, 1.0001F);
    for (auto _ : state) {
        auto y = x;
        for (int i = 0; i < wl::kChainOps; ++i) y = y * w;
        y.backward();
        benchmark::DoNotOptimize(x.grad().item<float>());
        x.mutable_grad().reset();
    }
}

void linear4096(benchmark::State& state) {
    const auto n = std::int64_t(wl::kLinearFeatures), m = std::int64_t(wl::kLinearBatch);
    auto x = make({m, n}, 1.0F, 1, true);
    auto w = make({n, n}, 0.015F, 2, true);
    auto b = make({n}, 0.015F, 3, true);
    const auto seed = make({m, n}, 1.0F, 4);
    for (auto _ : state) {
        torch::linear(x, w, b).backward(seed);
        benchmark::DoNotOptimize(w.grad().data_ptr());
        for (auto* t : {&x, &w, &b}) t->mutable_grad().reset();
    }
}

/// `run` at `threads` OpenBLAS threads (LibTorch's products go to OpenBLAS), then back at 2.
void with_blas_threads(benchmark::State& state, int threads, void (*run)(benchmark::State&)) {
    openblas_set_num_threads(threads);
    run(state);
    openblas_set_num_threads(2);
}

std::vector<std::int64_t> sizes(const std::vector<std::size_t>& shape) {
    return std::vector<std::int64_t>(shape.begin(), shape.end());
}

void matmul_4d(benchmark::State& state) {
    auto a = make(sizes(wl::kBmmA), 1.0F, 1, true);
    auto b = make(sizes(wl::kBmmB), 1.0F, 2, true);
    const auto seed = make(sizes({wl::kBmmA[0], wl::kBmmA[1], wl::kBmmA[2], wl::kBmmB[3]}), 1.0F, 3);
    for (auto _ : state) {
        torch::matmul(a, b).backward(seed);
        benchmark::DoNotOptimize(b.grad().data_ptr());
        for (auto* t : {&a, &b}) t->mutable_grad().reset();
    }
}

void linear_3d(benchmark::State& state) {
    const auto n = std::int64_t(wl::kSeqFeatures);
    auto x = make({std::int64_t(wl::kSeqBatch), std::int64_t(wl::kSeqLen), n}, 1.0F, 1, true);
    auto w = make({n, n}, 0.04F, 2, true);
    auto b = make({n}, 0.04F, 3, true);
    const auto seed = make({std::int64_t(wl::kSeqBatch), std::int64_t(wl::kSeqLen), n}, 1.0F, 4);
    for (auto _ : state) {
        torch::linear(x, w, b).backward(seed);
        benchmark::DoNotOptimize(w.grad().data_ptr());
        for (auto* t : {&x, &w, &b}) t->mutable_grad().reset();
    }
}

template <class Fn>
void elementwise(benchmark::State& state, std::size_t n, Fn f) {
    const auto a = make({std::int64_t(n)}, 1.0F, 1);
    const auto b = make({std::int64_t(n)}, 1.0F, 2);
    torch::NoGradGuard no_grad;
    for (auto _ : state) benchmark::DoNotOptimize(f(a, b).data_ptr());
}

void softmax_xent(benchmark::State& state, wl::XentSize s) {
    auto logits = make({std::int64_t(s.batch), std::int64_t(s.classes)}, 3.0F, 1, true);
    const auto y = labels(s.batch, s.classes);
    for (auto _ : state) {
        F::cross_entropy(logits, y).backward();
        benchmark::DoNotOptimize(logits.grad().data_ptr());
        logits.mutable_grad().reset();
    }
}

}  // namespace

int main(int argc, char** argv) {
    torch::set_num_threads(1);
    for (auto batch : wl::kMlpBatches) {
        for (int threads : {1, 2}) {
            const auto name = wl::mlp_name(batch) + "/blas" + std::to_string(threads);
            benchmark::RegisterBenchmark(name.c_str(), mlp_step, batch, threads);
        }
    }
    benchmark::RegisterBenchmark("op_overhead_x100", op_overhead);
    benchmark::RegisterBenchmark("linear4096_b512", linear4096)->Unit(benchmark::kMillisecond);
    for (int threads : {1, 2}) {
        const auto blas = "/blas" + std::to_string(threads);
        benchmark::RegisterBenchmark((wl::kBmmName + blas).c_str(), with_blas_threads, threads, matmul_4d)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((wl::kSeqLinearName + blas).c_str(), with_blas_threads, threads, linear_3d)
            ->Unit(benchmark::kMillisecond);
    }
    for (auto n : wl::kElementwiseSizes) {
        const auto suffix = "/" + std::to_string(n);
        auto add = [](const torch::Tensor& a, const torch::Tensor& b) { return a + b; };
        auto relu = [](const torch::Tensor& a, const torch::Tensor&) { return torch::relu(a); };
        auto exp = [](const torch::Tensor& a, const torch::Tensor&) { return torch::exp(a); };
        benchmark::RegisterBenchmark(("add" + suffix).c_str(), elementwise<decltype(add)>, n, add);
        benchmark::RegisterBenchmark(("relu" + suffix).c_str(), elementwise<decltype(relu)>, n, relu);
        benchmark::RegisterBenchmark(("exp" + suffix).c_str(), elementwise<decltype(exp)>, n, exp);
    }
    for (auto s : wl::kXentSizes) benchmark::RegisterBenchmark(wl::xent_name(s).c_str(), softmax_xent, s);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}
