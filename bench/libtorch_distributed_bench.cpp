// bench/distributed_bench.cpp's measurement in LibTorch, which has no DistributedDataParallel in C++
// (pytorch#48959): what LibTorch's own C++ distributed example does, on c10d's Gloo process group
// (Debian's LibTorch 1.13 has no ProcessGroupMPI): after backward, each parameter's gradient is
// allreduced (summed) and divided by the world size, one parameter after the other, with no
// overlap. The same MLP (bench/libtorch_fashion_models.hpp), Adam lr 1e-3, cross-entropy, per-rank
// batch of synthetic samples, warm-up and timed steps, and the same line from rank 0
// (bench/distributed_line.hpp; bucket_cap_mb=0, one "bucket" per parameter, exposed = span = the
// allreduces' time, so hidden is 0 by construction).
// Rank and world size come from Open MPI's environment (OMPI_COMM_WORLD_RANK/SIZE), so it runs
// under the same `mpirun -np N`; alone it is a world of one. The ranks meet through a FileStore at
// --store, a path every rank can reach that does not exist yet (one per run).
// glibc's malloc is told to keep freed blocks in the heap (bench/NOTES.md's setting, as
// GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728 would):
// by default it hands each step's large buffers back to the kernel and faults them in again the
// next step, which made LibTorch's step 4x slower here (10.4 against 2.4 ms at 1 rank, measured
// under load) and would measure the allocator, not the communication. tapegrad's buffer pool
// avoids that by itself.
// Usage: libtorch_distributed_bench --store PATH [--batch 128] [--steps 300] [--warmup 20] [--threads 1]
#include <malloc.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include "distributed_line.hpp"
#include "libtorch_fashion_models.hpp"

namespace {

constexpr std::int64_t kFeatures = 28 * 28;
constexpr std::int64_t kClasses = 10;
constexpr int kBatches = 8;  // distinct batches per rank, cycled (drawn before the timing)

int env_int(const char* name, int fallback) {
    const char* value = std::getenv(name);
    return value ? std::stoi(value) : fallback;
}

void run(const distbench::Options& o) {
    if (o.store.empty()) throw std::invalid_argument("--store PATH is required (the ranks' FileStore)");
    const int rank = env_int("OMPI_COMM_WORLD_RANK", 0);
    const int size = env_int("OMPI_COMM_WORLD_SIZE", 1);
    torch::set_num_threads(o.threads);

    auto store = c10::make_intrusive<c10d::FileStore>(o.store, size);
    auto options = c10d::ProcessGroupGloo::Options::create();
    // Gloo's TCP transport on the loopback interface: the ranks share this machine.
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface("lo"));
    c10d::ProcessGroupGloo pg(store, rank, size, options);

    torch::manual_seed(0);
    torch::nn::Sequential model = libtorch_fashion::build_model("mlp");
    std::vector<torch::Tensor> params = model->parameters();
    {
        torch::NoGradGuard no_grad;  // every rank starts from rank 0's values, as DataParallel does
        for (auto& p : params) {
            std::vector<torch::Tensor> one{p};
            pg.broadcast(one)->wait();
        }
    }
    torch::optim::Adam adam(params, torch::optim::AdamOptions(1e-3));

    torch::manual_seed(1000 + rank);  // each rank its own samples
    std::vector<std::pair<torch::Tensor, torch::Tensor>> batches;
    for (int k = 0; k < kBatches; ++k)
        batches.emplace_back(torch::randn({o.batch, kFeatures}), torch::randint(kClasses, {o.batch}));

    distbench::Overlap overlap;
    const auto step = [&](int s) {
        const auto& [x, y] = batches[std::size_t(s % kBatches)];
        adam.zero_grad();
        torch::nn::functional::cross_entropy(model->forward(x), y).backward();
        const auto start = std::chrono::steady_clock::now();
        for (auto& p : params) {
            std::vector<torch::Tensor> grad{p.grad()};
            pg.allreduce(grad)->wait();
            p.grad().div_(size);
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        adam.step();
        return seconds;
    };
    for (int s = 0; s < o.warmup; ++s) step(s);

    pg.barrier()->wait();
    const auto start = std::chrono::steady_clock::now();
    for (int s = 0; s < o.steps; ++s) {
        const double communication = step(s);
        overlap.add(communication, communication);
    }
    pg.barrier()->wait();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rank == 0) {
        std::vector<std::size_t> bytes;
        for (const auto& p : params) bytes.push_back(std::size_t(p.numel()) * sizeof(float));
        distbench::print_line("libtorch-gloo", size, o, 0, bytes, seconds, overlap);
    }
}

}  // namespace

int main(int argc, char** argv) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    try {
        run(distbench::parse(argc, argv, {"--batch", "--steps", "--warmup", "--threads", "--store"}));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "libtorch_distributed_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
