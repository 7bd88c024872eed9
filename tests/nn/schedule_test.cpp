// LambdaLR, LinearLR, OneCycleLR, SequentialLR, ReduceLROnPlateau, and per-group lrs: every lr
// sequence against its closed form (or, for ReduceLROnPlateau, a hand trace of PyTorch's rule).
#include <cmath>
#include <numbers>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace optim = tapegrad::optim;

namespace {

using Vec = std::vector<double>;
const double pi = std::numbers::pi;

struct Two {
    tg::Tensor<double> a = tg::zeros<double>({2}, true);
    tg::Tensor<double> b = tg::zeros<double>({1}, true);
};

/// Group g's lr after construction and after each of n steps.
std::vector<Vec> lrs_over(optim::OptimizerBase& opt, optim::LrSchedule& s, int n) {
    std::vector<Vec> out{opt.lrs()};
    for (int i = 0; i < n; ++i) {
        s.step();
        out.push_back(opt.lrs());
    }
    return out;
}

/// Checks column `group` of `got` against `expected`, to 1e-14 relative.
void check_column(const std::vector<Vec>& got, std::size_t group, const Vec& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t e = 0; e < got.size(); ++e) {
        INFO("epoch " << e << ", group " << group);
        CHECK(got[e].at(group) == Approx(expected[e]).epsilon(1e-14).margin(1e-16));
    }
}

}  // namespace

TEST_CASE("LambdaLR: lr = base_lr lambda(epoch), every group from its own base", "[nn][schedule]") {
    Two t;
    optim::SGD<double> opt({{.params = {t.a}}, {.params = {t.b}, .lr = 0.2}}, {.lr = 0.5});
    optim::LambdaLR one(opt, [](std::size_t e) { return 1.0 / (1.0 + static_cast<double>(e)); });
    const auto got = lrs_over(opt, one, 4);
    check_column(got, 0, {0.5, 0.25, 0.5 / 3, 0.125, 0.1});
    check_column(got, 1, {0.2, 0.1, 0.2 / 3, 0.05, 0.04});
    CHECK(one.to_string() == "LambdaLR(lambdas=2)");  // the one lambda, for each group
}

TEST_CASE("LambdaLR: one lambda per group", "[nn][schedule]") {
    Two t;
    optim::Adam<double> opt({{.params = {t.a}}, {.params = {t.b}, .lr = 0.01}}, {.lr = 0.1});
    optim::LambdaLR each(
        opt, std::vector<optim::LambdaLR::Lambda>{[](std::size_t e) { return std::pow(0.9, static_cast<double>(e)); },
                                                  [](std::size_t e) { return e < 2 ? 1.0 : 0.1; }});
    const auto got = lrs_over(opt, each, 3);
    check_column(got, 0, {0.1, 0.09, 0.081, 0.0729});
    check_column(got, 1, {0.01, 0.01, 0.001, 0.001});
}

TEST_CASE("LinearLR: warms up linearly from start_factor to end_factor, set at construction", "[nn][schedule]") {
    Two t;
    optim::SGD<double> opt({{.params = {t.a}}, {.params = {t.b}, .lr = 0.4}}, {.lr = 0.8});
    optim::LinearLR warmup(opt, 0.25, 1.0, 4);
    // base (0.25 + 0.75 min(e, 4) / 4)
    const auto got = lrs_over(opt, warmup, 6);
    check_column(got, 0, {0.2, 0.35, 0.5, 0.65, 0.8, 0.8, 0.8});
    check_column(got, 1, {0.1, 0.175, 0.25, 0.325, 0.4, 0.4, 0.4});
    CHECK(warmup.to_string() == "LinearLR(start_factor=0.25, end_factor=1, total_iters=4)");
    // PyTorch's defaults: 1/3 to 1 over 5 epochs.
    optim::LinearLR defaults(opt);
    CHECK(opt.lr(0) == Approx(0.8 / 3).epsilon(1e-15));  // from the initial lr, not the warmed-up one
}

TEST_CASE("Schedules: a second schedule starts from the initial lrs, as PyTorch's initial_lr", "[nn][schedule]") {
    Two t;
    optim::SGD<double> opt({t.a}, {.lr = 1.0});
    optim::LinearLR warmup(opt, 0.5, 1.0, 2);
    CHECK(opt.lr() == 0.5);
    optim::CosineAnnealingLR cosine(opt, 4);
    CHECK(cosine.base_lr() == 1.0);
    CHECK(opt.lr() == 1.0);  // built, it set the lr for its epoch 0
    CHECK(opt.initial_lrs() == Vec{1.0});
}

TEST_CASE("StepLR and CosineAnnealingLR: every group from its own base lr", "[nn][schedule]") {
    Two t;
    optim::SGD<double> opt({{.params = {t.a}}, {.params = {t.b}, .lr = 0.1}}, {.lr = 1.0});
    optim::CosineAnnealingLR cosine(opt, 4, 0.05);
    const auto got = lrs_over(opt, cosine, 4);
    const double h = (1 + std::cos(pi / 4)) / 2, l = (1 - std::cos(pi / 4)) / 2;
    check_column(got, 0, {1.0, 0.05 + 0.95 * h, 0.525, 0.05 + 0.95 * l, 0.05});
    check_column(got, 1, {0.1, 0.05 + 0.05 * h, 0.075, 0.05 + 0.05 * l, 0.05});
}

TEST_CASE("OneCycleLR: cosine rise and fall, with momentum cycled the other way", "[nn][schedule][onecycle]") {
    Two t;
    optim::SGD<double> opt({{.params = {t.a}}, {.params = {t.b}}}, {.lr = 0.1, .momentum = 0.9});
    // max_lr 1 and 0.5; initial = max / 4, final = initial / 2; phases end at 0.3 * 10 - 1 = 2 and 9.
    optim::OneCycleLR cycle(opt, Vec{1.0, 0.5},
                            {.total_steps = 10, .pct_start = 0.3, .div_factor = 4, .final_div_factor = 2});
    std::vector<Vec> momenta{{opt.momentum(0), opt.momentum(1)}};
    std::vector<Vec> got{opt.lrs()};
    for (int i = 0; i < 10; ++i) {
        cycle.step();
        got.push_back(opt.lrs());
        momenta.push_back({opt.momentum(0), opt.momentum(1)});
    }
    for (std::size_t g = 0; g < 2; ++g) {
        const double top = g == 0 ? 1.0 : 0.5, initial = top / 4, low = initial / 2;
        // anneal_cos(start, end, pct) = end + (start - end) (1 + cos(pi pct)) / 2
        Vec expected = {initial, top + (initial - top) / 2, top};
        for (int j = 1; j <= 8; ++j) expected.push_back(low + (top - low) * (1 + std::cos(pi * j / 7)) / 2);
        check_column(got, g, expected);
    }
    Vec expected_m = {0.95, 0.9, 0.85};
    for (int j = 1; j <= 8; ++j) expected_m.push_back(0.95 + (0.85 - 0.95) * (1 + std::cos(pi * j / 7)) / 2);
    check_column(momenta, 0, expected_m);
    check_column(momenta, 1, expected_m);
    CHECK(cycle.base_lrs() == Vec{0.25, 0.125});
    CHECK(opt.initial_lrs() == Vec{0.25, 0.125});
    // Past total_steps: refused, as PyTorch, and nothing changes.
    const Vec before = opt.lrs();
    CHECK_THROWS_MATCHES(cycle.step(), tg::ValueError, Says("OneCycleLR: tried to step 11 times; total_steps is 10"));
    CHECK(opt.lrs() == before);
    CHECK(cycle.epoch() == 10);
}

TEST_CASE("OneCycleLR: linear three-phase, Adam's beta1 cycled, a negative lr refused", "[nn][schedule][onecycle]") {
    Two t;
    optim::Adam<double> opt({t.a, t.b});
    using A = optim::OneCycleLROptions::Anneal;
    // initial 0.2, final 0.002; phase ends 0.25 * 10 - 1 = 1.5, 2 * 2.5 - 2 = 3, 9.
    optim::OneCycleLR cycle(opt, 2.0,
                            {.total_steps = 10,
                             .pct_start = 0.25,
                             .anneal_strategy = A::Linear,
                             .base_momentum = 0.8,
                             .max_momentum = 0.9,
                             .div_factor = 10,
                             .final_div_factor = 100,
                             .three_phase = true});
    const auto got = lrs_over(opt, cycle, 9);
    // linear(start, end, pct) = start + (end - start) pct
    Vec expected = {0.2, 0.2 + 1.8 * (1 / 1.5), 2.0 - 1.8 * (0.5 / 1.5), 0.2};
    for (int e = 4; e <= 9; ++e) expected.push_back(0.2 + (0.002 - 0.2) * (e - 3) / 6.0);
    check_column(got, 0, expected);
    // beta1: 0.9 -> 0.8 -> 0.9, then stays at 0.9.
    CHECK(opt.options().beta1 == Approx(0.9).epsilon(1e-15));
    cycle.set_epoch(1);
    CHECK(opt.options().beta1 == Approx(0.9 - 0.1 / 1.5).epsilon(1e-14));
    cycle.set_epoch(9);
    // Step 10 extrapolates the last phase below zero (0.2 - 0.198 * 7 / 6): PyTorch would set that
    // lr; tapegrad refuses it, changing nothing.
    CHECK_THROWS_MATCHES(cycle.step(), tg::ValueError, Says("OneCycleLR at epoch 10: lr is -0.03"));
    CHECK(opt.lr() == Approx(0.002).epsilon(1e-12));
    CHECK(cycle.epoch() == 9);
}

TEST_CASE("OneCycleLR: invalid settings are ValueErrors, the optimiser untouched", "[nn][schedule][onecycle][errors]") {
    Two t;
    optim::SGD<double> sgd({t.a}, {.lr = 0.1, .momentum = 0.9});
    optim::Adagrad<double> adagrad({t.b}, {.lr = 0.3});
    using O = optim::OneCycleLROptions;
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, 1.0, O{}), tg::ValueError, Says("OneCycleLR: total_steps is 0"));
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, 1.0, O{.total_steps = 10, .pct_start = 1.5}), tg::ValueError,
                         Says("pct_start is 1.5"));
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, -1.0, O{.total_steps = 10}), tg::ValueError, Says("max_lr is -1"));
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, 1.0, O{.total_steps = 10, .div_factor = 0}), tg::ValueError,
                         Says("div_factor is 0"));
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, Vec{1.0, 2.0}, O{.total_steps = 10}), tg::ValueError,
                         Says("2 max_lr values for 1 parameter groups"));
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, 1.0, O{.total_steps = 10, .max_momentum = 1.0}), tg::ValueError,
                         Says("base_momentum or max_momentum is 1"));
    // pct_start T = 1: the first phase ends at step 0 where it starts (PyTorch divides by zero).
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, 1.0, O{.total_steps = 10, .pct_start = 0.1}), tg::ValueError,
                         Says("phase 0 (steps 0 to 0) has no length"));
    CHECK_THROWS_MATCHES(optim::OneCycleLR(adagrad, 1.0, O{.total_steps = 10}), tg::ValueError,
                         Says("Adagrad has no momentum or beta1 to cycle; set cycle_momentum = false"));
    CHECK(sgd.lr() == 0.1);
    CHECK(sgd.options().momentum == 0.9);
    CHECK(sgd.initial_lrs() == Vec{0.1});
    CHECK(adagrad.lr() == 0.3);
    optim::OneCycleLR ok(adagrad, 1.0, O{.total_steps = 10, .cycle_momentum = false});
    // anneal_cos(initial, max, 0) = max + (initial - max): 0.04 up to rounding, as PyTorch computes it.
    CHECK(adagrad.lr() == Approx(0.04).epsilon(1e-14));
}

TEST_CASE("SequentialLR: a warm-up, then StepLR from the milestone on", "[nn][schedule][sequential]") {
    Two t;
    optim::SGD<double> opt({{.params = {t.a}}, {.params = {t.b}, .lr = 0.1}}, {.lr = 1.0});
    std::vector<std::unique_ptr<optim::LrSchedule>> s;
    s.push_back(std::make_unique<optim::LinearLR>(opt, 0.5, 1.0, 2));
    s.push_back(std::make_unique<optim::StepLR>(opt, 2, 0.5));
    optim::SequentialLR seq(opt, std::move(s), {2});
    const auto got = lrs_over(opt, seq, 6);
    check_column(got, 0, {0.5, 0.75, 1.0, 1.0, 0.5, 0.5, 0.25});
    check_column(got, 1, {0.05, 0.075, 0.1, 0.1, 0.05, 0.05, 0.025});
    CHECK(seq.to_string() ==
          "SequentialLR(LinearLR(start_factor=0.5, end_factor=1, total_iters=2), StepLR(step_size=2, gamma=0.5), "
          "milestones=[2])");
    CHECK(seq.name() == "SequentialLR");
}

TEST_CASE("SequentialLR: invalid compositions are ValueErrors", "[nn][schedule][sequential][errors]") {
    Two t;
    optim::SGD<double> opt({t.a}, {.lr = 1.0}), other({t.b}, {.lr = 1.0});
    const auto two = [&](optim::OptimizerBase& second) {
        std::vector<std::unique_ptr<optim::LrSchedule>> s;
        s.push_back(std::make_unique<optim::StepLR>(opt, 2));
        s.push_back(std::make_unique<optim::StepLR>(second, 3));
        return s;
    };
    CHECK_THROWS_MATCHES(optim::SequentialLR(opt, two(opt), {}), tg::ValueError,
                         Says("SequentialLR: 0 milestones for 2 schedules"));
    CHECK_THROWS_MATCHES(optim::SequentialLR(opt, two(other), {3}), tg::ValueError,
                         Says("SequentialLR: schedule 1 (StepLR(step_size=3, gamma=0.1)) sets the lr of another"));
    CHECK_THROWS_MATCHES(optim::SequentialLR(opt, {}, {}), tg::ValueError, Says("SequentialLR: no schedules given"));
    auto three = two(opt);
    three.push_back(std::make_unique<optim::StepLR>(opt, 4));
    CHECK_THROWS_MATCHES(optim::SequentialLR(opt, std::move(three), {5, 5}), tg::ValueError,
                         Says("milestones [5, 5] are not increasing"));
}

TEST_CASE("ReduceLROnPlateau: PyTorch's rule, traced by hand", "[nn][schedule][plateau]") {
    Two t;
    optim::SGD<double> opt({t.a}, {.lr = 1.0});
    optim::ReduceLROnPlateau plateau(opt,
                                     {.factor = 0.5, .patience = 2, .threshold = 0.1, .cooldown = 1, .min_lr = {0.1}});
    CHECK(plateau.best() == std::numeric_limits<double>::infinity());
    // rel, min: better means metric < best (1 - 0.1). 10 is the best; 9.5, 9.2, 9.1 are not below 9:
    // the third bad epoch (> patience 2) halves the lr and starts a cooldown of 1, in which 9.0 (bad)
    // is not counted; 8 is better; then every 3 bad epochs past a cooldown halve again, down to
    // min_lr 0.1, where a reduction no longer changes the lr.
    const Vec metrics = {10, 9.5, 9.2, 9.1, 9.0, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
    const Vec lrs = {1,    1,     1,     0.5,   0.5,   0.5, 0.5, 0.5, 0.25, 0.25, 0.25,
                     0.25, 0.125, 0.125, 0.125, 0.125, 0.1, 0.1, 0.1, 0.1,  0.1};
    const std::vector<std::size_t> bad = {0, 1, 2, 0, 0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0};
    for (std::size_t e = 0; e < metrics.size(); ++e) {
        plateau.step(metrics[e]);
        INFO("epoch " << e + 1);
        CHECK(opt.lr() == lrs[e]);
        CHECK(plateau.num_bad_epochs() == bad[e]);
    }
    CHECK(plateau.best() == 8);
    CHECK(plateau.epoch() == metrics.size());
}

TEST_CASE("ReduceLROnPlateau: max mode, absolute threshold, min_lr per group", "[nn][schedule][plateau]") {
    Two t;
    optim::Adam<double> opt({{.params = {t.a}}, {.params = {t.b}}}, {.lr = 1.0});
    using O = optim::ReduceLROnPlateauOptions;
    optim::ReduceLROnPlateau plateau(opt, {.mode = O::Mode::Max,
                                           .patience = 0,
                                           .threshold = 0.01,
                                           .threshold_mode = O::ThresholdMode::Abs,
                                           .min_lr = {0.3, 0.01}});
    plateau.step(0.5);  // best 0.5
    CHECK(opt.lrs() == Vec{1.0, 1.0});
    plateau.step(0.505);  // not above 0.5 + 0.01: bad, > patience 0
    CHECK(opt.lrs()[0] == 0.3);
    CHECK(opt.lrs()[1] == Approx(0.1).epsilon(1e-15));
    plateau.step(0.6);  // better
    CHECK(plateau.best() == 0.6);
    plateau.step(0.6);
    CHECK(opt.lrs()[0] == 0.3);  // held at its min_lr
    CHECK(opt.lrs()[1] == Approx(0.01).epsilon(1e-15));
    // A NaN metric is refused, changing nothing.
    CHECK_THROWS_MATCHES(plateau.step(std::nan("")), tg::ValueError,
                         Says("ReduceLROnPlateau::step: the metric is nan"));
    CHECK(plateau.epoch() == 4);
    CHECK(plateau.to_string() ==
          "ReduceLROnPlateau(mode=max, factor=0.1, patience=0, threshold=0.01, threshold_mode=abs, cooldown=0, "
          "min_lr=[0.3, 0.01], eps=1e-08)");
}

TEST_CASE("ReduceLROnPlateau: invalid settings are ValueErrors", "[nn][schedule][plateau][errors]") {
    Two t;
    optim::SGD<double> opt({t.a}, {.lr = 1.0});
    CHECK_THROWS_MATCHES(optim::ReduceLROnPlateau(opt, {.factor = 1.0}), tg::ValueError,
                         Says("ReduceLROnPlateau: factor is 1; it must be in [0, 1)"));
    CHECK_THROWS_MATCHES(optim::ReduceLROnPlateau(opt, {.threshold = -1}), tg::ValueError, Says("threshold is -1"));
    CHECK_THROWS_MATCHES(optim::ReduceLROnPlateau(opt, {.min_lr = {0.1, 0.2}}), tg::ValueError,
                         Says("2 min_lr values for 1 parameter groups"));
    CHECK_THROWS_MATCHES(optim::ReduceLROnPlateau(opt, {.eps = -1e-8}), tg::ValueError, Says("eps is -1e-08"));
    CHECK(opt.lr() == 1.0);
}

TEST_CASE("Schedules: state() and load_state() round-trip, and refuse what does not fit", "[nn][schedule][state]") {
    Two t;
    optim::SGD<double> opt({{.params = {t.a}}, {.params = {t.b}, .lr = 0.1}}, {.lr = 1.0});
    std::vector<std::unique_ptr<optim::LrSchedule>> s;
    s.push_back(std::make_unique<optim::LinearLR>(opt, 0.5, 1.0, 2));
    s.push_back(std::make_unique<optim::CosineAnnealingLR>(opt, 5));
    optim::SequentialLR seq(opt, std::move(s), {2});
    for (int i = 0; i < 4; ++i) seq.step();
    const auto state = seq.state();
    CHECK(state == optim::LrScheduleState{{"epoch", 4},
                                          {"base_lr.0", 1.0},
                                          {"base_lr.1", 0.1},
                                          {"0.epoch", 0},
                                          {"0.base_lr.0", 1.0},
                                          {"0.base_lr.1", 0.1},
                                          {"1.epoch", 0},
                                          {"1.base_lr.0", 1.0},
                                          {"1.base_lr.1", 0.1}});
    const Vec at4 = opt.lrs();
    seq.set_epoch(0);
    seq.load_state(state);
    CHECK(seq.epoch() == 4);
    CHECK(opt.lrs() == at4);

    const Vec before = opt.lrs();
    using S = optim::LrScheduleState;
    CHECK_THROWS_MATCHES(seq.load_state(S{{"epoch", 1}, {"base_lr.0", 1.0}}), tg::ValueError,
                         Says("SequentialLR::load_state: entry 'base_lr.1' is missing"));
    S bad = state;
    bad.emplace_back("2.epoch", 0);
    CHECK_THROWS_MATCHES(seq.load_state(bad), tg::ValueError,
                         Says("entry '2.epoch' refers to schedule 2, but there are 2"));
    bad = state;
    bad[5].second = -1;  // 0.base_lr.1
    CHECK_THROWS_MATCHES(seq.load_state(bad), tg::ValueError, Says("schedule 0: base_lr.1 is -1"));
    bad = state;
    bad.emplace_back("momentum", 0.9);
    CHECK_THROWS_MATCHES(seq.load_state(bad), tg::ValueError, Says("unknown entry 'momentum'"));
    bad = state;
    bad[0].second = 2.5;
    CHECK_THROWS_MATCHES(seq.load_state(bad), tg::ValueError, Says("entry 'epoch' is 2.5; it must be a whole number"));
    CHECK(seq.epoch() == 4);
    CHECK(opt.lrs() == before);

    optim::ReduceLROnPlateau plateau(opt, {.patience = 1});
    plateau.step(3.0);
    plateau.step(4.0);
    optim::ReduceLROnPlateau again(opt, {.patience = 1});
    again.load_state(plateau.state());
    CHECK(again.best() == 3.0);
    CHECK(again.num_bad_epochs() == 1);
    CHECK(again.epoch() == 2);
    CHECK_THROWS_MATCHES(again.load_state({{"epoch", 1}}), tg::ValueError, Says("entry 'best' is missing"));
    CHECK(again.best() == 3.0);
}

TEST_CASE("Schedules and optimisers: a group out of range is a ValueError", "[nn][schedule][errors]") {
    Two t;
    optim::SGD<double> opt({{.params = {t.a}}, {.params = {t.b}}}, {.lr = 1.0});
    optim::StepLR step(opt, 2);
    CHECK(step.lr_at(3, 1) == Approx(0.1).epsilon(1e-15));
    CHECK_THROWS_MATCHES(step.lr_at(3, 2), tg::ValueError, Says("StepLR: group 2 is out of range; there are 2"));
    CHECK_THROWS_MATCHES(step.base_lr(5), tg::ValueError, Says("group 5 is out of range"));
    CHECK_THROWS_MATCHES(opt.group_of(2), tg::ValueError, Says("SGD::group_of: parameter 2 is out of range"));
    CHECK_THROWS_MATCHES(opt.options(2), tg::ValueError, Says("SGD::options: group 2 is out of range"));
}
