// Parameter groups: param_groups(), per-group lrs, state naming (lr.<g>, old "lr"), and the
// groups' error cases. Trajectories of groups are in optim_trajectory_test.cpp.
#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace optim = tapegrad::optim;

namespace {

using State = optim::Optimizer<double>::State;

std::vector<std::string> names_of(const State& state) {
    std::vector<std::string> out;
    for (const auto& [name, t] : state) out.push_back(name);
    return out;
}

std::vector<std::pair<std::string, xt::xarray<double>>> values_of(const State& state) {
    std::vector<std::pair<std::string, xt::xarray<double>>> out;
    for (const auto& [name, t] : state) out.emplace_back(name, t.value());
    return out;
}

struct Three {
    tg::Tensor<double> a = tg::full<double>({2}, 1.0, true);
    tg::Tensor<double> b = tg::full<double>({3}, -1.0, true);
    tg::Tensor<double> c = tg::full<double>({1}, 0.5, true);
    void grads(double v) {
        for (auto* p : {&a, &b, &c}) p->mutable_grad() = tg::full<double>(p->shape(), v);
    }
};

}  // namespace

TEST_CASE("Parameter groups: param_groups() lists each group's parameters and resolved options",
          "[nn][optim][groups]") {
    Three t;
    optim::SGD<double> sgd({{.params = {t.a, t.b}}, {.params = {t.c}, .lr = 0.01, .nesterov = true}},
                           {.lr = 0.1, .momentum = 0.9, .weight_decay = 1e-4});
    REQUIRE(sgd.num_groups() == 2);
    const auto groups = sgd.param_groups();
    REQUIRE(groups.size() == 2);
    REQUIRE(groups[0].params.size() == 2);
    CHECK(groups[0].params[0].same(t.a));
    CHECK(groups[0].params[1].same(t.b));
    REQUIRE(groups[1].params.size() == 1);
    CHECK(groups[1].params[0].same(t.c));
    CHECK(groups[0].options.lr == 0.1);
    CHECK(groups[1].options.lr == 0.01);
    CHECK(groups[1].options.momentum == 0.9);  // from the defaults
    CHECK(groups[1].options.weight_decay == 1e-4);
    CHECK(groups[1].options.nesterov);
    CHECK_FALSE(groups[0].options.nesterov);
    CHECK(sgd.defaults().lr == 0.1);
    // parameters() runs through the groups in order; group_of maps back.
    REQUIRE(sgd.parameters().size() == 3);
    CHECK(sgd.parameters()[2].same(t.c));
    CHECK(sgd.group_of(0) == 0);
    CHECK(sgd.group_of(2) == 1);
}

TEST_CASE("Parameter groups: each group's lr is read and set on its own", "[nn][optim][groups]") {
    Three t;
    optim::Adam<double> adam({{.params = {t.a}}, {.params = {t.b, t.c}, .lr = 0.5}}, {.lr = 0.1});
    CHECK(adam.lrs() == std::vector<double>{0.1, 0.5});
    adam.set_lr(1, 0.25);
    CHECK(adam.lr(0) == 0.1);
    CHECK(adam.lr(1) == 0.25);
    CHECK(adam.options(1).lr == 0.25);
    CHECK(adam.param_groups()[1].options.lr == 0.25);
    adam.set_lr(0.125);  // every group
    CHECK(adam.lrs() == std::vector<double>{0.125, 0.125});
    CHECK_THROWS_MATCHES(adam.set_lr(2, 0.1), tg::ValueError,
                         Says("Adam::set_lr: group 2 is out of range; there are 2"));
    CHECK_THROWS_MATCHES(adam.lr(2), tg::ValueError, Says("group 2 is out of range"));
    CHECK_THROWS_MATCHES(adam.set_lr(1, -0.5), tg::ValueError, Says("Adam: lr is -0.5"));
    CHECK_THROWS_MATCHES(adam.set_lrs({0.1}), tg::ValueError, Says("1 values for 2 parameter groups"));
    CHECK(adam.lrs() == std::vector<double>{0.125, 0.125});
}

TEST_CASE("Parameter groups: state names one lr per group, buffers by parameter index", "[nn][optim][groups][state]") {
    Three t;
    optim::Adam<double> adam({{.params = {t.a}}, {.params = {t.b, t.c}, .lr = 0.5, .amsgrad = true}}, {.lr = 0.1});
    t.grads(0.5);
    adam.step();
    CHECK(names_of(adam.state()) == std::vector<std::string>{"lr.0", "lr.1", "step.0", "exp_avg.0", "exp_avg_sq.0",
                                                             "step.1", "exp_avg.1", "exp_avg_sq.1", "max_exp_avg_sq.1",
                                                             "step.2", "exp_avg.2", "exp_avg_sq.2",
                                                             "max_exp_avg_sq.2"});
    // Another optimiser grouped the same way takes the state and continues identically.
    Three u{t.a.detach().requires_grad_(), t.b.detach().requires_grad_(), t.c.detach().requires_grad_()};
    optim::Adam<double> twin({{.params = {u.a}}, {.params = {u.b, u.c}, .lr = 0.9, .amsgrad = true}}, {.lr = 0.7});
    twin.load_state(adam.state());
    CHECK(twin.lrs() == std::vector<double>{0.1, 0.5});
    t.grads(-0.25);
    u.grads(-0.25);
    adam.step();
    twin.step();
    CHECK(u.a.value() == t.a.value());
    CHECK(u.b.value() == t.b.value());
    CHECK(u.c.value() == t.c.value());
}

TEST_CASE("Parameter groups: load_state refuses lrs for other groups and amsgrad buffers that do not fit",
          "[nn][optim][groups][state][errors]") {
    Three t;
    optim::Adam<double> adam({{.params = {t.a}}, {.params = {t.b, t.c}, .lr = 0.5, .amsgrad = true}}, {.lr = 0.1});
    t.grads(0.5);
    adam.step();
    const auto before = values_of(adam.state());
    const tg::Tensor<double> lr(0.3);
    CHECK_THROWS_MATCHES(adam.load_state(State{{"lr", lr}}), tg::ValueError, Says("'lr' is not of the form"));
    CHECK_THROWS_MATCHES(adam.load_state(State{{"lr.2", lr}}), tg::ValueError,
                         Says("entry 'lr.2' refers to group 2, but there are 2 parameter groups"));
    CHECK_THROWS_MATCHES(adam.load_state(State{{"lr.1", lr}}), tg::ValueError,
                         Says("the state has lrs for 1 of the 2 parameter groups"));
    auto state = adam.state();
    // exp_avg_sq without its maximum in an amsgrad group, and a maximum in a group without amsgrad.
    State no_max, extra_max = state;
    for (const auto& e : state)
        if (e.first != "max_exp_avg_sq.1") no_max.push_back(e);
    extra_max.emplace_back("max_exp_avg_sq.0", tg::zeros<double>({2}));
    CHECK_THROWS_MATCHES(adam.load_state(no_max), tg::ValueError,
                         Says("parameter 1 needs step.1, exp_avg.1, exp_avg_sq.1, max_exp_avg_sq.1 together"));
    CHECK_THROWS_MATCHES(adam.load_state(extra_max), tg::ValueError,
                         Says("entry 'max_exp_avg_sq.0' does not fit parameter 0: the options of its group 0 make no "
                              "max_exp_avg_sq"));
    CHECK(values_of(adam.state()) == before);
    CHECK(adam.lrs() == std::vector<double>{0.1, 0.5});
}

TEST_CASE("Optimizers: a state saved before parameter groups existed (lr, not lr.0) still loads",
          "[nn][optim][groups][state]") {
    auto p = tg::ones<double>({2}, true);
    optim::SGD<double> sgd({p}, {.lr = 0.1, .momentum = 0.9});
    sgd.load_state(State{{"lr", tg::Tensor<double>(0.25)}, {"momentum_buffer.0", tg::full<double>({2}, 3.0)}});
    CHECK(sgd.lr() == 0.25);
    p.mutable_grad() = tg::ones<double>({2});
    sgd.step();
    // b = 0.9 * 3 + 1 = 3.7; p = 1 - 0.25 * 3.7
    CHECK(p.value()(0) == Approx(1 - 0.25 * 3.7).epsilon(1e-15));
}

TEST_CASE("Parameter groups: refused groups name the problem, nothing is built", "[nn][optim][groups][errors]") {
    Three t;
    const tg::Tensor<double> alias = t.b;
    CHECK_THROWS_MATCHES(optim::SGD<double>({{.params = {t.a, t.b}}, {.params = {t.c, alias}}}, {.lr = 0.1}),
                         tg::ValueError,
                         Says("SGD: parameters 1 and 3 are the same tensor (shape [3]), in groups 0 and 1; some "
                              "parameters appear in more than one parameter group"));
    CHECK_THROWS_MATCHES(optim::Adam<double>({{.params = {t.a}}, {.params = {}}}), tg::ValueError,
                         Says("Adam: parameter group 1 is empty"));
    CHECK_THROWS_MATCHES(optim::Adam<double>(std::vector<optim::AdamGroup<double>>{}), tg::ValueError,
                         Says("Adam: the parameter list is empty"));
    CHECK_THROWS_MATCHES(optim::Adam<double>({{.params = {t.a}}, {.params = {t.b}, .beta1 = 1.5}}), tg::ValueError,
                         Says("Adam (group 1): beta1 is 1.5; it must be in [0, 1)"));
    CHECK_THROWS_MATCHES(optim::RMSprop<double>({{.params = {t.a}, .eps = -1.0}, {.params = {t.b}}}), tg::ValueError,
                         Says("RMSprop (group 0): eps is -1"));
    CHECK_THROWS_MATCHES(optim::SGD<double>({{.params = {t.a}, .lr = 0.1}, {.params = {t.b}}}, {}), tg::ValueError,
                         Says("SGD (group 1): lr is required"));
    CHECK_THROWS_MATCHES(
        optim::SGD<double>({{.params = {t.a}, .lr = 0.1}, {.params = {t.b}, .lr = 0.2, .nesterov = true}}, {}),
        tg::ValueError, Says("SGD (group 1): nesterov needs momentum > 0"));
    // The defaults are checked even where every group overrides them, as PyTorch does.
    CHECK_THROWS_MATCHES(optim::Adagrad<double>({{.params = {t.a}, .lr_decay = 0.0}}, {.lr_decay = -1}), tg::ValueError,
                         Says("Adagrad: lr_decay is -1"));
    // An unset default lr is fine when every group sets one (torch.optim's `required`).
    optim::SGD<double> ok({{.params = {t.a}, .lr = 0.1}, {.params = {t.b}, .lr = 0.2}}, {});
    CHECK(ok.lrs() == std::vector<double>{0.1, 0.2});
    CHECK(t.a.value() == tg::full<double>({2}, 1.0).value());
}

TEST_CASE("Optimizers: momentum() and set_momenta() reach the option OneCycleLR cycles", "[nn][optim][groups]") {
    Three t;
    optim::SGD<double> sgd({{.params = {t.a}}, {.params = {t.b}, .momentum = 0.5, .nesterov = true}},
                           {.lr = 0.1, .momentum = 0.9});
    CHECK(sgd.momentum_name() == "momentum");
    CHECK(sgd.momentum(1) == 0.5);
    sgd.set_momenta({0.8, 0.7});
    CHECK(sgd.options(0).momentum == 0.8);
    CHECK(sgd.options(1).momentum == 0.7);
    // Group 1 is nesterov: momentum 0 is refused there, and nothing changes.
    CHECK_THROWS_MATCHES(sgd.set_momenta({0.0, 0.0}), tg::ValueError,
                         Says("SGD (group 1): nesterov needs momentum > 0"));
    CHECK(sgd.options(0).momentum == 0.8);
    optim::Adam<double> adam({t.c});
    CHECK(adam.momentum_name() == "beta1");
    adam.set_momenta({0.85});
    CHECK(adam.options().beta1 == 0.85);
    CHECK_THROWS_MATCHES(adam.set_momenta({1.0}), tg::ValueError, Says("Adam: beta1 is 1"));
    optim::Adagrad<double> adagrad({t.c});
    CHECK(adagrad.momentum_name().empty());
    CHECK_THROWS_MATCHES(adagrad.momentum(0), tg::ValueError, Says("Adagrad: has no momentum or beta1"));
}
