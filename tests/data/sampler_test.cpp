// DistributedSampler: each rank's share of a dataset, checked against PyTorch's rule written out
// as plain arithmetic (positions rank, rank + R, ... of the epoch's order, padded by repeating its
// start or cut), and a DataLoader iterating it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>
#include <set>
#include <vector>

#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace data = tapegrad::data;
using Order = std::vector<std::size_t>;

namespace {

// Every rank's share, for num_replicas ranks.
std::vector<Order> shares(std::size_t n, data::DistributedSamplerOptions options, std::uint64_t epoch = 0) {
    std::vector<Order> out;
    for (std::size_t r = 0; r < options.num_replicas; ++r) {
        options.rank = r;
        data::DistributedSampler s(n, options);
        s.set_epoch(epoch);
        out.push_back(s.indices());
    }
    return out;
}

}  // namespace

TEST_CASE("permutation: every index once, the same for the same seed", "[data][sampler]") {
    tg::Generator a(5), b(5), c(6);
    const Order p = data::permutation(50, a);
    Order sorted = p;
    std::sort(sorted.begin(), sorted.end());
    Order identity(50);
    std::iota(identity.begin(), identity.end(), std::size_t{0});
    CHECK(sorted == identity);
    CHECK(p == data::permutation(50, b));
    CHECK(p != data::permutation(50, c));
    CHECK(p != identity);
}

TEST_CASE("DistributedSampler without shuffling: rank r takes positions r, r + R, ...", "[data][sampler]") {
    SECTION("10 samples on 2 ranks: disjoint halves") {
        const auto s = shares(10, {.num_replicas = 2, .shuffle = false});
        CHECK(s[0] == Order{0, 2, 4, 6, 8});
        CHECK(s[1] == Order{1, 3, 5, 7, 9});
    }
    SECTION("10 samples on 4 ranks: padded to 12 with the first 2 again") {
        const auto s = shares(10, {.num_replicas = 4, .shuffle = false});
        CHECK(s[0] == Order{0, 4, 8});
        CHECK(s[1] == Order{1, 5, 9});
        CHECK(s[2] == Order{2, 6, 0});
        CHECK(s[3] == Order{3, 7, 1});
    }
    SECTION("10 samples on 4 ranks with drop_last: 8 used, 2 per rank") {
        const auto s = shares(10, {.num_replicas = 4, .shuffle = false, .drop_last = true});
        CHECK(s[0] == Order{0, 4});
        CHECK(s[3] == Order{3, 7});
    }
    SECTION("2 samples on 5 ranks: the order repeated as often as needed") {
        const auto s = shares(2, {.num_replicas = 5, .shuffle = false});
        CHECK(s == std::vector<Order>{{0}, {1}, {0}, {1}, {0}});
    }
}

TEST_CASE("DistributedSampler with shuffling: one order per epoch, shared by the ranks", "[data][sampler]") {
    const std::size_t n = 103;
    const data::DistributedSamplerOptions options{.num_replicas = 4, .seed = 7};
    const auto e0 = shares(n, options, 0);
    const auto e1 = shares(n, options, 1);
    CHECK(e0 != e1);
    CHECK(e0 == shares(n, options, 0));  // the same seed and epoch: the same shares
    for (const auto& epoch : {e0, e1}) {
        // 103 samples padded to 104: together the ranks see every sample, one of them twice.
        std::multiset<std::size_t> seen;
        for (const auto& share : epoch) {
            CHECK(share.size() == 26);
            seen.insert(share.begin(), share.end());
        }
        CHECK(seen.size() == 104);
        CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == n);
    }
    // The interleaving of one order: rank r's k-th sample is position r + 4 k of Generator(seed + epoch)'s permutation.
    tg::Generator gen(7 + 1);
    const Order order = data::permutation(n, gen);
    for (std::size_t r = 0; r < 4; ++r)
        for (std::size_t k = 0; k < 26; ++k) {
            const std::size_t position = r + 4 * k;
            CHECK(e1[r][k] == order[position % n]);
        }
}

TEST_CASE("DistributedSampler refuses a rank outside the replicas", "[data][sampler]") {
    CHECK_THROWS_MATCHES(data::DistributedSampler(10, {.num_replicas = 0}), tg::ValueError, Says("num_replicas is 0"));
    CHECK_THROWS_MATCHES(data::DistributedSampler(10, {.num_replicas = 2, .rank = 2}), tg::ValueError,
                         Says("rank 2 is not in [0, 2)"));
}

TEST_CASE("a DataLoader over a DistributedSampler iterates the rank's share, a new order each epoch",
          "[data][sampler]") {
    // Sample i's single feature is i, so a batch's x says which samples it holds.
    xt::xarray<float> x = xt::arange<float>(10.0F).reshape({10, 1});
    tg::Labels y = tg::Labels::full({10}, 0);
    const data::Dataset<float> set{x, y};
    const data::DistributedSamplerOptions options{.num_replicas = 3, .rank = 1, .seed = 3};
    data::DataLoader<float> loader(set, data::DistributedSampler(10, options), {.batch_size = 3});
    CHECK(loader.size() == 2);  // ceil(10 / 3) = 4 samples: batches of 3 and 1
    for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
        data::DistributedSampler expect(10, options);
        expect.set_epoch(epoch);
        Order got;
        for (const auto& [bx, by] : loader.epoch())
            for (std::size_t i = 0; i < bx.numel(); ++i) got.push_back(std::size_t(bx.value()(i, 0)));
        CHECK(got == expect.indices());
    }
    CHECK_THROWS_MATCHES(data::DataLoader<float>(set, data::DistributedSampler(11, options)), tg::ValueError,
                         Says("built for 11 samples, the dataset has 10"));
}

TEST_CASE("DataLoader::epoch(index) starts a sampled loader at that epoch's order, as a resumed run",
          "[data][sampler]") {
    xt::xarray<float> x = xt::arange<float>(10.0F).reshape({10, 1});
    tg::Labels y = tg::Labels::full({10}, 0);
    const data::Dataset<float> set{x, y};
    const data::DistributedSamplerOptions options{.num_replicas = 2, .rank = 0, .seed = 7};
    data::DataLoader<float> resumed(set, data::DistributedSampler(10, options), {.batch_size = 4});
    resumed.epoch(3);
    for (std::uint64_t epoch : {3, 4}) {
        data::DistributedSampler expect(10, options);
        expect.set_epoch(epoch);
        CHECK(resumed.order() == expect.indices());
        CHECK(resumed.epochs() == epoch + 1);
        resumed.epoch();  // the next one follows on
    }
    data::DataLoader<float> plain(set, {.batch_size = 4});
    CHECK_THROWS_MATCHES(plain.epoch(1), tg::ValueError, Says("DataLoader::epoch(1): the loader has no sampler"));
    CHECK(plain.epochs() == 0);  // refused: nothing changed
}
