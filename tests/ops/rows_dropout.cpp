// Rows for dropout, dropout2d and dropout1d (ops/dropout.hpp). Each call builds a fresh
// Generator(seed), so every evaluation (and every finite difference) sees the same mask. The
// reference draws the documented stream itself: entry k of the mask (element or channel, row-major)
// is kept when the k-th Generator::uniform() is >= p, and a kept value is x / (1 - p).
#include <cmath>
#include <cstdint>
#include <limits>

#include "op_table.hpp"
#include "reference.hpp"

namespace optable {

namespace {

constexpr std::uint64_t kSeed = 7;

/// x with entry k of the mask applied to the block of `block` consecutive elements k (1 for
/// dropout, the channel's element count for the channel versions).
Array dropout_ref(const Array& x, double p, std::size_t block) {
    tg::Generator gen(kSeed);
    Array out = x;
    for (std::size_t k = 0; block > 0 && k < x.size() / block; ++k) {
        const bool kept = gen.uniform() >= p;
        for (std::size_t i = k * block; i < (k + 1) * block; ++i) out.data()[i] = kept ? x.data()[i] / (1 - p) : 0.0;
    }
    return out;
}

/// The elements of each channel: the product of the dims from `from` on.
std::size_t block_from(const Array& x, std::size_t from) {
    std::size_t n = 1;
    for (std::size_t d = from; d < x.dimension(); ++d) n *= x.shape()[d];
    return n;
}

std::vector<OpInfo> dropout_rows() {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return {
        OpInfo{.name = "dropout (p = 0.3, Generator(7) per call)",
               .op = "dropout",
               .readme = {"`dropout(x[, p, training, gen])`",
                          "x * m / (1 - p), m_k = 1 with probability 1 - p (drawn from gen); x when not training",
                          "dx = g * m / (1 - p)"},
               .fn = op([](const auto& in) {
                   tg::Generator gen(kSeed);
                   return tg::dropout(in[0], 0.3, true, gen);
               }),
               .cases = {{{3, 4}}, {{2, 3, 2}}, {{}}, {{1}}, {{0, 3}}},
               .reference = [](const std::vector<Array>& x) { return dropout_ref(x[0], 0.3, 1); },
               .errors = {error_case("p below 0", {{2, 3}}, [](const auto& x) { tg::dropout(x, -0.1); }, Expect::Value,
                                     {"dropout", "p is -0.1", "[0, 1]"}),
                          error_case("p above 1", {{2, 3}}, [](const auto& x) { tg::dropout(x, 1.5, false); },
                                     Expect::Value, {"dropout", "p is 1.5", "[0, 1]"}),
                          error_case("p NaN", {{2, 3}}, [nan](const auto& x) { tg::dropout(x, nan); }, Expect::Value,
                                     {"dropout", "p is nan"})}},
        OpInfo{.name = "dropout (p = 0 is x)",
               .op = "dropout",
               .fn = op([](const auto& in) {
                   tg::Generator gen(kSeed);
                   return tg::dropout(in[0], 0.0, true, gen);
               }),
               .cases = {{{3, 4}}, {{}}},
               .reference = [](const std::vector<Array>& x) { return x[0]; }},
        OpInfo{.name = "dropout (p = 1 is zeros)",
               .op = "dropout",
               .fn = op([](const auto& in) {
                   tg::Generator gen(kSeed);
                   return tg::dropout(in[0], 1.0, true, gen);
               }),
               .cases = {{{3, 4}}, {{}}},
               .reference = [](const std::vector<Array>& x) { return ref::map(x[0], [](double) { return 0.0; }); }},
        OpInfo{.name = "dropout (not training is x)",
               .op = "dropout",
               .fn = op([](const auto& in) {
                   tg::Generator gen(kSeed);
                   return tg::dropout(in[0], 0.5, false, gen);
               }),
               .cases = {{{3, 4}}, {{}}},
               .reference = [](const std::vector<Array>& x) { return x[0]; }},
        OpInfo{.name = "dropout2d (p = 0.4, whole channels of [N, C, H, W] and [N, C, L])",
               .op = "dropout2d",
               .readme = {"`dropout2d(x[, p, training, gen])`, `dropout1d(...)`",
                          "whole channels x[n, c] zeroed with probability p, kept ones scaled by 1 / (1 - p)",
                          "dx = g * m[n, c] / (1 - p)"},
               .fn = op([](const auto& in) {
                   tg::Generator gen(kSeed);
                   return tg::dropout2d(in[0], 0.4, true, gen);
               }),
               .cases = {{{2, 3, 2, 2}}, {{3, 2, 4}}, {{1, 1, 1, 1}}, {{0, 2, 3, 3}}},
               .reference = [](const std::vector<Array>& x) { return dropout_ref(x[0], 0.4, block_from(x[0], 2)); },
               .errors = {error_case("2-d x", {{2, 3}}, [](const auto& x) { tg::dropout2d(x); }, Expect::Shape,
                                     {"dropout2d", "[2, 3]", "[N, C, H, W]"}),
                          error_case("5-d x", {{1, 2, 1, 1, 2}}, [](const auto& x) { tg::dropout2d(x); }, Expect::Shape,
                                     {"dropout2d", "[1, 2, 1, 1, 2]"}),
                          error_case("p above 1", {{1, 2, 2, 2}}, [](const auto& x) { tg::dropout2d(x, 2.0); },
                                     Expect::Value, {"dropout2d", "p is 2"})}},
        OpInfo{.name = "dropout1d (p = 0.4, [N, C, L] and an unbatched [C, L])",
               .op = "dropout1d",
               .fn = op([](const auto& in) {
                   tg::Generator gen(kSeed);
                   return tg::dropout1d(in[0], 0.4, true, gen);
               }),
               .cases = {{{2, 3, 4}}, {{5, 3}}, {{2, 0, 3}}},
               .reference =
                   [](const std::vector<Array>& x) {
                       return dropout_ref(x[0], 0.4, block_from(x[0], x[0].dimension() - 1));
                   },
               .errors = {error_case("4-d x", {{1, 2, 2, 2}}, [](const auto& x) { tg::dropout1d(x); }, Expect::Shape,
                                     {"dropout1d", "[1, 2, 2, 2]", "[N, C, L]"}),
                          error_case("p below 0", {{2, 3}}, [](const auto& x) { tg::dropout1d(x, -1.0); },
                                     Expect::Value, {"dropout1d", "p is -1"})}},
    };
}

const RegisterFamily registered{{.name = "dropout", .order = 29, .rows = dropout_rows}};

}  // namespace

}  // namespace optable
