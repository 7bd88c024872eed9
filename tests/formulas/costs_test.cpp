// [F09]-[F12]: cost functions and their gradients with respect to the network's output
// (seeds 001, 002 eqs 2-3, 003 "Cost Function", 004 §2.1 and §3.1). Per sample the cost is the
// document's; batched it is the sum (or, for a mean-reduced loss, the mean) of per-sample costs,
// so row s of the gradient is sample s's closed form (divided by the batch for a mean).
#include <catch2/catch.hpp>

#include "formula_fixtures.hpp"

using namespace formulas;

namespace {

/// Per-sample closed form applied to every row: row s of the result is form(a_s, y_s) / divisor.
Mat per_sample(const Mat& a, const Mat& y, const std::function<Mat(const Mat&, const Mat&)>& form,
               double divisor = 1.0) {
    Mat r = xt::zeros<double>(a.shape());
    for (std::size_t s = 0; s < a.shape(0); ++s) set_sample(r, s, form(sample(a, s), sample(y, s)) / divisor);
    return r;
}

/// sum over everything of (a - y)^2, plain loops.
double sum_squares(const Mat& a, const Mat& y) {
    double c = 0;
    for (std::size_t k = 0; k < a.size(); ++k) c += (a.flat(k) - y.flat(k)) * (a.flat(k) - y.flat(k));
    return c;
}

}  // namespace

TEMPLATE_TEST_CASE("[F09] half sum of squares C = 1/2 sum (y_j - a_j)^2: dC/da_j = a_j - y_j",
                   "[F09][formulas] 001 cost C", float, double) {
    using T = TestType;
    tg::Generator gen(109);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto a = random_leaf<T>({batch, n_out}, gen);
        auto y = random_const<T>({batch, n_out}, gen);
        auto a_mean = tg::Tensor<T>(a.value(), true);
        tg::half_sum_squares(a, y, tg::Reduction::Sum).backward();
        tg::half_sum_squares(a_mean, y, tg::Reduction::Mean).backward();
        const auto form = [](const Mat& as, const Mat& ys) -> Mat { return as - ys; };
        require_matches<T>(grad_of(a), per_sample(values(a), values(y), form), "sum over samples: a - y");
        require_matches<T>(grad_of(a_mean), per_sample(values(a), values(y), form, double(batch)),
                           "mean over samples: (a - y) / B");
    }
}

TEMPLATE_TEST_CASE("[F10] MSE C = (1/n) sum (y*_i - y_i)^2: dC/dy = (2/n)(y - y*)", "[F10][formulas] 003 Cost Function",
                   float, double) {
    using T = TestType;
    tg::Generator gen(110);
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto y = random_leaf<T>({batch, n_out}, gen);
        auto y_star = random_const<T>({batch, n_out}, gen);
        tg::mse_loss(y, y_star, tg::Reduction::Mean).backward();
        const double n = n_out;
        const auto form = [n](const Mat& ys, const Mat& ts) -> Mat { return (2.0 / n) * (ys - ts); };
        // mse_loss's mean over all B n elements is the mean over samples of each sample's C.
        require_matches<T>(grad_of(y), per_sample(values(y), values(y_star), form, double(batch)),
                           "(2/n)(y - y*), mean over samples");
    }
}

TEMPLATE_TEST_CASE("[F11] 004's two losses: 1/(2r) sum gives (yhat - y)/r and the plain sum gives 2(yhat - y)",
                   "[F11][formulas] 004 §2.1; 004 §3.1", float, double) {
    using T = TestType;
    tg::Generator gen(111);
    const double r = n_out;
    const auto halved_form = [r](const Mat& yh, const Mat& ys) -> Mat { return (yh - ys) / r; };
    const auto plain_form = [](const Mat& yh, const Mat& ys) -> Mat { return 2.0 * (yh - ys); };
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto y_hat = random_leaf<T>({batch, n_out}, gen);
        auto y_hat2 = tg::Tensor<T>(y_hat.value(), true);
        auto y = random_const<T>({batch, n_out}, gen);
        (tg::sum(tg::square(y_hat - y)) / T(2 * r)).backward();  // 004 §2.1, summed over samples
        tg::mse_loss(y_hat2, y, tg::Reduction::Sum).backward();  // 004 §3.1
        require_matches<T>(grad_of(y_hat), per_sample(values(y_hat), values(y), halved_form), "(yhat - y)/r");
        require_matches<T>(grad_of(y_hat2), per_sample(values(y_hat), values(y), plain_form), "2(yhat - y)");
    }
    if constexpr (std::is_same_v<T, double>) {
        SECTION("erratum: 004 uses both losses without saying which; their gradients are not interchangeable") {
            auto y_hat = random_leaf<T>({1, n_out}, gen);
            auto y_hat2 = tg::Tensor<T>(y_hat.value(), true);
            auto y = random_const<T>({1, n_out}, gen);
            (tg::sum(tg::square(y_hat - y)) / T(2 * r)).backward();
            tg::mse_loss(y_hat2, y, tg::Reduction::Sum).backward();
            const Mat yh = values(y_hat), ym = values(y);
            const Mat fd_halved = central_differences([&](const Mat& p) { return sum_squares(p, ym) / (2 * r); }, yh);
            const Mat fd_plain = central_differences([&](const Mat& p) { return sum_squares(p, ym); }, yh);
            require_erratum(per_sample(yh, ym, halved_form), grad_of(y_hat2), fd_plain,
                            "(yhat - y)/r used for the plain sum");
            require_erratum(per_sample(yh, ym, plain_form), grad_of(y_hat), fd_halved,
                            "2(yhat - y) used for the 1/(2r) loss");
        }
    }
}

TEMPLATE_TEST_CASE("[F12] cross-entropy C = -sum y_i ln a_i: dC/da_i = -y_i / a_i", "[F12][formulas] 002 eqs 2, 3",
                   float, double) {
    using T = TestType;
    tg::Generator gen(112);
    const auto form = [](const Mat& as, const Mat& ys) -> Mat { return -ys / as; };
    for (std::size_t batch : batch_sizes) {
        INFO("batch " << batch);
        auto a = tg::rand<T>({batch, n_out}, gen, T(0.05), T(1), true);
        auto y = uniform_const<T>({batch, n_out}, gen, 0, 1);
        (-tg::sum(y * tg::log(a))).backward();
        require_matches<T>(grad_of(a), per_sample(values(a), values(y), form), "-y / a");

        // One-hot y through nll_loss(log a): -1/a at the target, 0 elsewhere.
        auto a2 = tg::Tensor<T>(a.value(), true);
        tg::Labels labels = tg::Labels::full({batch}, 0);
        Mat one_hot = xt::zeros<double>({batch, n_out});
        for (std::size_t s = 0; s < batch; ++s) {
            labels[s] = static_cast<std::int64_t>((s + 1) % n_out);
            one_hot(s, labels[s]) = 1;
        }
        tg::nll_loss(tg::log(a2), labels, tg::Reduction::Sum).backward();
        require_matches<T>(grad_of(a2), per_sample(values(a), one_hot, form), "one-hot y: -1/a at the target");
    }
}
