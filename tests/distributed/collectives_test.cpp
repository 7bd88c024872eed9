// Collectives across the ranks of an MPI job, checked against closed forms every rank computes for
// itself (rank r contributes values that depend on r), and the refusals: ranks that disagree on the
// shape, dtype, op or root get the same DistributedError on every rank, never a hang.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include <tapegrad/distributed/distributed.hpp>
#include <tapegrad/tapegrad.hpp>
#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace dist = tapegrad::distributed;
using Array = xt::xarray<double>;

namespace {

// Rank r's contribution: x[i] = (r + 1) * (i + 1) / 8 (exact in binary, so sums are exact).
template <class T>
tg::Tensor<T> contribution(int r, std::size_t n) {
    xt::xarray<T> v = xt::zeros<T>({n});
    for (std::size_t i = 0; i < n; ++i) v(i) = static_cast<T>((r + 1) * double(i + 1) / 8);
    return tg::Tensor<T>(v);
}

}  // namespace

TEST_CASE("the ranks of the job are 0 to world_size - 1", "[distributed]") {
    const int n = dist::world_size();
    const int r = dist::rank();
    CHECK(dist::is_initialized());
    CHECK(r >= 0);
    CHECK(r < n);
    const tg::TensorD gathered = dist::all_gather(tg::TensorD(double(r)));
    CHECK(gathered.shape() == tg::Shape{std::size_t(n)});
    for (int k = 0; k < n; ++k) CHECK(gathered.value()(k) == double(k));
    dist::barrier();
}

TEMPLATE_TEST_CASE("all_reduce sums, averages and takes the maximum, the same bits on every rank", "[distributed]",
                   float, double) {
    using T = TestType;
    const int n = dist::world_size();
    const int r = dist::rank();
    const std::size_t len = 1000;
    // sum_r (r + 1) = n (n + 1) / 2
    const double factor = n * (n + 1) / 2.0;

    tg::Tensor<T> sum = contribution<T>(r, len);
    const std::uint64_t version = sum.version();
    dist::all_reduce(sum);
    CHECK(sum.version() > version);
    tg::Tensor<T> mean = contribution<T>(r, len);
    dist::all_reduce(mean, dist::ReduceOp::Mean);
    tg::Tensor<T> max = contribution<T>(r, len);
    dist::all_reduce(max, dist::ReduceOp::Max);
    for (std::size_t i = 0; i < len; i += 97) {
        CHECK(sum.value()(i) == T(factor * double(i + 1) / 8));
        CHECK(mean.value()(i) == Approx(factor / n * double(i + 1) / 8).epsilon(1e-6));
        CHECK(max.value()(i) == T(n * double(i + 1) / 8));
    }
    // Every rank holds bitwise the same mean (its division included).
    const tg::Tensor<T> all = dist::all_gather(mean);
    const T* rows = all.value().data();
    for (int k = 1; k < n; ++k) CHECK(std::memcmp(rows + k * len, rows, len * sizeof(T)) == 0);
}

TEST_CASE("broadcast gives every rank the root's values", "[distributed]") {
    const int n = dist::world_size();
    const int r = dist::rank();
    const int root = n - 1;
    tg::TensorF t = contribution<float>(r, 5);
    dist::broadcast(t, root);
    CHECK(t.value() == contribution<float>(root, 5).value());
    CHECK_THROWS_MATCHES(dist::broadcast(t, n), tg::ValueError, Says("root " + std::to_string(n) + " is not a rank"));
}

TEST_CASE("reduce_scatter gives rank r the reduction of block r", "[distributed]") {
    const int n = dist::world_size();
    const int r = dist::rank();
    // [2n, 3]: row i of rank q holds q * 100 + i; block r is rows 2r, 2r + 1.
    Array v = xt::zeros<double>({std::size_t(2 * n), std::size_t(3)});
    for (std::size_t i = 0; i < v.shape()[0]; ++i)
        for (std::size_t j = 0; j < 3; ++j) v(i, j) = r * 100.0 + double(i) + double(j) / 4;
    const tg::TensorD out = dist::reduce_scatter(tg::TensorD(v));
    CHECK(out.shape() == tg::Shape{2, 3});
    const double ranks_sum = 100.0 * n * (n - 1) / 2;  // sum of q * 100 over q
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 3; ++j)
            CHECK(out.value()(i, j) == ranks_sum + n * (double(2 * r) + double(i) + double(j) / 4));
    const tg::TensorD mean = dist::reduce_scatter(tg::TensorD(v), dist::ReduceOp::Mean);
    CHECK(mean.value()(0, 0) == Approx(ranks_sum / n + double(2 * r)));
    // A first dim that is not a multiple of the world size, or a 0-d tensor.
    CHECK_THROWS_MATCHES(dist::reduce_scatter(tg::TensorD(1.0)), tg::ShapeError,
                         Says("reduce_scatter") && Says("multiple of the world size"));
    if (n > 1)
        CHECK_THROWS_AS(dist::reduce_scatter(tg::TensorD(xt::xarray<double>(xt::zeros<double>({std::size_t(n + 1)})))),
                        tg::ShapeError);
}

TEST_CASE("asynchronous collectives complete when waited on, in any order", "[distributed]") {
    const int n = dist::world_size();
    const int r = dist::rank();
    tg::TensorD a = contribution<double>(r, 100000);
    tg::TensorD b = contribution<double>(r, 7);
    tg::TensorD gathered;
    dist::Work wa = dist::all_reduce_async(a);
    dist::Work wb = dist::all_reduce_async(b, dist::ReduceOp::Max);
    dist::Work wg = dist::all_gather_async(tg::TensorD(double(r)), gathered);
    CHECK(gathered.shape() == tg::Shape{std::size_t(n)});  // allocated at once, filled by wait()
    wb.wait();
    wg.wait();
    wa.wait();
    wa.wait();  // a second wait does nothing
    CHECK(wa.is_completed());
    CHECK(a.value()(99999) == n * (n + 1) / 2.0 * 100000 / 8);
    CHECK(b.value()(6) == n * 7 / 8.0);
    CHECK(gathered.value()(n - 1) == double(n - 1));
    tg::TensorD c = contribution<double>(r, 3);
    { dist::Work unwaited = dist::broadcast_async(c, 0); }  // destroyed here: its destructor waits
    CHECK(c.value() == contribution<double>(0, 3).value());
}

TEST_CASE("ranks that disagree get the same DistributedError on every rank, and the group still works",
          "[distributed]") {
    const int n = dist::world_size();
    const int r = dist::rank();
    if (n == 1) {
        tg::TensorF t = contribution<float>(0, 3);
        CHECK_NOTHROW(dist::all_reduce(t));
        return;
    }
    SECTION("shapes") {
        tg::TensorF t = r == 0 ? tg::TensorF(xt::xarray<float>(xt::zeros<float>({2, 3})))
                               : tg::TensorF(xt::xarray<float>(xt::zeros<float>({3, 2})));
        CHECK_THROWS_MATCHES(dist::all_reduce(t), dist::DistributedError,
                             Says("all_reduce: the ranks disagree") && Says("rank 0: float32 [2, 3], op sum") &&
                                 Says("rank 1: float32 [3, 2], op sum"));
    }
    SECTION("ops") {
        tg::TensorD t = contribution<double>(r, 4);
        CHECK_THROWS_MATCHES(dist::all_reduce(t, r == 0 ? dist::ReduceOp::Sum : dist::ReduceOp::Max),
                             dist::DistributedError, Says("rank 0: float64 [4], op sum") && Says("op max"));
    }
    SECTION("roots") {
        tg::TensorD t = contribution<double>(r, 4);
        CHECK_THROWS_MATCHES(dist::broadcast(t, r == 0 ? 0 : 1), dist::DistributedError,
                             Says("rank 0: float64 [4], root 0") && Says("root 1"));
    }
    SECTION("an undefined tensor on one rank") {
        tg::TensorD t = r == 0 ? tg::TensorD() : contribution<double>(r, 4);
        CHECK_THROWS_MATCHES(dist::all_reduce(t), dist::DistributedError, Says("rank 0: an undefined tensor"));
    }
    // The failed collective moved no data: the next one pairs up as usual.
    tg::TensorD ok = contribution<double>(r, 2);
    dist::all_reduce(ok);
    CHECK(ok.value()(1) == n * (n + 1) / 2.0 * 2 / 8);
}

TEST_CASE("all_reduce changes a tensor in place: a graph that saved it refuses to backward", "[distributed]") {
    tg::TensorD w = tg::TensorD(Array{1.0, 2.0}, true);
    const tg::TensorD loss = tg::sum(w * w);
    {
        tg::NoGradGuard no_grad;
        dist::all_reduce(w);
    }
    CHECK_THROWS_AS(loss.backward(), tg::AutogradError);
}
