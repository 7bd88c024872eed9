// Float64 trajectories of every optimiser and option against torch.optim's documented algorithms,
// written here as scalar recurrences: a 3-element parameter descends (or, with maximize, ascends)
// a quadratic whose gradient is known in closed form, a (p - c), and after each step the library's
// parameter must equal the recurrence's to 1e-12 (the two only round differently).
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace optim = tapegrad::optim;

namespace {

using Vec = std::vector<double>;

const Vec p0 = {1.5, -0.7, 0.2};
const Vec a = {1.0, 3.0, 0.5};   // curvatures
const Vec c = {0.3, 0.1, -1.0};  // the minimum
constexpr int kSteps = 12;

/// The gradient of L(p) = 1/2 sum a (p - c)^2, the loss the optimiser is given (closed form).
double grad_of(std::size_t k, double p) {
    return a[k] * (p - c[k]);
}

tg::Tensor<double> vec(const Vec& v) {
    xt::xarray<double> x = xt::xarray<double>::from_shape({v.size()});
    std::copy(v.begin(), v.end(), x.begin());
    return tg::Tensor<double>(std::move(x));
}

/// Runs `steps` steps of the optimiser made by `make` over p (starting at p0) on the loss
/// sign L(p), its gradient from backward; returns p after each step.
template <class Make>
std::vector<Vec> run(Make make, double sign = 1, int steps = kSteps) {
    auto p = vec(p0).requires_grad_();
    auto opt = make(std::vector<tg::Tensor<double>>{p});
    const auto av = vec(a), cv = vec(c);
    std::vector<Vec> out;
    for (int s = 0; s < steps; ++s) {
        opt.zero_grad();
        tg::Tensor<double> loss = tg::sum(av * tg::square(p - cv)) * (0.5 * sign);
        loss.backward();
        opt.step();
        out.emplace_back(p.value().begin(), p.value().end());
    }
    return out;
}

void check_trajectory(const std::vector<Vec>& got, const std::vector<Vec>& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t s = 0; s < got.size(); ++s)
        for (std::size_t k = 0; k < got[s].size(); ++k) {
            INFO("after step " << s + 1 << ", element " << k);
            CHECK(got[s][k] == Approx(expected[s][k]).epsilon(1e-12).margin(1e-14));
        }
}

/// The trajectory of an elementwise recurrence: `update(k, p, g, t)` takes element k of p with
/// its gradient g (of sign L, so that maximize is visible) at step t = 1, 2, ... and returns the
/// new value, keeping its own per-element state.
std::vector<Vec> by_hand(double sign, const std::function<double(std::size_t, double, double, int)>& update) {
    Vec p = p0;
    std::vector<Vec> out;
    for (int t = 1; t <= kSteps; ++t) {
        for (std::size_t k = 0; k < p.size(); ++k) p[k] = update(k, p[k], sign * grad_of(k, p[k]), t);
        out.push_back(p);
    }
    return out;
}

// torch.optim.SGD's documented algorithm.
std::vector<Vec> sgd_by_hand(double lr, double momentum, double dampening, double wd, bool nesterov, bool maximize,
                             double sign = 1) {
    Vec b(3);
    return by_hand(sign, [=, b = b](std::size_t k, double p, double g, int t) mutable {
        if (maximize) g = -g;
        g += wd * p;
        if (momentum != 0) {
            b[k] = t == 1 ? g : momentum * b[k] + (1 - dampening) * g;
            g = nesterov ? g + momentum * b[k] : b[k];
        }
        return p - lr * g;
    });
}

// torch.optim.Adam / AdamW's documented algorithm (amsgrad keeps the maximum of the raw v).
std::vector<Vec> adam_by_hand(double lr, double b1, double b2, double eps, double wd, bool decoupled, bool amsgrad,
                              bool maximize, double sign = 1) {
    Vec m(3), v(3), v_max(3);
    return by_hand(sign, [=, m = m, v = v, v_max = v_max](std::size_t k, double p, double g, int t) mutable {
        if (maximize) g = -g;
        if (decoupled) {
            p *= 1 - lr * wd;
        } else {
            g += wd * p;
        }
        m[k] = b1 * m[k] + (1 - b1) * g;
        v[k] = b2 * v[k] + (1 - b2) * g * g;
        v_max[k] = std::max(v_max[k], v[k]);
        const double m_hat = m[k] / (1 - std::pow(b1, t));
        const double v_hat = (amsgrad ? v_max[k] : v[k]) / (1 - std::pow(b2, t));
        return p - lr * m_hat / (std::sqrt(v_hat) + eps);
    });
}

// torch.optim.RMSprop's documented algorithm (eps outside the square root; buffers start at 0).
std::vector<Vec> rmsprop_by_hand(double lr, double alpha, double eps, double wd, double momentum, bool centered,
                                 bool maximize, double sign = 1) {
    Vec v(3), g_avg(3), b(3);
    return by_hand(sign, [=, v = v, g_avg = g_avg, b = b](std::size_t k, double p, double g, int) mutable {
        if (maximize) g = -g;
        g += wd * p;
        v[k] = alpha * v[k] + (1 - alpha) * g * g;
        double v_tilde = v[k];
        if (centered) {
            g_avg[k] = alpha * g_avg[k] + (1 - alpha) * g;
            v_tilde -= g_avg[k] * g_avg[k];
        }
        if (momentum > 0) {
            b[k] = momentum * b[k] + g / (std::sqrt(v_tilde) + eps);
            return p - lr * b[k];
        }
        return p - lr * g / (std::sqrt(v_tilde) + eps);
    });
}

// torch.optim.Adagrad's documented algorithm.
std::vector<Vec> adagrad_by_hand(double lr, double lr_decay, double wd, double initial, double eps, bool maximize,
                                 double sign = 1) {
    Vec s(3, initial);
    return by_hand(sign, [=, s = s](std::size_t k, double p, double g, int t) mutable {
        if (maximize) g = -g;
        g += wd * p;
        const double clr = lr / (1 + (t - 1) * lr_decay);
        s[k] += g * g;
        return p - clr * g / (std::sqrt(s[k]) + eps);
    });
}

template <class Opt, class Options>
auto make(Options options) {
    return [options](std::vector<tg::Tensor<double>> ps) { return Opt(ps, options); };
}

}  // namespace

TEST_CASE("SGD trajectory: momentum, dampening, nesterov, weight decay", "[nn][optim][trajectory]") {
    using O = optim::SGDOptions;
    check_trajectory(run(make<optim::SGD<double>>(O{.lr = 0.1})), sgd_by_hand(0.1, 0, 0, 0, false, false));
    check_trajectory(run(make<optim::SGD<double>>(O{.lr = 0.05, .momentum = 0.9})),
                     sgd_by_hand(0.05, 0.9, 0, 0, false, false));
    check_trajectory(run(make<optim::SGD<double>>(O{.lr = 0.05, .momentum = 0.8, .dampening = 0.3})),
                     sgd_by_hand(0.05, 0.8, 0.3, 0, false, false));
    check_trajectory(
        run(make<optim::SGD<double>>(O{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true})),
        sgd_by_hand(0.05, 0.9, 0, 0.1, true, false));
}

TEST_CASE("SGD trajectory: maximize ascends, flipping the gradient first", "[nn][optim][trajectory]") {
    // Maximising -L walks the same path as minimising L; the recurrence is given -L's gradient.
    using O = optim::SGDOptions;
    const O o{.lr = 0.05, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true, .maximize = true};
    check_trajectory(run(make<optim::SGD<double>>(o), -1), sgd_by_hand(0.05, 0.9, 0, 0.1, true, true, -1));
    check_trajectory(run(make<optim::SGD<double>>(o), -1), sgd_by_hand(0.05, 0.9, 0, 0.1, true, false));
}

TEST_CASE("Adam trajectory: defaults, L2 weight decay, amsgrad", "[nn][optim][trajectory]") {
    using O = optim::AdamOptions;
    check_trajectory(run(make<optim::Adam<double>>(O{.lr = 0.1})),
                     adam_by_hand(0.1, 0.9, 0.999, 1e-8, 0, false, false, false));
    check_trajectory(
        run(make<optim::Adam<double>>(O{.lr = 0.1, .beta1 = 0.8, .beta2 = 0.9, .eps = 0.05, .weight_decay = 0.2})),
        adam_by_hand(0.1, 0.8, 0.9, 0.05, 0.2, false, false, false));
    // beta2 small and steps that shrink the gradient: v falls below its maximum, so amsgrad differs.
    const O ams{.lr = 0.2, .beta1 = 0.5, .beta2 = 0.6, .eps = 1e-3, .amsgrad = true};
    const auto with = run(make<optim::Adam<double>>(ams));
    check_trajectory(with, adam_by_hand(0.2, 0.5, 0.6, 1e-3, 0, false, true, false));
    const auto without = adam_by_hand(0.2, 0.5, 0.6, 1e-3, 0, false, false, false);
    CHECK(std::abs(with.back()[1] - without.back()[1]) > 1e-6);
}

TEST_CASE("Adam and AdamW trajectories: maximize, and AdamW's decoupled decay with amsgrad",
          "[nn][optim][trajectory]") {
    using O = optim::AdamOptions;
    const O o{
        .lr = 0.1, .beta1 = 0.7, .beta2 = 0.8, .eps = 1e-4, .weight_decay = 0.05, .amsgrad = true, .maximize = true};
    check_trajectory(run(make<optim::Adam<double>>(o), -1),
                     adam_by_hand(0.1, 0.7, 0.8, 1e-4, 0.05, false, true, true, -1));
    check_trajectory(run(make<optim::AdamW<double>>(o), -1),
                     adam_by_hand(0.1, 0.7, 0.8, 1e-4, 0.05, true, true, true, -1));
    check_trajectory(run(make<optim::AdamW<double>>(O{.lr = 0.1, .beta1 = 0.5, .beta2 = 0.7, .weight_decay = 0.3})),
                     adam_by_hand(0.1, 0.5, 0.7, 1e-8, 0.3, true, false, false));
}

TEST_CASE("RMSprop trajectory: defaults, weight decay, momentum, centered, maximize", "[nn][optim][trajectory]") {
    using O = optim::RMSpropOptions;
    check_trajectory(run(make<optim::RMSprop<double>>(O{})), rmsprop_by_hand(1e-2, 0.99, 1e-8, 0, 0, false, false));
    check_trajectory(run(make<optim::RMSprop<double>>(O{.lr = 0.05, .alpha = 0.9, .eps = 0.01, .weight_decay = 0.1})),
                     rmsprop_by_hand(0.05, 0.9, 0.01, 0.1, 0, false, false));
    check_trajectory(run(make<optim::RMSprop<double>>(O{.lr = 0.02, .alpha = 0.8, .momentum = 0.9})),
                     rmsprop_by_hand(0.02, 0.8, 1e-8, 0, 0.9, false, false));
    check_trajectory(run(make<optim::RMSprop<double>>(O{.lr = 0.02, .alpha = 0.8, .eps = 1e-3, .centered = true})),
                     rmsprop_by_hand(0.02, 0.8, 1e-3, 0, 0, true, false));
    const O all{.lr = 0.01,
                .alpha = 0.7,
                .eps = 1e-3,
                .weight_decay = 0.2,
                .momentum = 0.5,
                .centered = true,
                .maximize = true};
    check_trajectory(run(make<optim::RMSprop<double>>(all), -1),
                     rmsprop_by_hand(0.01, 0.7, 1e-3, 0.2, 0.5, true, true, -1));
}

TEST_CASE("Adagrad trajectory: defaults, lr_decay, weight decay, initial accumulator, maximize",
          "[nn][optim][trajectory]") {
    using O = optim::AdagradOptions;
    check_trajectory(run(make<optim::Adagrad<double>>(O{})), adagrad_by_hand(1e-2, 0, 0, 0, 1e-10, false));
    check_trajectory(run(make<optim::Adagrad<double>>(O{.lr = 0.5, .lr_decay = 0.1})),
                     adagrad_by_hand(0.5, 0.1, 0, 0, 1e-10, false));
    check_trajectory(run(make<optim::Adagrad<double>>(
                         O{.lr = 0.3, .weight_decay = 0.2, .initial_accumulator_value = 0.5, .eps = 0.01})),
                     adagrad_by_hand(0.3, 0, 0.2, 0.5, 0.01, false));
    const O all{.lr = 0.4, .lr_decay = 0.05, .weight_decay = 0.1, .initial_accumulator_value = 0.1, .maximize = true};
    check_trajectory(run(make<optim::Adagrad<double>>(all), -1), adagrad_by_hand(0.4, 0.05, 0.1, 0.1, 1e-10, true, -1));
}

TEST_CASE("Optimizers: the new defaults match PyTorch's", "[nn][optim]") {
    auto p = tg::zeros<double>({2}, true);
    const auto r = optim::RMSprop<double>({p}).options();
    CHECK(r.lr == 1e-2);
    CHECK(r.alpha == 0.99);
    CHECK(r.eps == 1e-8);
    CHECK(r.weight_decay == 0);
    CHECK(r.momentum == 0);
    CHECK_FALSE(r.centered);
    CHECK_FALSE(r.maximize);
    const auto g = optim::Adagrad<double>({p}).options();
    CHECK(g.lr == 1e-2);
    CHECK(g.lr_decay == 0);
    CHECK(g.weight_decay == 0);
    CHECK(g.initial_accumulator_value == 0);
    CHECK(g.eps == 1e-10);
    const auto adam = optim::Adam<double>({p}).options();
    CHECK_FALSE(adam.amsgrad);
    CHECK_FALSE(adam.maximize);
    CHECK_FALSE(optim::SGD<double>({p}, {.lr = 0.1}).options().maximize);
}

namespace {

/// Two parameters, both starting at p0 on the same quadratic, in groups g0 and g1 (whose params
/// are filled in here) of one optimiser; returns each one's trajectory.
template <class Opt, class Group, class Options>
std::pair<std::vector<Vec>, std::vector<Vec>> run_groups(Group g0, Group g1, Options defaults) {
    auto p = vec(p0).requires_grad_();
    auto q = vec(p0).requires_grad_();
    g0.params = {p};
    g1.params = {q};
    Opt opt(std::vector<Group>{g0, g1}, defaults);
    const auto av = vec(a), cv = vec(c);
    std::pair<std::vector<Vec>, std::vector<Vec>> out;
    for (int s = 0; s < kSteps; ++s) {
        opt.zero_grad();
        tg::Tensor<double> loss = tg::sum(av * tg::square(p - cv)) * 0.5 + tg::sum(av * tg::square(q - cv)) * 0.5;
        loss.backward();
        opt.step();
        out.first.emplace_back(p.value().begin(), p.value().end());
        out.second.emplace_back(q.value().begin(), q.value().end());
    }
    return out;
}

}  // namespace

TEST_CASE("Parameter groups: each group follows its own options, the rest from the defaults",
          "[nn][optim][groups][trajectory]") {
    SECTION("SGD: another lr, and momentum switched off in one group") {
        const auto [p, q] = run_groups<optim::SGD<double>>(optim::SGDGroup<double>{},
                                                           optim::SGDGroup<double>{.lr = 0.02, .momentum = 0.0},
                                                           optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
        check_trajectory(p, sgd_by_hand(0.1, 0.9, 0, 0, false, false));
        check_trajectory(q, sgd_by_hand(0.02, 0, 0, 0, false, false));
    }
    SECTION("Adam: lr, betas, weight decay and amsgrad per group") {
        const auto [p, q] = run_groups<optim::Adam<double>>(
            optim::AdamGroup<double>{.lr = 0.05},
            optim::AdamGroup<double>{.beta1 = 0.6, .beta2 = 0.7, .weight_decay = 0.1, .amsgrad = true},
            optim::AdamOptions{.lr = 0.2, .eps = 1e-6});
        check_trajectory(p, adam_by_hand(0.05, 0.9, 0.999, 1e-6, 0, false, false, false));
        check_trajectory(q, adam_by_hand(0.2, 0.6, 0.7, 1e-6, 0.1, false, true, false));
    }
    SECTION("AdamW: the default weight decay is AdamW's, a group may turn it off") {
        const auto [p, q] = run_groups<optim::AdamW<double>>(optim::AdamWGroup<double>{},
                                                             optim::AdamWGroup<double>{.lr = 0.3, .weight_decay = 0.0},
                                                             optim::AdamWOptions{.lr = 0.1});
        check_trajectory(p, adam_by_hand(0.1, 0.9, 0.999, 1e-8, 1e-2, true, false, false));
        check_trajectory(q, adam_by_hand(0.3, 0.9, 0.999, 1e-8, 0, true, false, false));
    }
    SECTION("RMSprop: centered and momentum in one group only") {
        const auto [p, q] = run_groups<optim::RMSprop<double>>(
            optim::RMSpropGroup<double>{}, optim::RMSpropGroup<double>{.lr = 0.005, .momentum = 0.5, .centered = true},
            optim::RMSpropOptions{.lr = 0.02, .alpha = 0.9});
        check_trajectory(p, rmsprop_by_hand(0.02, 0.9, 1e-8, 0, 0, false, false));
        check_trajectory(q, rmsprop_by_hand(0.005, 0.9, 1e-8, 0, 0.5, true, false));
    }
    SECTION("Adagrad: lr_decay and the initial accumulator per group") {
        const auto [p, q] = run_groups<optim::Adagrad<double>>(
            optim::AdagradGroup<double>{.lr_decay = 0.2},
            optim::AdagradGroup<double>{.lr = 0.1, .initial_accumulator_value = 1.0}, optim::AdagradOptions{.lr = 0.5});
        check_trajectory(p, adagrad_by_hand(0.5, 0.2, 0, 0, 1e-10, false));
        check_trajectory(q, adagrad_by_hand(0.1, 0, 0, 1.0, 1e-10, false));
    }
}
