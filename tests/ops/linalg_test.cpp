// The matrix products' results that the op table's rows do not show: which ops a product and its
// backward record (GEMMs only: no materialised transpose, permute or reshape where the lowering
// promises none), and the gradients of broadcast batch operands written out by hand.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

namespace {

/// The names of the ops recorded since the tape held `before` of them.
std::vector<std::string> recorded_since(std::size_t before) {
    auto names = tg::Tape::current().op_names();
    names.erase(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(before));
    return names;
}

}  // namespace

TEST_CASE("gemm: broadcast batch dims, their gradients summed by hand, and only GEMMs recorded", "[ops][matmul]") {
    tg::Generator gen(1);
    const auto a = tg::randn<double>({4, 1, 3, 2}, gen, 0.0, 1.0, /*requires_grad=*/true);
    const auto b = tg::randn<double>({3, 2, 5}, gen, 0.0, 1.0, /*requires_grad=*/true);
    const auto g = tg::randn<double>({4, 3, 3, 5}, gen);
    const std::size_t before = tg::Tape::current().size();
    const auto y = tg::gemm(a, b);
    REQUIRE(y.shape() == tg::Shape{4, 3, 3, 5});
    const auto grads = tg::grad<double>({y}, {a, b}, {g}, true, /*create_graph=*/true);
    // The forward and the two gradients are one batched GEMM node each: no transpose, no sum_to.
    CHECK(recorded_since(before) == std::vector<std::string>{"gemm", "gemm", "gemm"});
    const auto &av = a.value(), &bv = b.value(), &gv = g.value();
    // y[i, j] = a[i, 0] b[j];  dA[i, 0] = sum_j G[i, j] b[j]^T;  dB[j] = sum_i a[i, 0]^T G[i, j].
    for (std::size_t i = 0; i < 4; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            for (std::size_t r = 0; r < 3; ++r) {
                for (std::size_t c = 0; c < 5; ++c) {
                    double v = 0;
                    for (std::size_t p = 0; p < 2; ++p) v += av(i, 0, r, p) * bv(j, p, c);
                    CHECK(y.value()(i, j, r, c) == Approx(v).epsilon(1e-12));
                }
            }
        }
    }
    for (std::size_t i = 0; i < 4; ++i) {
        for (std::size_t r = 0; r < 3; ++r) {
            for (std::size_t p = 0; p < 2; ++p) {
                double v = 0;
                for (std::size_t j = 0; j < 3; ++j) {
                    for (std::size_t c = 0; c < 5; ++c) v += gv(i, j, r, c) * bv(j, p, c);
                }
                CHECK(grads[0].value()(i, 0, r, p) == Approx(v).epsilon(1e-12));
            }
        }
    }
    for (std::size_t j = 0; j < 3; ++j) {
        for (std::size_t p = 0; p < 2; ++p) {
            for (std::size_t c = 0; c < 5; ++c) {
                double v = 0;
                for (std::size_t i = 0; i < 4; ++i) {
                    for (std::size_t r = 0; r < 3; ++r) v += av(i, 0, r, p) * gv(i, j, r, c);
                }
                CHECK(grads[1].value()(j, p, c) == Approx(v).epsilon(1e-12));
            }
        }
    }
}

TEST_CASE("matmul: vectors as PyTorch treats them, a 1 added and removed again", "[ops][matmul]") {
    tg::Generator gen(2);
    CHECK(tg::matmul(tg::randn<double>({3}, gen), tg::randn<double>({3}, gen)).shape() == tg::Shape{});
    CHECK(tg::matmul(tg::randn<double>({3}, gen), tg::randn<double>({2, 3, 4}, gen)).shape() == tg::Shape{2, 4});
    CHECK(tg::matmul(tg::randn<double>({2, 3, 4}, gen), tg::randn<double>({4}, gen)).shape() == tg::Shape{2, 3});
    CHECK(tg::matmul(tg::randn<double>({8, 1, 5, 4}, gen), tg::randn<double>({3, 4, 6}, gen)).shape() ==
          tg::Shape{8, 3, 5, 6});
}

TEST_CASE("linear: a 3-D x is one node, and each gradient one GEMM or one sum", "[ops][matmul]") {
    tg::Generator gen(3);
    const auto x = tg::randn<double>({2, 4, 3}, gen, 0.0, 1.0, true);
    const auto w = tg::randn<double>({5, 3}, gen, 0.0, 1.0, true);
    const auto b = tg::randn<double>({5}, gen, 0.0, 1.0, true);
    const std::size_t before = tg::Tape::current().size();
    const auto y = tg::linear(x, w, b);
    REQUIRE(y.shape() == tg::Shape{2, 4, 5});
    const auto grads = tg::grad<double>({y}, {x, w, b}, {tg::ones_like(y)}, true, /*create_graph=*/true);
    // No reshape of x or of the gradient: the leading dims fold into the GEMMs (db = sum_to(g)
    // records nothing, g being a constant here).
    CHECK(recorded_since(before) == std::vector<std::string>{"linear", "gemm", "gemm"});
    // With a gradient of ones: dW[o, i] = sum of x[.., i] over the 8 rows, db[o] = 8.
    for (std::size_t o = 0; o < 5; ++o) {
        CHECK(grads[2].value()(o) == Approx(8.0));
        for (std::size_t i = 0; i < 3; ++i) {
            double v = 0;
            for (std::size_t s = 0; s < 2; ++s) {
                for (std::size_t t = 0; t < 4; ++t) v += x.value()(s, t, i);
            }
            CHECK(grads[1].value()(o, i) == Approx(v).epsilon(1e-12));
        }
    }
}

TEST_CASE("einsum: matrix-shaped equations lower to one gemm, with no permute or reshape", "[ops][einsum]") {
    tg::Generator gen(4);
    auto recorded = [](const std::string& equation, const std::vector<tg::TensorD>& operands) {
        const std::size_t before = tg::Tape::current().size();
        const auto y = tg::einsum(equation, operands);
        return recorded_since(before);
    };
    const auto q = tg::randn<double>({2, 3, 4, 5}, gen, 0.0, 1.0, true);
    const auto k = tg::randn<double>({2, 3, 6, 5}, gen, 0.0, 1.0, true);
    const auto v = tg::randn<double>({2, 3, 6, 5}, gen, 0.0, 1.0, true);
    const auto s = tg::einsum("bhqd,bhkd->bhqk", {q, k});
    CHECK(s.shape() == tg::Shape{2, 3, 4, 6});
    CHECK(recorded("bhqd,bhkd->bhqk", {q, k}) == std::vector<std::string>{"gemm"});
    CHECK(recorded("bhqk,bhkd->bhqd", {s, v}) == std::vector<std::string>{"gemm"});
    const auto m = tg::randn<double>({3, 4}, gen, 0.0, 1.0, true);
    const auto n = tg::randn<double>({5, 4}, gen, 0.0, 1.0, true);
    CHECK(recorded("ij,kj->ik", {m, n}) == std::vector<std::string>{"gemm"});
    CHECK(recorded("ji,jk->ik", {n, tg::randn<double>({5, 2}, gen)}) == std::vector<std::string>{"gemm"});
    // A result that is one of the operands is still a copy, as every op's.
    const auto t = tg::einsum("ij->ij", {m});
    CHECK_FALSE(t.same(m));
    CHECK(t.value() == m.value());
}

TEST_CASE("gemm: a batch split across threads gives what one thread gives, bit for bit", "[ops][matmul]") {
    // 16 products of 64 x 64 x 80: enough work for gemm to split the batch across threads (when
    // the machine has more than one), each product then a one-thread GEMM as it is on one thread.
    tg::Generator gen(5);
    const auto a = tg::randn<double>({16, 64, 64}, gen, 0.0, 1.0, true);
    const auto b = tg::randn<double>({16, 64, 80}, gen, 0.0, 1.0, true);
    const auto g = tg::randn<double>({16, 64, 80}, gen);
    auto run = [&] {
        const auto y = tg::gemm(a, b);
        const auto grads = tg::grad<double>({y}, {a, b}, {g});
        return std::vector<xt::xarray<double>>{y.value(), grads[0].value(), grads[1].value()};
    };
    const std::size_t threads = tg::get_num_threads();
    const auto split = run();
    tg::set_num_threads(1);
    const auto single = run();
    tg::set_num_threads(threads);
    CHECK(split[0] == single[0]);
    CHECK(split[1] == single[1]);
    CHECK(split[2] == single[2]);
    const auto &av = a.value(), &bv = b.value();
    std::size_t wrong = 0;
    for (std::size_t t = 0; t < 16; ++t) {
        for (std::size_t i = 0; i < 64; ++i) {
            for (std::size_t j = 0; j < 80; ++j) {
                double v = 0;
                for (std::size_t p = 0; p < 64; ++p) v += av(t, i, p) * bv(t, p, j);
                wrong += std::abs(split[0](t, i, j) - v) > 1e-12 * (1 + std::abs(v));
            }
        }
    }
    CHECK(wrong == 0);
}

TEST_CASE("gemm: outer products (inner dimension 1), small and past the caches, are each element's one product",
          "[ops][matmul]") {
    // k = 1 takes its own path (each element written once; non-temporal stores past 8 MB, rows
    // shared over threads). Rows of 509 (odd: unaligned row starts, a tail after the last SIMD
    // batch) and 512; 8 x 509 x 512 float64 is 16.7 MB. Every transpose gives a_i[r] * b_i[c]
    // exactly, whatever the thread count; the gradients are the closed forms.
    tg::Generator gen(11);
    for (const std::size_t batch : {3, 8})
        for (const bool ta : {false, true})
            for (const bool tb : {false, true}) {
                const std::size_t m = batch == 3 ? 5 : 509, n = batch == 3 ? 7 : 512;
                const auto a =
                    tg::randn<double>(ta ? tg::Shape{batch, 1, m} : tg::Shape{batch, m, 1}, gen, 0.0, 1.0, true);
                const auto b =
                    tg::randn<double>(tb ? tg::Shape{batch, n, 1} : tg::Shape{batch, 1, n}, gen, 0.0, 1.0, true);
                INFO("batch " << batch << ", ta " << ta << ", tb " << tb);
                const auto y = tg::gemm(a, b, ta, tb);
                REQUIRE(y.shape() == tg::Shape{batch, m, n});
                const double* pa = a.value().data();
                const double* pb = b.value().data();
                std::size_t wrong = 0;
                for (std::size_t i = 0; i < batch; ++i)
                    for (std::size_t r = 0; r < m; ++r)
                        for (std::size_t c = 0; c < n; ++c)
                            wrong += y.value()(i, r, c) != pa[i * m + r] * pb[i * n + c];
                CHECK(wrong == 0);
                const std::size_t threads = tg::get_num_threads();
                tg::set_num_threads(1);
                const auto single = tg::gemm(a, b, ta, tb);
                tg::set_num_threads(threads);
                CHECK(single.value() == y.value());
                // d/da_i[r] = sum_c g[i, r, c] b_i[c]; d/db_i[c] = sum_r g[i, r, c] a_i[r].
                const auto g = tg::randn<double>({batch, m, n}, gen);
                const auto grads = tg::grad<double>({y}, {a, b}, {g});
                xt::xarray<double> da = xt::zeros<double>({batch, m}), db = xt::zeros<double>({batch, n});
                for (std::size_t i = 0; i < batch; ++i)
                    for (std::size_t r = 0; r < m; ++r)
                        for (std::size_t c = 0; c < n; ++c) {
                            da(i, r) += g.value()(i, r, c) * pb[i * n + c];
                            db(i, c) += g.value()(i, r, c) * pa[i * m + r];
                        }
                CHECK(xt::allclose(xt::reshape_view(grads[0].value(), {batch, m}), da, 1e-12, 1e-12));
                CHECK(xt::allclose(xt::reshape_view(grads[1].value(), {batch, n}), db, 1e-12, 1e-12));
            }
}

TEST_CASE("gemm: a process forked after tapegrad's threads started shares its work over threads of its own",
          "[ops][matmul]") {
    // The child of fork() has none of its parent's threads: an op sharing its work over the
    // parent's waiting helpers would wait for them forever. Outer products past 1 MB (rows shared
    // over threads) run before the fork, to start the helpers, and again in the child, which exits
    // 0 only with the right values; one still running after 60 s is taken to hang, and killed.
    const std::size_t before = tg::get_num_threads();
    tg::set_num_threads(tg::max_num_threads());
    tg::Generator gen(2);
    const auto a = tg::randn<double>({4, 512, 1}, gen);
    const auto b = tg::randn<double>({4, 1, 512}, gen);  // the product: 8.4 MB
    const auto parent = tg::gemm(a, b).value();
    const pid_t child = ::fork();
    if (child == 0) {
        const auto y = tg::gemm(a, b).value();
        const double* pa = a.value().data();
        const double* pb = b.value().data();
        bool right = y.shape() == parent.shape();
        for (std::size_t i = 0; right && i < 4; ++i)
            for (std::size_t r = 0; r < 512; ++r)
                for (std::size_t c = 0; c < 512; ++c) right = right && y(i, r, c) == pa[i * 512 + r] * pb[i * 512 + c];
        ::_exit(right ? 0 : 1);
    }
    tg::set_num_threads(before);
    REQUIRE(child > 0);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    pid_t done = 0;
    while ((done = ::waitpid(child, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (done == 0) {
        ::kill(child, SIGKILL);
        ::waitpid(child, &status, 0);
    }
    REQUIRE(done == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
