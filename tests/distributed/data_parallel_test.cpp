// DataParallel across the ranks of an MPI job: N ranks each training on 1/N of a batch end where one
// process training on the whole batch ends (the mean of the ranks' mean losses is the whole batch's
// mean loss), whatever the bucket size; runs are bitwise repeatable; models that differ, and
// parameters left without a gradient, are errors on every rank.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
namespace dist = tapegrad::distributed;

namespace {

constexpr std::size_t kBatch = 8;  // divisible by 1, 2 and 4 ranks

template <class T>
std::shared_ptr<nn::Sequential<T>> model(std::uint64_t seed, std::size_t hidden = 6) {
    tg::Generator gen(seed);
    return std::make_shared<nn::Sequential<T>>(std::initializer_list<typename nn::Module<T>::ModulePtr>{
        std::make_shared<nn::Dense<T>>(4, hidden, gen), std::make_shared<nn::Tanh<T>>(),
        std::make_shared<nn::Dense<T>>(hidden, 3, gen)});
}

template <class T>
struct Data {
    tg::Tensor<T> x, y;
    explicit Data(std::uint64_t seed) {
        tg::Generator gen(seed);
        x = tg::randn<T>({kBatch, 4}, gen);
        y = tg::randn<T>({kBatch, 3}, gen);
    }
    // Rows [start, start + count).
    static tg::Tensor<T> rows(const tg::Tensor<T>& t, std::size_t start, std::size_t count) {
        return tg::narrow(t, 0, std::int64_t(start), std::int64_t(count));
    }
};

// `steps` SGD steps of model m on this rank's share of each step's batch (all of it when `alone`).
template <class T>
std::vector<tg::Tensor<T>> train(nn::Module<T>& m, bool alone, int steps, dist::DataParallelOptions options = {}) {
    const int n = alone ? 1 : dist::world_size();
    const int r = alone ? 0 : dist::rank();
    std::unique_ptr<dist::DataParallel<T>> dp;
    if (!alone) dp = std::make_unique<dist::DataParallel<T>>(std::shared_ptr<nn::Module<T>>(&m, [](auto*) {}), options);
    tg::optim::SGD<T> sgd(m.parameters(), {.lr = 0.1});
    const std::size_t share = kBatch / std::size_t(n);
    for (int step = 0; step < steps; ++step) {
        const Data<T> data(100 + std::uint64_t(step));
        const auto x = Data<T>::rows(data.x, std::size_t(r) * share, share);
        const auto y = Data<T>::rows(data.y, std::size_t(r) * share, share);
        sgd.zero_grad();
        const tg::Tensor<T> out = dp ? (*dp)(x) : m(x);
        tg::mse_loss(out, y).backward();
        sgd.step();
    }
    return m.parameters();
}

template <class T>
double worst_relative(const std::vector<tg::Tensor<T>>& a, const std::vector<tg::Tensor<T>>& b) {
    double worst = 0;
    for (std::size_t k = 0; k < a.size(); ++k)
        for (std::size_t i = 0; i < a[k].numel(); ++i) {
            const double x = a[k].value().flat(i), y = b[k].value().flat(i);
            worst = std::max(worst, std::abs(x - y) / std::max(std::abs(y), 1e-3));
        }
    return worst;
}

}  // namespace

TEST_CASE("DataParallel on N ranks with batch B/N each ends where one process with batch B does", "[distributed]") {
    SECTION("float64, one bucket, to 1e-12") {
        auto alone = model<double>(1);
        auto ranked = model<double>(1 + std::uint64_t(dist::rank()));  // different everywhere: rank 0's wins
        const auto expect = train(*alone, true, 5);
        const auto got = train(*ranked, false, 5);
        CHECK(worst_relative(got, expect) < 1e-12);
    }
    SECTION("float64, buckets of about 100 bytes (several allreduces per backward)") {
        auto alone = model<double>(2);
        auto ranked = model<double>(2);
        const auto expect = train(*alone, true, 5);
        const auto got = train(*ranked, false, 5, {.bucket_cap_mb = 100.0 / 1024 / 1024});
        CHECK(worst_relative(got, expect) < 1e-12);
    }
    SECTION("float32, to 1e-6") {
        auto alone = model<float>(3);
        auto ranked = model<float>(3);
        const auto expect = train(*alone, true, 5);
        const auto got = train(*ranked, false, 5);
        CHECK(worst_relative(got, expect) < 1e-6);
    }
}

TEST_CASE("DataParallel runs repeat bit for bit, and every rank holds the same bits", "[distributed]") {
    auto a = model<float>(4);
    auto b = model<float>(4);
    const auto first = train(*a, false, 3, {.bucket_cap_mb = 100.0 / 1024 / 1024});
    const auto second = train(*b, false, 3, {.bucket_cap_mb = 100.0 / 1024 / 1024});
    for (std::size_t k = 0; k < first.size(); ++k) {
        CHECK(first[k].value() == second[k].value());
        const tg::TensorF all = dist::all_gather(first[k]);
        const float* rows = all.value().data();
        const std::size_t n = first[k].numel();
        for (int r = 1; r < dist::world_size(); ++r) CHECK(std::memcmp(rows + std::size_t(r) * n, rows, n * 4) == 0);
    }
}

TEST_CASE("DataParallel: parameters named module.*, buckets in reverse order, timing reported", "[distributed]") {
    auto m = model<double>(5);
    dist::DataParallel<double> dp(m, {.bucket_cap_mb = 100.0 / 1024 / 1024});
    CHECK(dp.named_parameters()[0].first == "module.0.weight");
    CHECK(dp.named_parameters().size() == m->named_parameters().size());
    const auto buckets = dp.bucket_bytes();
    // 18 + 3 (last layer: 144 + 24 bytes) ... each bucket holds at least one parameter, at most ~100 bytes
    // unless one parameter alone is larger; together they hold every parameter once.
    std::size_t total = 0;
    for (auto bytes : buckets) total += bytes;
    CHECK(total == m->num_parameters() * sizeof(double));
    CHECK(buckets.size() >= 3);
    const Data<double> data(7);
    tg::mse_loss(dp(data.x), data.y).backward();
    const auto timing = dp.last_timing();
    CHECK(timing.exposed_seconds >= 0);
    CHECK(timing.span_seconds >= timing.exposed_seconds);
}

TEST_CASE("DataParallel::no_sync accumulates locally; the next backward averages the sum", "[distributed]") {
    const int n = dist::world_size();
    const int r = dist::rank();
    auto m = model<double>(6);
    dist::DataParallel<double> dp(m);
    const Data<double> first(8), second(9);
    const std::size_t share = kBatch / std::size_t(n);
    const auto mine = [&](const tg::TensorD& t) { return Data<double>::rows(t, std::size_t(r) * share, share); };
    {
        const auto guard = dp.no_sync();
        tg::mse_loss(dp(mine(first.x)), mine(first.y)).backward();
    }
    tg::mse_loss(dp(mine(second.x)), mine(second.y)).backward();

    // The same sums, computed by one process over every rank's shares: mean over ranks of (g1 + g2).
    auto alone = model<double>(6);
    {
        tg::NoGradGuard no_grad;  // rank 0's initial values, which DataParallel broadcast
        for (std::size_t k = 0; k < alone->parameters().size(); ++k) {
            auto p = alone->parameters()[k];
            p.mutable_value() = m->parameters()[k].value();
        }
    }
    for (int q = 0; q < n; ++q) {
        for (const Data<double>* d : {&first, &second}) {
            const auto x = Data<double>::rows(d->x, std::size_t(q) * share, share);
            const auto y = Data<double>::rows(d->y, std::size_t(q) * share, share);
            (tg::mse_loss((*alone)(x), y) / double(n)).backward();
        }
    }
    for (std::size_t k = 0; k < alone->parameters().size(); ++k) {
        const auto& want = alone->parameters()[k].grad().value();
        const auto& got = m->parameters()[k].grad().value();
        CHECK(xt::allclose(got, want, 1e-12, 1e-12));
    }
}

namespace {

// Two layers of which forward uses one: `unused` never receives a gradient.
class HalfUsed : public nn::Module<double> {
public:
    HalfUsed() {
        tg::Generator gen(0);
        used_ = std::make_shared<nn::Dense<double>>(4, 3, gen);
        unused_ = std::make_shared<nn::Dense<double>>(4, 3, gen);
        register_module("used", used_);
        register_module("unused", unused_);
    }
    tg::TensorD forward(const tg::TensorD& x) override { return (*used_)(x); }
    std::string name() const override { return "HalfUsed"; }

private:
    std::shared_ptr<nn::Dense<double>> used_, unused_;
};

}  // namespace

TEST_CASE("DataParallel: a parameter left without a gradient is named at the next forward", "[distributed]") {
    auto m = std::make_shared<HalfUsed>();
    dist::DataParallel<double> dp(m);
    const Data<double> data(10);
    tg::mse_loss(dp(data.x), data.y).backward();
    CHECK_THROWS_MATCHES(dp(data.x), tg::AutogradError,
                         Says("no gradient reached module.unused.weight, module.unused.bias"));
    {
        tg::NoGradGuard no_grad;  // evaluation: no backward expected
        dp(data.x);
        CHECK_NOTHROW(dp(data.x));
    }
}

namespace {

// A shared first layer, then branch a on rank 0 and branch b elsewhere (the branch is chosen per
// call): with one rank, b is used nowhere; with more, a and b each on some ranks only. Branch 2
// uses no parameter.
class Branchy : public nn::Module<double> {
public:
    Branchy() {
        tg::Generator gen(5);
        shared_ = std::make_shared<nn::Dense<double>>(4, 3, gen);
        a_ = std::make_shared<nn::Dense<double>>(3, 3, gen);
        b_ = std::make_shared<nn::Dense<double>>(3, 3, gen);
        register_module("shared", shared_);
        register_module("a", a_);
        register_module("b", b_);
    }
    tg::TensorD forward(const tg::TensorD& x) override {
        if (branch == 2) return x;  // no parameter at all
        return branch == 0 ? (*a_)((*shared_)(x)) : (*b_)((*shared_)(x));
    }
    std::string name() const override { return "Branchy"; }
    int branch = 0;

private:
    std::shared_ptr<nn::Dense<double>> shared_, a_, b_;
};

}  // namespace

TEST_CASE("DataParallel find_unused_parameters: parameters used on some ranks or none", "[distributed]") {
    const int n = dist::world_size(), r = dist::rank();
    const std::size_t share = kBatch / std::size_t(n);
    const Data<double> data(30);
    // The reference, in one process: the mean over the ranks of each rank's loss on its rows with
    // its branch, which is what averaging the ranks' gradients differentiates.
    Branchy alone;
    tg::TensorD total(0.0);
    for (int k = 0; k < n; ++k) {
        alone.branch = k == 0 ? 0 : 1;
        const auto x = Data<double>::rows(data.x, std::size_t(k) * share, share);
        const auto y = Data<double>::rows(data.y, std::size_t(k) * share, share);
        total = total + tg::mse_loss(alone(x), y) / double(n);
    }
    total.backward();

    auto m = std::make_shared<Branchy>();
    m->branch = r == 0 ? 0 : 1;
    dist::DataParallel<double> dp(m, {.find_unused_parameters = true});
    for (int step = 0; step < 2; ++step) {  // the second forward finds the first backward complete
        m->zero_grad();
        const auto x = Data<double>::rows(data.x, std::size_t(r) * share, share);
        const auto y = Data<double>::rows(data.y, std::size_t(r) * share, share);
        tg::mse_loss(dp(x), y).backward();
        const auto got = m->named_parameters();
        const auto want = alone.named_parameters();
        for (std::size_t k = 0; k < got.size(); ++k) {
            INFO(got[k].first);
            const bool used_anywhere = got[k].first.rfind("b.", 0) != 0 || n > 1;
            CHECK(got[k].second.grad().defined() == used_anywhere);  // b's stays undefined alone
            if (used_anywhere && got[k].second.grad().defined())
                CHECK(xt::allclose(got[k].second.grad().value(), want[k].second.grad().value(), 1e-12, 1e-12));
        }
    }
    SECTION("an output that reaches no parameter is refused (no hook would start the averaging)") {
        m->branch = 2;
        CHECK_THROWS_MATCHES(dp(tg::TensorD(xt::xarray<double>(xt::ones<double>({2, 4})))), tg::AutogradError,
                             Says("DataParallel: the output reaches none of the 6 parameters"));
    }
}

TEST_CASE("DataParallel refuses models that differ across ranks, on every rank", "[distributed]") {
    const int r = dist::rank();
    if (dist::world_size() == 1) return;
    auto m = model<double>(11, r == 1 ? 7 : 6);
    CHECK_THROWS_MATCHES(dist::DataParallel<double>(m), dist::DistributedError,
                         Says("rank 1's model differs from rank 0's") && Says("parameter 0.weight [6, 4]") &&
                             Says("parameter 0.weight [7, 4]"));
    CHECK_THROWS_MATCHES(dist::DataParallel<double>(m, {.bucket_cap_mb = 0}), tg::ValueError, Says("bucket_cap_mb"));
}
