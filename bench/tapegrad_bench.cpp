// tapegrad's side of the side-by-side benchmarks (see workloads.hpp), with default settings.
#include <benchmark/benchmark.h>

#include <tapegrad/autograd/anomaly.hpp>
#include <tapegrad/nn/attention.hpp>
#include <tapegrad/nn/recurrent.hpp>
#include "model.hpp"  // examples/fashion_mnist
#include "tapegrad_mlp.hpp"

namespace tg = tapegrad;
namespace wl = workloads;
using tgbench::make;

namespace {

// `anomaly`: the same workload inside a DetectAnomalyGuard, so that the plain rows (anomaly
// mode off) and these ("+anomaly") show what the mode costs off and on.

void mlp_step(benchmark::State& state, std::size_t batch, bool anomaly) {
    tg::DetectAnomalyGuard detect(anomaly);
    tgbench::Mlp mlp;
    const tg::TensorF x = make({batch, wl::kIn}, 1.0F, 1);
    const tg::Labels y(wl::labels(batch, wl::kClasses));
    for (auto _ : state) benchmark::DoNotOptimize(mlp.step(x, y));
}

void op_overhead(benchmark::State& state, bool anomaly) {
    tg::DetectAnomalyGuard detect(anomaly);
    tg::TensorF x(1.0F, true);
    const tg::TensorF w(1.0001F);
    for (auto _ : state) {
        tg::TensorF y = x;
        for (int i = 0; i < wl::kChainOps; ++i) y = tg::mul(y, w);
        y.backward();
        benchmark::DoNotOptimize(x.grad().item());
        x.zero_grad();
    }
}

void linear4096(benchmark::State& state) {
    const std::size_t n = wl::kLinearFeatures;
    const tg::TensorF x = make({wl::kLinearBatch, n}, 1.0F, 1, true);
    tg::TensorF w = make({n, n}, 0.015F, 2, true);
    tg::TensorF b = make({n}, 0.015F, 3, true);
    const tg::TensorF seed = make({wl::kLinearBatch, n}, 1.0F, 4);
    for (auto _ : state) {
        tg::linear(x, w, b).backward(seed);
        benchmark::DoNotOptimize(w.grad().value().data());
        for (auto t : {x, w, b}) t.zero_grad();
    }
}

void matmul_4d(benchmark::State& state) {
    const tg::TensorF a = make(tg::Shape(wl::kBmmA.begin(), wl::kBmmA.end()), 1.0F, 1, true);
    const tg::TensorF b = make(tg::Shape(wl::kBmmB.begin(), wl::kBmmB.end()), 1.0F, 2, true);
    const tg::TensorF seed = make({wl::kBmmA[0], wl::kBmmA[1], wl::kBmmA[2], wl::kBmmB[3]}, 1.0F, 3);
    for (auto _ : state) {
        tg::matmul(a, b).backward(seed);
        benchmark::DoNotOptimize(b.grad().value().data());
        for (auto t : {a, b}) t.zero_grad();
    }
}

void linear_3d(benchmark::State& state) {
    const std::size_t n = wl::kSeqFeatures;
    const tg::TensorF x = make({wl::kSeqBatch, wl::kSeqLen, n}, 1.0F, 1, true);
    const tg::TensorF w = make({n, n}, 0.04F, 2, true);
    const tg::TensorF b = make({n}, 0.04F, 3, true);
    const tg::TensorF seed = make({wl::kSeqBatch, wl::kSeqLen, n}, 1.0F, 4);
    for (auto _ : state) {
        tg::linear(x, w, b).backward(seed);
        benchmark::DoNotOptimize(w.grad().value().data());
        for (auto t : {x, w, b}) t.zero_grad();
    }
}

template <class F>
void elementwise(benchmark::State& state, std::size_t n, F f) {
    const tg::TensorF a = make({n}, 1.0F, 1);
    const tg::TensorF b = make({n}, 1.0F, 2);
    tg::NoGradGuard no_grad;
    for (auto _ : state) benchmark::DoNotOptimize(f(a, b).value().data());
}

void softmax_xent(benchmark::State& state, wl::XentSize s) {
    tg::TensorF logits = make({s.batch, s.classes}, 3.0F, 1, true);
    const tg::Labels y(wl::labels(s.batch, s.classes));
    for (auto _ : state) {
        tg::cross_entropy(logits, y).backward();
        benchmark::DoNotOptimize(logits.grad().value().data());
        logits.zero_grad();
    }
}

void where_step(benchmark::State& state) {
    const std::size_t n = wl::kWhereSize;
    const tg::TensorF a = make({n, n}, 1.0F, 1, true);
    const tg::TensorF b = make({n, n}, 1.0F, 2, true);
    const tg::TensorF seed = make({n, n}, 1.0F, 3);
    const tg::Mask mask = make({n, n}, 1.0F, wl::kWhereMaskSeed) > 0.0F;
    for (auto _ : state) {
        tg::where(mask, a, b).backward(seed);
        benchmark::DoNotOptimize(b.grad().value().data());
        for (auto t : {a, b}) t.zero_grad();
    }
}

// An embedding table's lookup and its gradient (a scatter-add into zeros): index_select of whole
// rows, or gather of single elements with a [kLookups, kTableCols] index.
template <class F>
void lookup(benchmark::State& state, std::size_t index_cols, F f) {
    tg::TensorF table = make({wl::kTableRows, wl::kTableCols}, 1.0F, 1, true);
    tg::Indices idx(wl::token_ids(wl::kLookups * index_cols, wl::kTableRows));
    if (index_cols > 1) idx.mutable_value().reshape({wl::kLookups, index_cols});
    const tg::TensorF seed = make({wl::kLookups, wl::kTableCols}, 1.0F, 2);
    for (auto _ : state) {
        f(table, idx).backward(seed);
        benchmark::DoNotOptimize(table.grad().value().data());
        table.zero_grad();
    }
}

// The reduction rows: forward and backward, the gradient taken from x.grad() as the others do.
void norm2(benchmark::State& state) {
    tg::TensorF x = make({wl::kReduceRows, wl::kReduceCols}, 1.0F, 1, true);
    for (auto _ : state) {
        tg::norm(x).backward();
        benchmark::DoNotOptimize(x.grad().value().data());
        x.zero_grad();
    }
}

void var_dim1(benchmark::State& state) {
    tg::TensorF x = make({wl::kReduceRows, wl::kReduceCols}, 1.0F, 1, true);
    const tg::TensorF seed = make({wl::kReduceRows}, 1.0F, 2);
    for (auto _ : state) {
        tg::var(x, {1}).backward(seed);
        benchmark::DoNotOptimize(x.grad().value().data());
        x.zero_grad();
    }
}

void sdpa_causal(benchmark::State& state) {
    const tg::Shape shape = {wl::kSdpaBatch, wl::kSdpaHeads, wl::kSdpaLen, wl::kSdpaDim};
    const tg::TensorF q = make(shape, 1.0F, 1, true), k = make(shape, 1.0F, 2, true), v = make(shape, 1.0F, 3, true);
    const tg::TensorF seed = make(shape, 1.0F, 4);
    for (auto _ : state) {
        tg::scaled_dot_product_attention(q, k, v, {}, true).backward(seed);
        benchmark::DoNotOptimize(q.grad().value().data());
        for (auto t : {q, k, v}) t.zero_grad();
    }
}

void mha_self(benchmark::State& state) {
    tg::Generator gen(1);
    tg::nn::MultiheadAttention<float> mha(wl::kMhaEmbed, wl::kMhaHeads, gen, 0, true, true);
    const tg::Shape shape = {wl::kMhaBatch, wl::kMhaLen, wl::kMhaEmbed};
    tg::TensorF x = make(shape, 1.0F, 1, true);
    const tg::TensorF seed = make(shape, 1.0F, 2);
    for (auto _ : state) {
        mha.forward(x, x, x, {.need_weights = false}).output.backward(seed);
        benchmark::DoNotOptimize(x.grad().value().data());
        x.zero_grad();
        mha.zero_grad();
    }
}

// A recurrent layer over the sequence, forward and backward from a seed on its output sequence.
template <class Layer>
void recurrent(benchmark::State& state) {
    tg::Generator gen(0);
    Layer layer(wl::kRnnInput, wl::kRnnHidden, gen);
    std::uint64_t k = 10;
    for (auto& p : layer.parameters()) p.mutable_value() = make(p.shape(), wl::kRnnScale, k++).value();
    const tg::TensorF x = make({wl::kRnnLen, wl::kRnnBatch, wl::kRnnInput}, 1.0F, 1);
    const tg::TensorF seed = make({wl::kRnnLen, wl::kRnnBatch, wl::kRnnHidden}, 1.0F, 2);
    for (auto _ : state) {
        layer.forward(x, {}).output.backward(seed);
        benchmark::DoNotOptimize(layer.parameters()[0].grad().value().data());
        layer.zero_grad();
    }
}

// The embedding lookup and dropout rows: forward and backward, the gradient seeded with uniform values.
void embedding_step(benchmark::State& state) {
    tg::TensorF table = make({wl::kEmbedVocab, wl::kEmbedDim}, 1.0F, 1, true);
    tg::Indices ids(wl::token_ids(wl::kEmbedBatch * wl::kEmbedSeq, wl::kEmbedVocab));
    ids.mutable_value().reshape({wl::kEmbedBatch, wl::kEmbedSeq});
    const tg::TensorF seed = make({wl::kEmbedBatch, wl::kEmbedSeq, wl::kEmbedDim}, 1.0F, 2);
    for (auto _ : state) {
        tg::embedding(ids, table).backward(seed);
        benchmark::DoNotOptimize(table.grad().value().data());
        table.zero_grad();
    }
}

void dropout_step(benchmark::State& state) {
    tg::TensorF x = make({wl::kDropoutRows, wl::kDropoutCols}, 1.0F, 1, true);
    const tg::TensorF seed = make({wl::kDropoutRows, wl::kDropoutCols}, 1.0F, 2);
    tg::Generator gen(0);
    for (auto _ : state) {
        tg::dropout(x, wl::kDropoutP, true, gen).backward(seed);
        benchmark::DoNotOptimize(x.grad().value().data());
        x.zero_grad();
    }
}

// Normalisation rows: x, weight and bias require grad; the running statistics are updated.
void normalization(benchmark::State& state, bool batch) {
    tg::TensorF x = make({wl::kNormRows, wl::kNormCols}, 1.0F, 1, true);
    tg::TensorF weight = make({wl::kNormCols}, 1.0F, 2, true), bias = make({wl::kNormCols}, 1.0F, 3, true);
    const tg::TensorF seed = make({wl::kNormRows, wl::kNormCols}, 1.0F, 4);
    const tg::TensorF running_mean = tg::zeros<float>({wl::kNormCols}), running_var = tg::ones<float>({wl::kNormCols});
    for (auto _ : state) {
        const auto y = batch ? tg::batch_norm(x, running_mean, running_var, weight, bias, true)
                             : tg::layer_norm(x, {std::int64_t(wl::kNormCols)}, weight, bias);
        y.backward(seed);
        benchmark::DoNotOptimize(x.grad().value().data());
        for (auto* t : {&x, &weight, &bias}) t->zero_grad();
    }
}

// max_pool2d 2x2: x requires grad, the gradient seed uniform.
void max_pool(benchmark::State& state) {
    const tg::Shape shape = {wl::kPoolBatch, wl::kPoolChannels, wl::kPoolSize, wl::kPoolSize};
    tg::TensorF x = make(shape, 1.0F, 1, true);
    const tg::TensorF seed = make({wl::kPoolBatch, wl::kPoolChannels, wl::kPoolSize / 2, wl::kPoolSize / 2}, 1.0F, 2);
    for (auto _ : state) {
        tg::max_pool2d(x, 2).backward(seed);
        benchmark::DoNotOptimize(x.grad().value().data());
        x.zero_grad();
    }
}

}  // namespace

int main(int argc, char** argv) {
    for (auto batch : wl::kMlpBatches)
        benchmark::RegisterBenchmark(wl::mlp_name(batch).c_str(), mlp_step, batch, false);
    benchmark::RegisterBenchmark("op_overhead_x100", op_overhead, false);
    benchmark::RegisterBenchmark("op_overhead_x100+anomaly", op_overhead, true);
    benchmark::RegisterBenchmark("mlp_step/32+anomaly", mlp_step, std::size_t(32), true);
    benchmark::RegisterBenchmark("linear4096_b512", linear4096)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(wl::kBmmName.c_str(), matmul_4d)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(wl::kSeqLinearName.c_str(), linear_3d)->Unit(benchmark::kMillisecond);
    for (auto n : wl::kElementwiseSizes) {
        const auto suffix = "/" + std::to_string(n);
        benchmark::RegisterBenchmark(("add" + suffix).c_str(), elementwise<decltype(&tg::add<float>)>, n,
                                     &tg::add<float>);
        auto relu = [](const tg::TensorF& a, const tg::TensorF&) { return tg::relu(a); };
        auto exp = [](const tg::TensorF& a, const tg::TensorF&) { return tg::exp(a); };
        benchmark::RegisterBenchmark(("relu" + suffix).c_str(), elementwise<decltype(relu)>, n, relu);
        benchmark::RegisterBenchmark(("exp" + suffix).c_str(), elementwise<decltype(exp)>, n, exp);
    }
    for (auto s : wl::kXentSizes) benchmark::RegisterBenchmark(wl::xent_name(s).c_str(), softmax_xent, s);
    benchmark::RegisterBenchmark(wl::kWhereName.c_str(), where_step);
    auto select_rows = [](const tg::TensorF& t, const tg::Indices& i) { return tg::index_select(t, 0, i); };
    auto gather_elements = [](const tg::TensorF& t, const tg::Indices& i) { return tg::gather(t, 0, i); };
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
    benchmark::RegisterBenchmark(wl::rnn_name("lstm").c_str(), recurrent<tg::nn::LSTM<float>>)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(wl::rnn_name("gru").c_str(), recurrent<tg::nn::GRU<float>>)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(wl::kMaxPoolName.c_str(), max_pool)->Unit(benchmark::kMillisecond);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
}

namespace {

// Convolution rows (workloads::conv_rows): x, weight and the bias (if any) require grad. GFLOP/s over
// wall-clock time (the row's threads all count).
void conv2d_step(benchmark::State& state, const wl::ConvRow& r) {
    tg::TensorF x = make({r.batch, r.in_channels, r.size, r.size}, 1.0F, 1, true);
    tg::TensorF weight = make({r.out_channels, r.in_channels / r.groups, 3, 3}, r.weight_scale, 2, true);
    tg::TensorF bias = r.bias ? make({r.out_channels}, 0.1F, 3, true) : tg::TensorF();
    const tg::TensorF seed = make({r.batch, r.out_channels, r.size, r.size}, 1.0F, 4);
    for (auto _ : state) {
        tg::conv2d(x, weight, bias, 1, 1, 1, std::int64_t(r.groups)).backward(seed);
        benchmark::DoNotOptimize(x.grad().value().data());
        x.zero_grad();
        weight.zero_grad();
        if (r.bias) bias.zero_grad();
    }
    state.counters["GFLOP/s"] = benchmark::Counter(r.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

const bool conv_rows_registered = [] {
    for (const auto& r : wl::conv_rows()) {
        benchmark::RegisterBenchmark(r.name.c_str(), conv2d_step, r)->Unit(benchmark::kMillisecond)->UseRealTime();
    }
    return true;
}();

}  // namespace

namespace {

// The whole CNN step (workloads.hpp), the model from examples/fashion_mnist/model.hpp.
void cnn_step(benchmark::State& state) {
    tg::Generator gen(0);
    tg::nn::Sequential<float> model = fashion::cnn(gen);
    tg::optim::Adam<float> adam(model.parameters(), {.lr = 1e-3, .weight_decay = 1e-4});
    const tg::TensorF x = make({wl::kCnnStepBatch, 28 * 28}, 1.0F, 1);
    const tg::Labels y(wl::labels(wl::kCnnStepBatch, wl::kClasses));
    for (auto _ : state) {
        adam.zero_grad();
        const tg::TensorF loss = tg::cross_entropy(model(x), y);
        loss.backward();
        adam.step();
        benchmark::DoNotOptimize(loss.item());
    }
}

const bool cnn_step_registered = [] {
    benchmark::RegisterBenchmark(wl::kCnnStepName.c_str(), cnn_step)->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace

namespace {

// Gradient checkpointing (workloads.hpp): the deep MLP's step plainly (segments 0) and in checkpointed
// segments. Counter "saved_MB": Tape::peak_saved_bytes() over the step, the most bytes of op outputs
// the graph held for the backward at once (parameters, gradients and temporaries not counted).
void deep_mlp_step(benchmark::State& state, std::size_t segments) {
    tg::Generator gen(0);
    tg::nn::Sequential<float> model;
    for (std::size_t l = 0; l < wl::kDeepLayers; ++l) {
        model.push_back(std::make_shared<tg::nn::Dense<float>>(wl::kDeepWidth, wl::kDeepWidth, gen));
        model.push_back(std::make_shared<tg::nn::ReLU<float>>());
    }
    model.set_checkpoint_segments(segments);
    const tg::TensorF x = make({wl::kDeepBatch, wl::kDeepWidth}, 1.0F, 1);
    auto& tape = tg::Tape::current();
    std::size_t peak = 0;
    for (auto _ : state) {
        model.zero_grad();
        tape.reset_peak_saved_bytes();
        const tg::TensorF loss = tg::mean(tg::square(model(x)));
        loss.backward();
        peak = std::max(peak, tape.peak_saved_bytes());
        benchmark::DoNotOptimize(loss.item());
    }
    state.counters["saved_MB"] = double(peak) * 1e-6;
}

const bool deep_mlp_registered = [] {
    for (std::size_t segments : {0, 4, 8}) {
        const std::string name = wl::kDeepMlpName + (segments ? "/ckpt" + std::to_string(segments) : "");
        benchmark::RegisterBenchmark(name.c_str(), deep_mlp_step, segments)->Unit(benchmark::kMillisecond);
    }
    return true;
}();

// Forward mode (tapegrad::fwad): the Fashion-MNIST MLP's forward (784-256-128-10, batch 32, grad
// mode off) plainly and as func::jvp in the direction of a random input tangent, whose ratio is what
// the tangents cost; and jacfwd against jacrev for a tall-thin function, tanh(W x) with x of n = 8
// elements and m = 512 outputs: n forward-mode runs of f against m backward passes.
void mlp_forward(benchmark::State& state, bool jvp) {
    tg::NoGradGuard no_grad;
    const tgbench::Mlp mlp;
    const tg::TensorF x = make({32, wl::kIn}, 1.0F, 1);
    const tg::TensorF v = make({32, wl::kIn}, 1.0F, 2);
    auto forward = [&p = mlp.params](const tg::TensorF& in) {
        return tg::linear(tg::relu(tg::linear(tg::relu(tg::linear(in, p[0], p[1])), p[2], p[3])), p[4], p[5]);
    };
    for (auto _ : state) {
        if (jvp) {
            benchmark::DoNotOptimize(tg::func::jvp(forward, x, v).jvps[0].value().data());
        } else {
            benchmark::DoNotOptimize(forward(x).value().data());
        }
    }
}

// The same for the Fashion-MNIST CNN (examples/fashion_mnist/model.hpp, batch 32, training mode:
// batch statistics and dropout masks), whose tangents go through convolutions, batch norm and
// max pooling.
void cnn_forward(benchmark::State& state, bool jvp) {
    tg::NoGradGuard no_grad;
    tg::Generator gen(0);
    tg::nn::Sequential<float> model = fashion::cnn(gen);
    const tg::TensorF x = make({32, 28 * 28}, 1.0F, 1);
    const tg::TensorF v = make({32, 28 * 28}, 1.0F, 2);
    auto forward = [&model](const tg::TensorF& in) { return model(in); };
    for (auto _ : state) {
        if (jvp) {
            benchmark::DoNotOptimize(tg::func::jvp(forward, x, v).jvps[0].value().data());
        } else {
            benchmark::DoNotOptimize(forward(x).value().data());
        }
    }
}

void tall_jacobian(benchmark::State& state, bool forward) {
    const tg::TensorF w = make({512, 8}, 0.5F, 3);
    const tg::TensorF x = make({8}, 1.0F, 4);
    auto f = [w](const tg::TensorF& in) { return tg::tanh(tg::matmul(w, in)); };
    for (auto _ : state) {
        const tg::TensorF j = forward ? tg::func::jacfwd(f)(x) : tg::func::jacrev(f)(x);
        benchmark::DoNotOptimize(j.value().data());
    }
}

const bool forward_mode_registered = [] {
    benchmark::RegisterBenchmark("mlp_forward/32", mlp_forward, false);
    benchmark::RegisterBenchmark("mlp_forward/32+jvp", mlp_forward, true);
    benchmark::RegisterBenchmark("cnn_forward/32", cnn_forward, false)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("cnn_forward/32+jvp", cnn_forward, true)->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark("jacobian_tall_8x512/jacfwd", tall_jacobian, true);
    benchmark::RegisterBenchmark("jacobian_tall_8x512/jacrev", tall_jacobian, false);
    return true;
}();

}  // namespace

namespace {

// Per-sample gradients on the Fashion-MNIST MLP (784-256-128-10, examples/fashion_mnist/model.hpp)
// at batch 128: the batched forward and backward they are measured against, per_sample_grads (one
// forward, one backward, a batched GEMM per Dense), per_sample_grad_norms (ghost norms) and the
// hand-rolled loop (each sample's forward and backward). Goals: grads at most 2x, norms 1.3x the batched.
enum class PerSample { batched, grads, norms, loop };

void per_sample_step(benchmark::State& state, PerSample what) {
    constexpr std::size_t batch = 128;
    tg::Generator gen(0);
    tg::nn::Sequential<float> model = fashion::build_model("mlp", 28 * 28, gen);
    const tg::TensorF x = make({batch, 28 * 28}, 1.0F, 1);
    const tg::Labels y(wl::labels(batch, wl::kClasses));
    const auto loss_fn = [](const tg::TensorF& logits, const tg::Labels& t) {
        return tg::cross_entropy(logits, t, tg::Reduction::None);
    };
    const auto params = model.parameters();
    // The rows before these in the same process (the 32-layer MLP's, say) leave the buffer pool full
    // of their own sizes, and a pool that is full frees what is returned to it: the 120 MB result would
    // then be mapped and page-faulted afresh at every call, which a program computing per-sample
    // gradients (whose pool holds its own sizes) does not pay. Each row starts with an empty pool.
    tg::release_cached_buffers();
    for (auto _ : state) {
        switch (what) {
            case PerSample::batched:
                benchmark::DoNotOptimize(tg::grad<float>({tg::sum(loss_fn(model(x), y))}, params));
                break;
            case PerSample::grads:
                benchmark::DoNotOptimize(tg::nn::per_sample_grads(model, loss_fn, x, y));
                break;
            case PerSample::norms:
                benchmark::DoNotOptimize(tg::nn::per_sample_grad_norms(model, loss_fn, x, y));
                break;
            case PerSample::loop:
                for (std::int64_t i = 0; i < static_cast<std::int64_t>(batch); ++i) {
                    const tg::Labels yi = tg::nn::detail::sample_rows(y, i, i + 1);
                    benchmark::DoNotOptimize(
                        tg::grad<float>({tg::sum(loss_fn(model(tg::slice(x, 0, i, i + 1)), yi))}, params));
                }
                break;
        }
    }
}

const bool per_sample_registered = [] {
    const std::pair<const char*, PerSample> rows[] = {{"per_sample/128/batched_backward", PerSample::batched},
                                                      {"per_sample/128/per_sample_grads", PerSample::grads},
                                                      {"per_sample/128/per_sample_grad_norms", PerSample::norms},
                                                      {"per_sample/128/loop_over_samples", PerSample::loop}};
    for (const auto& [name, what] : rows)
        benchmark::RegisterBenchmark(name, per_sample_step, what)->Unit(benchmark::kMillisecond);
    return true;
}();

}  // namespace
