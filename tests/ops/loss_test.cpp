// The losses on values worked out by hand (the op table checks them against loops and finite
// differences): class weights with an ignored target, label smoothing with weights, probability
// targets against class indices, every target ignored, N-d inputs, pos_weight, the smooth_l1 and
// huber pieces, kl_div's 0 log 0 and batchmean; and the two first-order paths of cross_entropy
// (with and without create_graph) agreeing.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
using tg::Reduction;

namespace {

std::vector<double> flat(const tg::TensorD& t) {
    return std::vector<double>(t.value().begin(), t.value().end());
}

tg::TensorD tensor(xt::xarray<double> v, bool requires_grad = false) {
    return tg::TensorD(std::move(v), requires_grad);
}

void check_close(const std::vector<double>& got, const std::vector<double>& want) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("element " << i);
        CHECK(got[i] == Approx(want[i]).margin(1e-12));
    }
}

const double ln2 = std::log(2.0);

// Rows whose softmax is [1/4, 1/2, 1/4] and [1/4, 1/4, 1/2]; a third row to be ignored.
tg::TensorD logits(bool requires_grad = true) {
    return tensor({{0.0, ln2, 0.0}, {0.0, 0.0, ln2}, {5.0, -1.0, 2.0}}, requires_grad);
}

}  // namespace

TEST_CASE("cross_entropy: class weights, an ignored row and Mean's weighted denominator by hand", "[ops][loss]") {
    const tg::TensorD z = logits();
    const tg::Labels y = {0, 2, -100};
    const tg::TensorD w = tensor({1.0, 2.0, 3.0});
    // Row 0: w_0 (-log 1/4) = 2 ln 2; row 1: w_2 (-log 1/2) = 3 ln 2; row 2 ignored. Mean: / (w_0 + w_2).
    check_close(flat(tg::cross_entropy(z, y, {.weight = w, .reduction = Reduction::None})), {2 * ln2, 3 * ln2, 0.0});
    CHECK(tg::cross_entropy(z, y, {.weight = w, .reduction = Reduction::Sum}).item() == Approx(5 * ln2));
    const auto mean = tg::cross_entropy(z, y, {.weight = w});
    CHECK(mean.item() == Approx(5 * ln2 / 4));
    // d/dz = w_t (softmax - onehot) / 4 per row, 0 for the ignored one.
    check_close(flat(tg::grad<double>({mean}, {z})[0]),
                {-3.0 / 16, 1.0 / 8, 1.0 / 16, 3.0 / 16, 3.0 / 16, -3.0 / 8, 0.0, 0.0, 0.0});
    // nll_loss of the log-probabilities is the same loss.
    CHECK(tg::nll_loss(tg::log_softmax(z, 1), y, {.weight = w}).item() == Approx(5 * ln2 / 4));
}

TEST_CASE("cross_entropy: label smoothing mixes in the weighted mean over classes (PyTorch's)", "[ops][loss]") {
    const tg::TensorD z = logits();
    const tg::Labels y = {0, 2, -100};
    const tg::TensorD w = tensor({1.0, 2.0, 3.0});
    // e = 0.3, C = 3. Row 0: 0.7 * 1 * 2 ln2 + 0.1 (1 * 2 ln2 + 2 * ln2 + 3 * 2 ln2) = 2.4 ln2.
    // Row 1: 0.7 * 3 * ln2 + 0.1 (1 * 2 ln2 + 2 * 2 ln2 + 3 * ln2) = 3 ln2. Mean: / (1 + 3).
    const auto none = tg::cross_entropy(z, y, {.weight = w, .label_smoothing = 0.3, .reduction = Reduction::None});
    check_close(flat(none), {2.4 * ln2, 3.0 * ln2, 0.0});
    CHECK(tg::cross_entropy(z, y, {.weight = w, .label_smoothing = 0.3}).item() == Approx(5.4 * ln2 / 4));
    // Without weights: Mean over the two rows that count.
    const double row0 = 0.7 * 2 * ln2 + 0.1 * 5 * ln2, row1 = 0.7 * ln2 + 0.1 * 5 * ln2;
    CHECK(tg::cross_entropy(z, y, {.label_smoothing = 0.3}).item() == Approx((row0 + row1) / 2));
}

TEST_CASE("cross_entropy: probability targets divide Mean by the samples, class indices by the weights",
          "[ops][loss]") {
    const tg::TensorD z = tensor({{0.0, 0.0}}, true);  // log_softmax = [-ln 2, -ln 2]
    const tg::TensorD w = tensor({1.0, 3.0});
    // Class 1 with e = 0.5: 0.5 * 3 * ln2 + 0.25 (1 + 3) ln2 = 2.5 ln2, divided by w_1 = 3.
    CHECK(tg::cross_entropy(z, tg::Labels{1}, {.weight = w, .label_smoothing = 0.5}).item() == Approx(2.5 * ln2 / 3));
    // The same distribution as probabilities, y' = [0.25, 0.75]: (1 * 0.25 + 3 * 0.75) ln2, one sample.
    const tg::TensorD p = tensor({{0.0, 1.0}});
    const auto soft = tg::cross_entropy(z, p, {.weight = w, .label_smoothing = 0.5});
    CHECK(soft.item() == Approx(2.5 * ln2));
    // d/dz = softmax Σ w y' - w y' = [0.5 * 2.5 - 0.25, 0.5 * 2.5 - 2.25].
    check_close(flat(tg::grad<double>({soft}, {z})[0]), {1.0, -1.0});
}

TEST_CASE("cross_entropy and nll_loss: every target ignored gives NaN for Mean and a zero gradient", "[ops][loss]") {
    // PyTorch 2.x: the mean of no terms is NaN (0 / 0); its backward skips the ignored rows.
    const tg::TensorD z = logits();
    const tg::Labels y = {-100, -100, -100};
    const auto mean = tg::cross_entropy(z, y);
    CHECK(std::isnan(mean.item()));
    check_close(flat(tg::grad<double>({mean}, {z})[0]), std::vector<double>(9, 0.0));
    CHECK(tg::cross_entropy(z, y, Reduction::Sum).item() == 0.0);
    const auto nll = tg::nll_loss(z, y);
    CHECK(std::isnan(nll.item()));
    check_close(flat(tg::grad<double>({nll}, {z})[0]), std::vector<double>(9, 0.0));
    // Under create_graph too (the backward composed from ops).
    const auto g = tg::grad<double>({tg::cross_entropy(z, y, {.label_smoothing = 0.1})}, {z}, {}, std::nullopt, true);
    check_close(flat(g[0]), std::vector<double>(9, 0.0));
}

TEST_CASE("cross_entropy: targets out of range are IndexErrors unless they are ignore_index", "[ops][loss][errors]") {
    const tg::TensorD z = logits(false);
    CHECK_THROWS_AS(tg::cross_entropy(z, tg::Labels{0, 3, 1}), tg::IndexError);
    CHECK_THROWS_AS(tg::nll_loss(z, tg::Labels{0, -1, 1}), tg::IndexError);
    CHECK_THROWS_AS(tg::cross_entropy(z, tg::Labels{0, -100, 1}, {.ignore_index = -1}), tg::IndexError);
    // An ignore_index outside the classes, or inside them, as PyTorch allows.
    CHECK(tg::cross_entropy(z, tg::Labels{0, 7, 1}, {.ignore_index = 7, .reduction = Reduction::None}).value()(1) ==
          0.0);
    CHECK(tg::cross_entropy(z, tg::Labels{0, 2, 1}, {.ignore_index = 2, .reduction = Reduction::None}).value()(1) ==
          0.0);
}

TEST_CASE("cross_entropy: N-d logits [N, C, d] and an unbatched [C]", "[ops][loss]") {
    // Position 0 of sample 0: logits [0, 0]; position 1: [ln 3, 0], softmax [3/4, 1/4].
    const tg::TensorD z = tensor(xt::xarray<double>{{{0.0, std::log(3.0)}, {0.0, 0.0}}}, true);
    const tg::Labels y = {{0, 1}};
    const auto none = tg::cross_entropy(z, y, Reduction::None);
    CHECK(none.shape() == tg::Shape{1, 2});
    check_close(flat(none), {ln2, 2 * ln2});
    const auto mean = tg::cross_entropy(z, y);
    CHECK(mean.item() == Approx(1.5 * ln2));
    // d/dz[0, c, k] = (softmax - onehot) / 2, the class dim being 1.
    check_close(flat(tg::grad<double>({mean}, {z})[0]), {-0.25, 0.375, 0.25, -0.375});
    const tg::TensorD single = tensor({0.0, ln2, 0.0});  // softmax [1/4, 1/2, 1/4]
    const auto one = tg::cross_entropy(single, tg::Labels::full({}, 1), Reduction::None);
    CHECK(one.ndim() == 0);
    CHECK(one.item() == Approx(ln2));
}

TEST_CASE("cross_entropy: the create_graph backward equals the fused one", "[ops][loss]") {
    // The same first derivative two ways (the table checks each against finite differences):
    // weights, an ignored target, smoothing, N-d, Reduction::None with a non-uniform seed.
    tg::Generator gen(5);
    const auto z = tg::randn<double>({2, 3, 4}, gen, 0.0, 1.0, true);
    const auto seed = tg::randn<double>({2, 4}, gen);
    const tg::Labels y = {{0, 2, -100, 1}, {1, 1, 0, -100}};
    const tg::CrossEntropyOptions<double> o{
        .weight = tensor({0.5, 2.0, 1.5}), .label_smoothing = 0.2, .reduction = Reduction::None};
    const auto fused = tg::grad<double>({tg::cross_entropy(z, y, o)}, {z}, {seed})[0];
    const auto composed = tg::grad<double>({tg::cross_entropy(z, y, o)}, {z}, {seed}, std::nullopt, true)[0];
    check_close(flat(composed), flat(fused));
}

TEST_CASE("binary_cross_entropy_with_logits: pos_weight by hand, finite for large |z|", "[ops][loss]") {
    const tg::TensorD z = tensor({0.0, 0.0, 100.0, -100.0}, true);
    const tg::TensorD y = tensor({1.0, 0.0, 0.0, 1.0});
    const tg::TensorD pw = tensor({3.0, 3.0, 2.0, 2.0});
    // (1 - y) z + (1 + (pw - 1) y) log(1 + e^-z): 3 ln2, ln2, 100 + e^-100, 2 (100 + log(1 + e^-100)).
    const auto loss = tg::binary_cross_entropy_with_logits(z, y, {}, pw, Reduction::None);
    check_close(flat(loss), {3 * ln2, ln2, 100.0, 200.0});
    // d/dz = (1 - y) - (1 + (pw - 1) y) sigmoid(-z): -1.5, 0.5, 1, -2.
    check_close(flat(tg::grad<double>({tg::sum(loss)}, {z})[0]), {-1.5, 0.5, 1.0, -2.0});
    const tg::TensorD w = tensor({2.0});
    CHECK(tg::binary_cross_entropy_with_logits(z, y, w, pw, Reduction::Sum).item() == Approx(2 * (4 * ln2 + 300.0)));
}

TEST_CASE("binary_cross_entropy: a weight per class scales each column", "[ops][loss]") {
    const tg::TensorD p = tensor({{0.5, 0.25}});
    const tg::TensorD y = tensor({{1.0, 0.0}});
    // -log 0.5 = ln 2 and -log 0.75, weighted 2 and 4.
    check_close(flat(tg::binary_cross_entropy(p, y, tensor({2.0, 4.0}), Reduction::None)),
                {2 * ln2, -4 * std::log(0.75)});
}

TEST_CASE("smooth_l1_loss and huber_loss: the quadratic and the linear piece", "[ops][loss]") {
    const tg::TensorD p = tensor({0.25, -2.0}, true);
    const tg::TensorD t = tensor({0.0, 0.0});
    auto none_and_grad = [&](const tg::TensorD& loss) {
        return std::pair{flat(loss), flat(tg::grad<double>({tg::sum(loss)}, {p})[0])};
    };
    auto [s1, g1] = none_and_grad(tg::smooth_l1_loss(p, t, Reduction::None, 1.0));
    check_close(s1, {0.03125, 1.5});
    check_close(g1, {0.25, -1.0});
    auto [s2, g2] = none_and_grad(tg::smooth_l1_loss(p, t, Reduction::None, 0.5));
    check_close(s2, {0.0625, 1.75});
    check_close(g2, {0.5, -1.0});
    auto [h, gh] = none_and_grad(tg::huber_loss(p, t, Reduction::None, 0.5));
    check_close(h, {0.03125, 0.875});  // 0.5 smooth_l1 with beta 0.5
    check_close(gh, {0.25, -0.5});
    check_close(flat(tg::smooth_l1_loss(p, t, Reduction::None, 0.0)), {0.25, 2.0});  // l1
    CHECK_THROWS_AS(tg::huber_loss(p, t, Reduction::Mean, -1.0), tg::ValueError);
    CHECK_THROWS_AS(tg::smooth_l1_loss(p, t, Reduction::Mean, std::nan("")), tg::ValueError);
}

TEST_CASE("kl_div: 0 log 0 = 0 with a finite gradient, and batchmean", "[ops][loss]") {
    const tg::TensorD q =
        tensor({{std::log(0.2), std::log(0.4), std::log(0.4)}, {std::log(0.5), std::log(0.25), std::log(0.25)}}, true);
    const tg::TensorD p = tensor({{0.0, 0.5, 0.5}, {0.5, 0.5, 0.0}}, true);
    // Row 0: 2 * 0.5 log(0.5 / 0.4) = log 1.25; row 1: 0.5 log 1 + 0.5 log 2.
    const double total = std::log(1.25) + 0.5 * ln2;
    const auto batchmean = tg::kl_div(q, p, Reduction::BatchMean);
    CHECK(batchmean.item() == Approx(total / 2));
    CHECK(tg::kl_div(q, p).item() == Approx(total / 6));  // 'mean': over all elements
    const auto g = tg::grad<double>({batchmean}, {q, p});
    check_close(flat(g[0]), {0.0, -0.25, -0.25, -0.25, -0.25, 0.0});  // -p / 2
    // d/dp = (log p + 1 - q) / 2, where p = 0 (log p + 1 taken as 0, the limit being -inf) -q / 2.
    const std::vector<double> gp = flat(g[1]);
    CHECK(gp[0] == Approx(-std::log(0.2) / 2));
    CHECK(gp[5] == Approx(-std::log(0.25) / 2));
    CHECK(gp[1] == Approx((std::log(0.5) + 1 - std::log(0.4)) / 2));
    // log_target: the same divergence with log p as the target.
    const tg::TensorD logp = tensor({{std::log(0.5), std::log(0.5)}});
    const tg::TensorD q2 = tensor({{std::log(0.25), std::log(0.75)}});
    CHECK(tg::kl_div(q2, logp, Reduction::Sum, true).item() == Approx(0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3)));
}

TEST_CASE("cosine_embedding_loss and margin_ranking_loss by hand", "[ops][loss]") {
    const tg::TensorD x1 = tensor({{1.0, 0.0}, {1.0, 0.0}, {3.0, 4.0}});
    const tg::TensorD x2 = tensor({{0.0, 1.0}, {0.0, 1.0}, {3.0, 4.0}});
    const tg::TensorD y = tensor({1.0, -1.0, 1.0});
    // cos = 0, 0, 1: 1 - 0, max(0, 0 + 0.5), 1 - 1.
    check_close(flat(tg::cosine_embedding_loss(x1, x2, y, -0.5, Reduction::None)), {1.0, 0.5, 0.0});
    check_close(
        flat(tg::margin_ranking_loss(tensor({1.0, 1.0}), tensor({2.0, 0.0}), tensor({1.0, 1.0}), 0.5, Reduction::None)),
        {1.5, 0.0});
}
