// Optimiser state for checkpoints: names, round trips, and validation on load.
#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace optim = tapegrad::optim;

namespace {

std::vector<std::string> names_of(const optim::Optimizer<double>::State& state) {
    std::vector<std::string> out;
    for (const auto& [name, t] : state) out.push_back(name);
    return out;
}

// Two parameters, a fixed gradient for each, n steps.
template <class Opt>
void steps(Opt& opt, int n) {
    for (int i = 0; i < n; ++i) {
        for (auto p : opt.parameters()) p.mutable_grad() = tg::full<double>(p.shape(), 0.5 + i);
        opt.step();
    }
}

std::vector<tg::Tensor<double>> fresh_params() {
    return {tg::ones<double>({2, 3}, true), tg::full<double>({3}, -1.0, true)};
}

}  // namespace

TEST_CASE("Adam: state names its entries and a reload continues identically", "[nn][optim][state]") {
    auto pa = fresh_params();
    optim::Adam<double> a(pa, {.lr = 0.1});
    steps(a, 2);
    auto state = a.state();
    CHECK(names_of(state) == std::vector<std::string>{"lr.0", "step.0", "exp_avg.0", "exp_avg_sq.0", "step.1",
                                                      "exp_avg.1", "exp_avg_sq.1"});
    CHECK(state[1].second.item() == 2.0);

    // A second optimiser over parameters with the same values, given the state, takes the same step.
    std::vector<tg::Tensor<double>> pb;
    for (const auto& p : pa) pb.push_back(p.detach().requires_grad_());
    optim::Adam<double> b(pb, {.lr = 0.5});
    b.load_state(state);
    CHECK(b.lr() == 0.1);
    steps(a, 1);
    steps(b, 1);
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(pa[i].value() == pb[i].value());
}

TEST_CASE("SGD: momentum buffers round-trip through state", "[nn][optim][state]") {
    auto pa = fresh_params();
    optim::SGD<double> a(pa, {.lr = 0.1, .momentum = 0.9});
    CHECK(names_of(a.state()) == std::vector<std::string>{"lr.0"});  // no buffer before the first step
    steps(a, 2);
    CHECK(names_of(a.state()) == std::vector<std::string>{"lr.0", "momentum_buffer.0", "momentum_buffer.1"});
    std::vector<tg::Tensor<double>> pb;
    for (const auto& p : pa) pb.push_back(p.detach().requires_grad_());
    optim::SGD<double> b(pb, {.lr = 0.1, .momentum = 0.9});
    b.load_state(a.state());
    steps(a, 1);
    steps(b, 1);
    for (std::size_t i = 0; i < pa.size(); ++i) CHECK(pa[i].value() == pb[i].value());
}

TEST_CASE("state() returns copies, not the optimiser's buffers", "[nn][optim][state]") {
    auto p = fresh_params();
    optim::Adam<double> opt(p);
    steps(opt, 1);
    auto state = opt.state();
    const auto saved = state[2].second.value();
    steps(opt, 1);
    CHECK(state[2].second.value() == saved);
}

TEST_CASE("load_state: rejects unknown names, bad indices, wrong shapes and partial sets",
          "[nn][optim][state][errors]") {
    auto p = fresh_params();
    optim::Adam<double> adam(p);
    using State = optim::Optimizer<double>::State;
    auto m0 = tg::zeros<double>({2, 3});
    CHECK_THROWS_WITH(adam.load_state(State{{"momentum.0", m0}}), Catch::Contains("unknown entry 'momentum.0'"));
    CHECK_THROWS_WITH(adam.load_state(State{{"exp_avg", m0}}), Catch::Contains("'exp_avg'"));
    CHECK_THROWS_WITH(adam.load_state(State{{"exp_avg.2", m0}}), Catch::Contains("there are 2 parameters"));
    CHECK_THROWS_WITH(adam.load_state(State{{"exp_avg.1", m0}}), Catch::Contains("[2, 3]") && Catch::Contains("[3]"));
    CHECK_THROWS_WITH(adam.load_state(State{{"step.0", tg::Tensor<double>(1.0)}, {"exp_avg.0", m0}}),
                      Catch::Contains("exp_avg_sq.0"));
    CHECK_THROWS_AS(adam.load_state(State{{"step.0", tg::Tensor<double>(1.5)}}), tg::ValueError);
    CHECK_THROWS_AS(adam.load_state(State{{"lr", tg::Tensor<double>(-1.0)}}), tg::ValueError);
    optim::SGD<double> sgd(p, {.lr = 0.1, .momentum = 0.9});
    CHECK_THROWS_WITH(sgd.load_state(State{{"exp_avg.0", m0}}), Catch::Contains("SGD::load_state: unknown entry"));
    // A failed load leaves the state as it was.
    steps(sgd, 1);
    const auto before = sgd.state();
    CHECK_THROWS(sgd.load_state(State{{"momentum_buffer.0", m0}, {"momentum_buffer.1", m0}}));
    CHECK(sgd.state()[1].second.value() == before[1].second.value());
}
