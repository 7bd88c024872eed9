#include <catch2/catch.hpp>
#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace dist = tapegrad::distributed;

TEST_CASE("every rank averages its gradient with the others'", "[readme]") {
    const int rank = dist::rank(), ranks = dist::world_size();  // joins the MPI job (or a world of one)
    tg::TensorD g = {1.0 * rank, 2.0};                          // this rank's gradient
    dist::all_reduce(g, dist::ReduceOp::Mean);                  // in place, on every rank
    CHECK(g.value()(0) == (ranks - 1) / 2.0);
    CHECK(g.value()(1) == 2.0);

    tg::TensorD gathered;
    dist::Work work = dist::all_gather_async(tg::TensorD(double(rank)), gathered);  // started
    work.wait();                                                                    // now complete
    CHECK(gathered.value()(ranks - 1) == ranks - 1);
}

TEST_CASE("data-parallel training: each rank its share, gradients averaged during backward", "[readme]") {
    const int rank = dist::rank(), ranks = dist::world_size();
    tg::Generator gen(0);  // every rank builds the model; DataParallel copies rank 0's weights to all
    auto mlp = std::make_shared<tg::nn::Sequential<float>>(std::initializer_list<tg::nn::Module<float>::ModulePtr>{
        std::make_shared<tg::nn::Dense<float>>(4, 8, gen), std::make_shared<tg::nn::ReLU<float>>(),
        std::make_shared<tg::nn::Dense<float>>(8, 3, gen)});
    dist::DataParallel<float> model(mlp);  // buckets of 25 MiB, allreduced as backward goes
    tg::optim::SGD<float> sgd(model.parameters(), {.lr = 0.1});

    tg::data::Dataset<float> set{xt::xarray<float>(xt::ones<float>({64, 4})), tg::Labels::full({64}, 2)};
    tg::data::DistributedSampler shard(set.size(), {.num_replicas = std::size_t(ranks), .rank = std::size_t(rank)});
    tg::data::DataLoader<float> loader(set, shard, {.batch_size = 8});  // 64 / ranks samples here
    for (const auto& [x, y] : loader.epoch()) {
        sgd.zero_grad();
        tg::cross_entropy(model(x), y).backward();  // .grad() is the mean over the ranks
        sgd.step();                                 // the same step everywhere
    }
    CHECK(loader.size() == std::size_t(64 / ranks + 7) / 8);
}
