// LibTorch's side of the side-by-side benchmarks (see workloads.hpp): 1 intra-op thread (its
// best setting on 2 cores); MLP rows at 1 and 2 OpenBLAS threads ("/blas1", "/blas2").
#include <ATen/Context.h>
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <torch/torch.h>

#include "libtorch_fashion_models.hpp"
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

void where_step(benchmark::State& state) {
    const auto n = std::int64_t(wl::kWhereSize);
    auto a = make({n, n}, 1.0F, 1, true);
    auto b = make({n, n}, 1.0F, 2, true);
    const auto seed = make({n, n}, 1.0F, 3);
    const auto mask = make({n, n}, 1.0F, wl::kWhereMaskSeed) > 0;
    for (auto _ : state) {
        torch::where(mask, a, b).backward(seed);
        benchmark::DoNotOptimize(b.grad().data_ptr());
        for (auto* t : {&a, &b}) t->mutable_grad().reset();
    }
}

// As tapegrad_bench.cpp's lookup: index_select of rows or gather of elements, forward + backward.
template <class Fn>
void lookup(benchmark::State& state, std::size_t index_cols, Fn f) {
    auto table = make({std::int64_t(wl::kTableRows), std::int64_t(wl::kTableCols)}, 1.0F, 1, true);
    auto ids = wl::token_ids(wl::kLookups * index_cols, wl::kTableRows);
    auto idx = torch::from_blob(ids.data(), {std::int64_t(ids.size())}, torch::kInt64).clone();
    if (index_cols > 1) idx = idx.reshape({std::int64_t(wl::kLookups), std::int64_t(index_cols)});
    const auto seed = make({std::int64_t(wl::kLookups), std::int64_t(wl::kTableCols)}, 1.0F, 2);
    for (auto _ : state) {
        f(table, idx).backward(seed);
        benchmark::DoNotOptimize(table.grad().data_ptr());
        table.mutable_grad().reset();
    }
}

void norm2(benchmark::State& state) {
    auto x = make({std::int64_t(wl::kReduceRows), std::int64_t(wl::kReduceCols)}, 1.0F, 1, true);
    for (auto _ : state) {
        torch::linalg::vector_norm(x, 2, c10::nullopt, false, c10::nullopt).backward();
        benchmark::DoNotOptimize(x.grad().data_ptr());
        x.mutable_grad().reset();
    }
}

void var_dim1(benchmark::State& state) {
    auto x = make({std::int64_t(wl::kReduceRows), std::int64_t(wl::kReduceCols)}, 1.0F, 1, true);
    const auto seed = make({std::int64_t(wl::kReduceRows)}, 1.0F, 2);
    for (auto _ : state) {
        torch::var(x, {1}, /*unbiased=*/true).backward(seed);
        benchmark::DoNotOptimize(x.grad().data_ptr());
        x.mutable_grad().reset();
    }
}

// LibTorch 1.13's private at::_scaled_dot_product_attention (its math path, composed as the
// Python function is; the public F.scaled_dot_product_attention came in 2.0).
void sdpa_causal(benchmark::State& state) {
    const std::vector<std::int64_t> shape = {std::int64_t(wl::kSdpaBatch), std::int64_t(wl::kSdpaHeads),
                                             std::int64_t(wl::kSdpaLen), std::int64_t(wl::kSdpaDim)};
    auto q = make(shape, 1.0F, 1, true), k = make(shape, 1.0F, 2, true), v = make(shape, 1.0F, 3, true);
    const auto seed = make(shape, 1.0F, 4);
    for (auto _ : state) {
        std::get<0>(at::_scaled_dot_product_attention(q, k, v, {}, 0.0, false, true)).backward(seed);
        benchmark::DoNotOptimize(q.grad().data_ptr());
        for (auto* t : {&q, &k, &v}) t->mutable_grad().reset();
    }
}

// Normalisation rows: x, weight and bias require grad; the running statistics are updated.
void normalization(benchmark::State& state, bool batch) {
    const std::int64_t rows = wl::kNormRows, cols = wl::kNormCols;
    auto x = make({rows, cols}, 1.0F, 1, true);
    auto weight = make({cols}, 1.0F, 2, true), bias = make({cols}, 1.0F, 3, true);
    const auto seed = make({rows, cols}, 1.0F, 4);
    auto running_mean = torch::zeros({cols}), running_var = torch::ones({cols});
    for (auto _ : state) {
        const auto y = batch ? torch::batch_norm(x, weight, bias, running_mean, running_var, true, 0.1, 1e-5, false)
                             : torch::layer_norm(x, {cols}, weight, bias, 1e-5, false);
        y.backward(seed);
        benchmark::DoNotOptimize(x.grad().data_ptr());
        for (auto* t : {&x, &weight, &bias}) t->mutable_grad().reset();
    }
}

// LibTorch 1.13's MultiheadAttention has no batch_first: the input is transposed to [L, N, E] and
// the output back (views).
void mha_self(benchmark::State& state) {
    torch::nn::MultiheadAttention mha(std::int64_t(wl::kMhaEmbed), std::int64_t(wl::kMhaHeads));
    const std::vector<std::int64_t> shape = {std::int64_t(wl::kMhaBatch), std::int64_t(wl::kMhaLen),
                                             std::int64_t(wl::kMhaEmbed)};
    auto x = make(shape, 1.0F, 1, true);
    const auto seed = make(shape, 1.0F, 2);
    for (auto _ : state) {
        const auto seq = x.transpose(0, 1);
        std::get<0>(mha->forward(seq, seq, seq, {}, false)).transpose(0, 1).backward(seed);
        benchmark::DoNotOptimize(x.grad().data_ptr());
        x.mutable_grad().reset();
        mha->zero_grad();
    }
}

// torch::nn::LSTM / GRU over the sequence, forward and backward from a seed on the output sequence.
template <class Layer, class Options>
void recurrent(benchmark::State& state) {
    Layer layer(Options(wl::kRnnInput, wl::kRnnHidden));
    std::uint64_t k = 10;
    for (auto& p : layer->parameters()) {
        torch::NoGradGuard no_grad;
        p.copy_(make(p.sizes().vec(), wl::kRnnScale, k++));
    }
    const auto x = make({std::int64_t(wl::kRnnLen), std::int64_t(wl::kRnnBatch), std::int64_t(wl::kRnnInput)}, 1.0F, 1);
    const auto seed =
        make({std::int64_t(wl::kRnnLen), std::int64_t(wl::kRnnBatch), std::int64_t(wl::kRnnHidden)}, 1.0F, 2);
    for (auto _ : state) {
        std::get<0>(layer->forward(x)).backward(seed);
        benchmark::DoNotOptimize(layer->parameters()[0].grad().data_ptr());
        layer->zero_grad(/*set_to_none=*/true);
    }
}

void lstm(benchmark::State& state) {
    recurrent<torch::nn::LSTM, torch::nn::LSTMOptions>(state);
}
void gru(benchmark::State& state) {
    recurrent<torch::nn::GRU, torch::nn::GRUOptions>(state);
}

// As tapegrad_bench.cpp's embedding and dropout rows (torch::manual_seed(0) once for the masks).
void embedding_step(benchmark::State& state) {
    auto table = make({std::int64_t(wl::kEmbedVocab), std::int64_t(wl::kEmbedDim)}, 1.0F, 1, true);
    auto ids = wl::token_ids(wl::kEmbedBatch * wl::kEmbedSeq, wl::kEmbedVocab);
    const auto idx =
        torch::from_blob(ids.data(), {std::int64_t(wl::kEmbedBatch), std::int64_t(wl::kEmbedSeq)}, torch::kInt64)
            .clone();
    const auto seed =
        make({std::int64_t(wl::kEmbedBatch), std::int64_t(wl::kEmbedSeq), std::int64_t(wl::kEmbedDim)}, 1.0F, 2);
    for (auto _ : state) {
        torch::embedding(table, idx).backward(seed);
        benchmark::DoNotOptimize(table.grad().data_ptr());
        table.mutable_grad().reset();
    }
}

void dropout_step(benchmark::State& state) {
    auto x = make({std::int64_t(wl::kDropoutRows), std::int64_t(wl::kDropoutCols)}, 1.0F, 1, true);
    const auto seed = make({std::int64_t(wl::kDropoutRows), std::int64_t(wl::kDropoutCols)}, 1.0F, 2);
    torch::manual_seed(0);
    for (auto _ : state) {
        torch::dropout(x, wl::kDropoutP, true).backward(seed);
        benchmark::DoNotOptimize(x.grad().data_ptr());
        x.mutable_grad().reset();
    }
}

// max_pool2d 2x2: x requires grad, the gradient seed uniform.
void max_pool(benchmark::State& state) {
    const std::int64_t n = wl::kPoolBatch, c = wl::kPoolChannels, size = wl::kPoolSize;
    auto x = make({n, c, size, size}, 1.0F, 1, true);
    const auto seed = make({n, c, size / 2, size / 2}, 1.0F, 2);
    for (auto _ : state) {
        torch::max_pool2d(x, {2, 2}).backward(seed);
        benchmark::DoNotOptimize(x.grad().data_ptr());
        x.mutable_grad().reset();
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
    benchmark::RegisterBenchmark(wl::kWhereName.c_str(), where_step);
    auto select_rows = [](const torch::Tensor& t, const torch::Tensor& i) { return torch::index_select(t, 0, i); };
    auto gather_elements = [](const torch::Tensor& t, const torch::Tensor& i) { return torch::gather(t, 0, i); };
    benchmark::RegisterBenchmark(wl::kIndexSelectName.c_str(), lookup<decltype(select_rows)>, std::size_t(1),
                                 select_rows);
    benchmark::RegisterBenchmark(wl::kGatherName.c_str(), lookup<decltype(gather_elements)>, wl::kTableCols,
                                 gather_elements);
    benchmark::RegisterBenchmark(wl::reduce_name("norm2").c_str(), norm2);
    benchmark::RegisterBenchmark(wl::reduce_name("var_dim1").c_str(), var_dim1);
    benchmark::RegisterBenchmark(wl::kEmbeddingName.c_str(), embedding_step);
    benchmark::RegisterBenchmark(wl::kDropoutName.c_str(), dropout_step);
    benchmark::RegisterBenchmark(wl::kSdpaName.c_str(), sdpa_causal)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(wl::kMhaName.c_str(), mha_self)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(wl::kLayerNormName.c_str(), normalization, false)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(wl::kBatchNormName.c_str(), normalization, true)->Unit(benchmark::kMillisecond);
    for (int threads : {1, 2}) {
        const auto blas = "/blas" + std::to_string(threads);
        benchmark::RegisterBenchmark((wl::rnn_name("lstm") + blas).c_str(), with_blas_threads, threads, lstm)
            ->Unit(benchmark::kMillisecond);
        benchmark::RegisterBenchmark((wl::rnn_name("gru") + blas).c_str(), with_blas_threads, threads, gru)
            ->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark(wl::kMaxPoolName.c_str(), max_pool)->Unit(benchmark::kMillisecond);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}

namespace {

// Convolution rows, as tapegrad's. LibTorch 1.13 picks oneDNN (mkldnn) for these float32 shapes by
// default; the "/native" variants turn it off (at::globalContext().setUserEnabledMkldnn(false)) to
// time ATen's own im2col + BLAS kernel (slow_conv2d) too. tapegrad splits a convolution over both
// cores, so each path also runs at 2 intra-op threads ("/intra2", "/native-intra2"); the report keeps
// the fastest of the four.
void conv2d_step(benchmark::State& state, const wl::ConvRow& r, bool mkldnn, int intra_op) {
    const auto n = std::int64_t(r.batch), c = std::int64_t(r.in_channels), o = std::int64_t(r.out_channels);
    const auto s = std::int64_t(r.size), groups = std::int64_t(r.groups);
    auto x = make({n, c, s, s}, 1.0F, 1, true);
    auto weight = make({o, c / groups, 3, 3}, r.weight_scale, 2, true);
    auto bias = r.bias ? make({o}, 0.1F, 3, true) : torch::Tensor();
    const auto seed = make({n, o, s, s}, 1.0F, 4);
    const bool was = at::globalContext().userEnabledMkldnn();
    at::globalContext().setUserEnabledMkldnn(mkldnn);
    torch::set_num_threads(intra_op);
    for (auto _ : state) {
        torch::conv2d(x, weight, bias, 1, 1, 1, groups).backward(seed);
        benchmark::DoNotOptimize(x.grad().data_ptr());
        x.mutable_grad().reset();
        weight.mutable_grad().reset();
        if (r.bias) bias.mutable_grad().reset();
    }
    at::globalContext().setUserEnabledMkldnn(was);
    torch::set_num_threads(1);
    state.counters["GFLOP/s"] = benchmark::Counter(r.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

const bool conv_rows_registered = [] {
    for (const auto& r : wl::conv_rows()) {
        for (const auto& [variant, mkldnn, intra] :
             {std::tuple{"", true, 1}, {"/native", false, 1}, {"/intra2", true, 2}, {"/native-intra2", false, 2}}) {
            benchmark::RegisterBenchmark((r.name + variant).c_str(), conv2d_step, r, mkldnn, intra)
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
        }
    }
    return true;
}();

}  // namespace

namespace {

// The whole CNN step, as tapegrad's (the same layers, bench/libtorch_fashion_models.hpp), at 1 and
// 2 OpenBLAS threads with 1 intra-op thread, and at 2 intra-op threads ("/intra2", OpenBLAS 1).
void cnn_step(benchmark::State& state, int blas_threads, int intra_op) {
    openblas_set_num_threads(blas_threads);
    torch::set_num_threads(intra_op);
    torch::manual_seed(0);
    torch::nn::Sequential model = libtorch_fashion::build_model("cnn");
    torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3).weight_decay(1e-4));
    const auto x = make({std::int64_t(wl::kCnnStepBatch), 28 * 28}, 1.0F, 1);
    const auto y = labels(wl::kCnnStepBatch, wl::kClasses);
    for (auto _ : state) {
        adam.zero_grad();
        const auto loss = F::cross_entropy(model->forward(x), y);
        loss.backward();
        adam.step();
        benchmark::DoNotOptimize(loss.item<float>());
    }
    openblas_set_num_threads(2);
    torch::set_num_threads(1);
}

const bool cnn_step_registered = [] {
    for (const auto& [variant, blas, intra] : {std::tuple{"/blas1", 1, 1}, {"/blas2", 2, 1}, {"/intra2", 1, 2}})
        benchmark::RegisterBenchmark((wl::kCnnStepName + variant).c_str(), cnn_step, blas, intra)
            ->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace

namespace {

// The deep MLP's plain step (workloads.hpp), the reference for tapegrad's plain and checkpointed
// rows: 2 OpenBLAS threads and 1 intra-op thread, as the other default rows.
void deep_mlp_step(benchmark::State& state) {
    torch::manual_seed(0);
    torch::nn::Sequential model;
    for (std::size_t l = 0; l < wl::kDeepLayers; ++l) {
        model->push_back(torch::nn::Linear(wl::kDeepWidth, wl::kDeepWidth));
        model->push_back(torch::nn::ReLU());
    }
    const auto x = make({std::int64_t(wl::kDeepBatch), std::int64_t(wl::kDeepWidth)}, 1.0F, 1);
    for (auto _ : state) {
        model->zero_grad(/*set_to_none=*/true);  // as tapegrad's zero_grad
        const auto loss = model->forward(x).square().mean();
        loss.backward();
        benchmark::DoNotOptimize(loss.item<float>());
    }
}

const bool deep_mlp_registered = [] {
    benchmark::RegisterBenchmark(wl::kDeepMlpName.c_str(), deep_mlp_step)->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace

namespace {

// The per-sample rows of tapegrad_bench (the Fashion-MNIST MLP, batch 128, per-sample losses):
// one batched backward (torch::autograd::grad of the summed losses), and what a LibTorch C++
// user writes for per-sample gradients, having no vmap: for each sample its forward, its
// backward and the gradients copied into [B, *param.shape] results (allocated per call, as
// tapegrad's per_sample_grads returns new ones).
void per_sample_step(benchmark::State& state, bool loop) {
    constexpr std::int64_t batch = 128;
    torch::manual_seed(0);
    torch::nn::Sequential model = libtorch_fashion::build_model("mlp");
    const auto x = make({batch, std::int64_t(wl::kIn)}, 1.0F, 1);
    const auto y = labels(batch, wl::kClasses);
    const auto params = model->parameters();
    for (auto _ : state) {
        if (!loop) {
            const auto loss =
                F::cross_entropy(model->forward(x), y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
            benchmark::DoNotOptimize(torch::autograd::grad({loss.sum()}, params));
            continue;
        }
        std::vector<torch::Tensor> out;
        for (const auto& p : params) {
            std::vector<std::int64_t> shape{batch};
            shape.insert(shape.end(), p.sizes().begin(), p.sizes().end());
            out.push_back(torch::empty(shape));
        }
        for (std::int64_t i = 0; i < batch; ++i) {
            const auto loss = F::cross_entropy(model->forward(x.slice(0, i, i + 1)), y.slice(0, i, i + 1),
                                               F::CrossEntropyFuncOptions().reduction(torch::kNone));
            const auto grads = torch::autograd::grad({loss.sum()}, params);
            for (std::size_t k = 0; k < grads.size(); ++k) out[k][i].copy_(grads[k]);
        }
        benchmark::DoNotOptimize(out);
    }
}

const bool per_sample_registered = [] {
    benchmark::RegisterBenchmark("per_sample/128/batched_backward", per_sample_step, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("per_sample/128/loop_over_samples", per_sample_step, true)
        ->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace
