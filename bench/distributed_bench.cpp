// Data-parallel training throughput (issue 16 item 8): the Fashion-MNIST MLP 784-256-128-10 as
// examples/fashion_mnist/model.hpp builds it (nn::mlp, ReLU; Adam lr 1e-3, cross-entropy), or with
// --hidden other hidden widths (a model with more of its gradient bytes late in backward), wrapped in
// distributed::DataParallel, each rank training on its own batch of --batch synthetic samples
// (random pixels and labels of Fashion-MNIST's shapes: the figure is throughput, which does not
// depend on the values). --warmup untimed steps, then --steps timed ones between two barriers.
// Rank 0 prints one line (bench/distributed_line.hpp): samples/s over all ranks, the mean step, and
// the mean exposed and span times and hidden share of DataParallel::last_timing().
// Run alone for the world of one (the baseline), or `mpirun -np 2 bench/bench_distributed`.
// Usage: bench_distributed [--batch 128] [--steps 300] [--warmup 20] [--threads 1]
//                          [--bucket-cap-mb 25] [--hidden 256,128]
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/tapegrad.hpp>

#include "distributed_line.hpp"

namespace tg = tapegrad;
namespace dist = tapegrad::distributed;

namespace {

constexpr std::size_t kFeatures = 28 * 28;
constexpr std::size_t kClasses = 10;
constexpr std::size_t kBatches = 8;  // distinct batches per rank, cycled (drawn before the timing)

void run(const distbench::Options& o) {
    dist::init();
    tg::set_num_threads(static_cast<std::size_t>(o.threads));
    const int rank = dist::rank();

    tg::Generator gen(0);  // the same model everywhere; DataParallel copies rank 0's anyway
    std::vector<std::size_t> widths{kFeatures};
    widths.insert(widths.end(), o.hidden.begin(), o.hidden.end());
    widths.push_back(kClasses);
    auto model = std::make_shared<tg::nn::Sequential<float>>(tg::nn::mlp<float>(widths, tg::nn::Activation::ReLU, gen));
    dist::DataParallel<float> dp(model, {.bucket_cap_mb = o.bucket_cap_mb});
    tg::optim::Adam<float> adam(model->parameters(), {.lr = 1e-3});

    tg::Generator data(1000 + static_cast<std::uint64_t>(rank));  // each rank its own samples
    const std::size_t batch = static_cast<std::size_t>(o.batch);
    std::vector<std::pair<tg::Tensor<float>, tg::Labels>> batches;
    for (std::size_t k = 0; k < kBatches; ++k)
        batches.emplace_back(tg::randn<float>({batch, kFeatures}, data),
                             tg::randint(0, std::int64_t(kClasses), {batch}, data));

    const auto step = [&](int s) {
        const auto& [x, y] = batches[static_cast<std::size_t>(s) % kBatches];
        adam.zero_grad();
        tg::cross_entropy(dp(x), y).backward();
        adam.step();
    };
    for (int s = 0; s < o.warmup; ++s) step(s);

    distbench::Overlap overlap;
    dist::barrier();
    const auto start = std::chrono::steady_clock::now();
    for (int s = 0; s < o.steps; ++s) {
        step(s);
        const auto timing = dp.last_timing();
        overlap.add(timing.exposed_seconds, timing.span_seconds);
    }
    dist::barrier();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rank == 0)
        distbench::print_line("tapegrad", dist::world_size(), o, o.bucket_cap_mb, dp.bucket_bytes(), seconds, overlap);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        run(distbench::parse(argc, argv,
                             {"--batch", "--steps", "--warmup", "--threads", "--bucket-cap-mb", "--hidden"}));
    } catch (const std::exception& e) {
        // Every rank fails alike on a bad flag; a rank failing alone must not leave the others waiting.
        dist::abort(std::string("bench_distributed: ") + e.what());
    }
    return 0;
}
