// Optimisers: two steps of each against the update equations written out with plain loops,
// and option validation.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

#include "autograd/says.hpp"

namespace tg = tapegrad;
namespace optim = tapegrad::optim;

namespace {

using Vec = std::vector<double>;

const Vec p0 = {0.5, -1.25, 2.0, 0.0, -0.3, 1.1};
const Vec g1 = {0.1, -0.4, 0.25, 1.5, -2.0, 0.05};
const Vec g2 = {-0.3, 0.2, 0.6, -1.0, 0.7, -0.05};

tg::Tensor<double> tensor(const Vec& v) {
    xt::xarray<double> a = xt::xarray<double>::from_shape({2, 3});
    std::copy(v.begin(), v.end(), a.begin());
    return tg::Tensor<double>(std::move(a));
}

// Runs two steps of `opt` on a 2 x 3 parameter starting at p0 with gradients g1 then g2,
// and returns the parameter after each step.
template <class Opt, class Options>
std::vector<Vec> run_two_steps(const Options& options) {
    auto p = tensor(p0);
    p.requires_grad_();
    Opt opt({p}, options);
    std::vector<Vec> out;
    for (const Vec* g : {&g1, &g2}) {
        p.mutable_grad() = tensor(*g);
        opt.step();
        out.emplace_back(p.value().begin(), p.value().end());
    }
    return out;
}

void check_close(const Vec& got, const Vec& expected) {
    REQUIRE(got.size() == expected.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
        INFO("element " << k);
        CHECK(got[k] == Approx(expected[k]).epsilon(1e-12).margin(1e-14));
    }
}

// torch.optim.SGD's documented algorithm, one element at a time.
std::vector<Vec> sgd_by_hand(double lr, double momentum, double dampening, double wd, bool nesterov) {
    Vec p = p0, buf(p0.size());
    std::vector<Vec> out;
    int t = 0;
    for (const Vec* g : {&g1, &g2}) {
        ++t;
        for (std::size_t k = 0; k < p.size(); ++k) {
            double d = (*g)[k] + wd * p[k];
            if (momentum != 0) {
                buf[k] = t == 1 ? d : momentum * buf[k] + (1 - dampening) * d;
                d = nesterov ? d + momentum * buf[k] : buf[k];
            }
            p[k] -= lr * d;
        }
        out.push_back(p);
    }
    return out;
}

// Adam in the textbook form (Kingma & Ba with bias-corrected moments), plus L2 or decoupled decay.
std::vector<Vec> adam_by_hand(double lr, double b1, double b2, double eps, double wd, bool decoupled) {
    Vec p = p0, m(p0.size()), v(p0.size());
    std::vector<Vec> out;
    int t = 0;
    for (const Vec* g : {&g1, &g2}) {
        ++t;
        for (std::size_t k = 0; k < p.size(); ++k) {
            double gk = (*g)[k];
            if (decoupled) {
                p[k] -= lr * wd * p[k];
            } else {
                gk += wd * p[k];
            }
            m[k] = b1 * m[k] + (1 - b1) * gk;
            v[k] = b2 * v[k] + (1 - b2) * gk * gk;
            const double m_hat = m[k] / (1 - std::pow(b1, t));
            const double v_hat = v[k] / (1 - std::pow(b2, t));
            p[k] -= lr * m_hat / (std::sqrt(v_hat) + eps);
        }
        out.push_back(p);
    }
    return out;
}

template <class Opt, class Options>
void check_against(const Options& options, const std::vector<Vec>& expected) {
    auto got = run_two_steps<Opt>(options);
    for (std::size_t s = 0; s < 2; ++s) {
        INFO("after step " << s + 1);
        check_close(got[s], expected[s]);
    }
}

}  // namespace

TEST_CASE("SGD: plain steps are p - lr g", "[nn][optim]") {
    check_against<optim::SGD<double>>(optim::SGDOptions{.lr = 0.1}, sgd_by_hand(0.1, 0, 0, 0, false));
}

TEST_CASE("SGD: momentum starts the buffer at the first gradient", "[nn][optim]") {
    check_against<optim::SGD<double>>(optim::SGDOptions{.lr = 0.1, .momentum = 0.9},
                                      sgd_by_hand(0.1, 0.9, 0, 0, false));
}

TEST_CASE("SGD: momentum with dampening", "[nn][optim]") {
    check_against<optim::SGD<double>>(optim::SGDOptions{.lr = 0.05, .momentum = 0.8, .dampening = 0.3},
                                      sgd_by_hand(0.05, 0.8, 0.3, 0, false));
}

TEST_CASE("SGD: nesterov steps along g + momentum buf", "[nn][optim]") {
    check_against<optim::SGD<double>>(optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true},
                                      sgd_by_hand(0.1, 0.9, 0, 0, true));
}

TEST_CASE("SGD: weight decay adds weight_decay p to the gradient", "[nn][optim]") {
    check_against<optim::SGD<double>>(optim::SGDOptions{.lr = 0.1, .weight_decay = 0.01},
                                      sgd_by_hand(0.1, 0, 0, 0.01, false));
    check_against<optim::SGD<double>>(
        optim::SGDOptions{.lr = 0.1, .momentum = 0.5, .weight_decay = 0.2, .nesterov = true},
        sgd_by_hand(0.1, 0.5, 0, 0.2, true));
}

TEST_CASE("Adam: bias-corrected steps with PyTorch's defaults", "[nn][optim]") {
    check_against<optim::Adam<double>>(optim::AdamOptions{}, adam_by_hand(1e-3, 0.9, 0.999, 1e-8, 0, false));
}

TEST_CASE("Adam: eps sits outside the square root, and L2 weight decay joins the gradient", "[nn][optim]") {
    // A large eps makes a misplaced eps visible.
    optim::AdamOptions o{.lr = 0.1, .beta1 = 0.8, .beta2 = 0.9, .eps = 0.5, .weight_decay = 0.1};
    check_against<optim::Adam<double>>(o, adam_by_hand(0.1, 0.8, 0.9, 0.5, 0.1, false));
}

TEST_CASE("AdamW: decoupled weight decay shrinks p by lr weight_decay", "[nn][optim]") {
    check_against<optim::AdamW<double>>(optim::AdamWOptions{}, adam_by_hand(1e-3, 0.9, 0.999, 1e-8, 1e-2, true));
    optim::AdamWOptions o{.lr = 0.1, .beta1 = 0.5, .beta2 = 0.7, .eps = 0.01, .weight_decay = 0.5};
    check_against<optim::AdamW<double>>(o, adam_by_hand(0.1, 0.5, 0.7, 0.01, 0.5, true));
}

TEST_CASE("Optimizers: defaults match PyTorch's", "[nn][optim]") {
    auto p = tg::zeros<float>({2}, true);
    optim::Adam<float> adam({p});
    CHECK(adam.lr() == 1e-3);
    CHECK(adam.options().beta1 == 0.9);
    CHECK(adam.options().beta2 == 0.999);
    CHECK(adam.options().eps == 1e-8);
    CHECK(adam.options().weight_decay == 0);
    optim::AdamW<float> adamw({p});
    CHECK(adamw.options().weight_decay == 1e-2);
    optim::SGD<float> sgd({p}, {.lr = 0.5});
    CHECK(sgd.options().momentum == 0);
    CHECK(sgd.options().dampening == 0);
    CHECK(sgd.options().weight_decay == 0);
    CHECK_FALSE(sgd.options().nesterov);
}

TEST_CASE("Optimizers: a parameter without a gradient is left alone", "[nn][optim]") {
    auto a = tg::ones<float>({3}, true);
    auto b = tg::ones<float>({2}, true);
    optim::Adam<float> opt({a, b}, {.lr = 0.1});
    a.mutable_grad() = tg::ones<float>({3});
    opt.step();
    CHECK(a.value()(0) < 1.0f);
    CHECK(b.value() == tg::ones<float>({2}).value());
    // Its state was not created either: only a's entries (and lr) are listed.
    CHECK(opt.state().size() == 1 + 3);
    opt.zero_grad();
    CHECK_FALSE(a.grad().defined());
}

TEST_CASE("Optimizers: step records nothing and bumps each parameter's version", "[nn][optim]") {
    auto p = tg::ones<float>({4}, true);
    optim::SGD<float> opt({p}, {.lr = 0.1, .momentum = 0.9});
    tg::sum(tg::square(p)).backward();
    const auto version = p.version();
    const auto before = tg::Tape::current().size();
    opt.step();
    CHECK(tg::Tape::current().size() == before);
    CHECK(p.version() == version + 1);
    CHECK(p.value()(0) == Approx(1.0f - 0.1f * 2.0f));
}

TEST_CASE("Optimizers: invalid options are ValueErrors naming the option and value", "[nn][optim][errors]") {
    auto p = tg::zeros<float>({2}, true);
    CHECK_THROWS_WITH(optim::SGD<float>({p}, {.lr = -0.1}), Catch::Contains("SGD: lr is -0.1"));
    CHECK_THROWS_WITH(optim::SGD<float>({p}, {}), Catch::Contains("SGD: lr is required"));
    CHECK_THROWS_WITH(optim::SGD<float>({p}, {.lr = 0.1, .momentum = -1}), Catch::Contains("momentum is -1"));
    CHECK_THROWS_WITH(optim::SGD<float>({p}, {.lr = 0.1, .weight_decay = -0.5}),
                      Catch::Contains("weight_decay is -0.5"));
    CHECK_THROWS_WITH(optim::SGD<float>({p}, {.lr = 0.1, .nesterov = true}), Catch::Contains("nesterov"));
    CHECK_THROWS_WITH(optim::Adam<float>({p}, {.lr = -1}), Catch::Contains("Adam: lr is -1"));
    CHECK_THROWS_WITH(optim::Adam<float>({p}, {.beta1 = 1.0}), Catch::Contains("Adam: beta1 is 1"));
    CHECK_THROWS_WITH(optim::Adam<float>({p}, {.beta2 = -0.1}), Catch::Contains("beta2 is -0.1"));
    CHECK_THROWS_WITH(optim::Adam<float>({p}, {.eps = -1e-8}), Catch::Contains("eps is -1e-08"));
    CHECK_THROWS_WITH(optim::AdamW<float>({p}, {.weight_decay = -0.01}),
                      Catch::Contains("AdamW: weight_decay is -0.01"));
    CHECK_THROWS_AS(optim::Adam<float>({p}, {.beta1 = 1.5}), tg::ValueError);
    optim::Adam<float> ok({p});
    CHECK_THROWS_WITH(ok.set_lr(-2), Catch::Contains("Adam: lr is -2"));
}

TEST_CASE("Optimizers: parameters must be leaves that require grad", "[nn][optim][errors]") {
    auto leaf = tg::ones<float>({2}, true);
    CHECK_THROWS_AS(optim::Adam<float>(std::vector<tg::Tensor<float>>{}), tg::ValueError);
    CHECK_THROWS_WITH(optim::Adam<float>({tg::ones<float>({2})}), Catch::Contains("does not require grad"));
    CHECK_THROWS_WITH(optim::Adam<float>({leaf * 2.0f}), Catch::Contains("only leaves"));
}

namespace {

// Gives p a value of another shape, as code outside the optimiser can.
void replace_value(tg::Tensor<double>& p, xt::xarray<double> value) {
    p.mutable_value() = std::move(value);
}

std::vector<std::pair<std::string, xt::xarray<double>>> values_of(const optim::Optimizer<double>::State& state) {
    std::vector<std::pair<std::string, xt::xarray<double>>> out;
    for (const auto& [name, t] : state) out.emplace_back(name, t.value());
    return out;
}

// Steps `opt` (over a 2 x 3 and a 3-element parameter) once, gives parameter 1 two elements, and
// checks that step() and load_state() refuse before changing parameter 0 or any state.
template <class Make>
void check_reshaped_refused(Make make, const std::string& name) {
    INFO(name);
    auto a = tg::full<double>({2, 3}, 1.0, true);
    auto b = tg::full<double>({3}, 2.0, true);
    auto opt = make(std::vector<tg::Tensor<double>>{a, b});
    a.mutable_grad() = tg::full<double>({2, 3}, 0.5);
    b.mutable_grad() = tg::full<double>({3}, 0.5);
    opt.step();  // the state now holds buffers of the old shapes
    const auto state = opt.state();
    replace_value(b, xt::xarray<double>{7.0, 8.0});
    b.mutable_grad() = tg::full<double>({2}, 0.5);
    const xt::xarray<double> a_before = a.value();
    const auto a_version = a.version();
    const auto b_version = b.version();

    CHECK_THROWS_MATCHES(opt.step(), tg::ValueError,
                         Says(name + "::step: parameter 1 had shape [3]") && Says("now has shape [2]"));
    CHECK(a.value() == a_before);  // parameter 0 is checked and updated first: it was not stepped
    CHECK(a.version() == a_version);
    CHECK(b.value() == xt::xarray<double>{7.0, 8.0});
    CHECK(b.version() == b_version);
    CHECK(values_of(opt.state()) == values_of(state));
    CHECK_THROWS_MATCHES(opt.load_state(state), tg::ValueError,
                         Says(name + "::load_state: parameter 1 had shape [3]") && Says("[2]"));
    CHECK(values_of(opt.state()) == values_of(state));
}

}  // namespace

TEST_CASE("Optimizers: a parameter whose shape changed since construction is refused, nothing written",
          "[nn][optim][errors]") {
    check_reshaped_refused([](auto ps) { return optim::SGD<double>(ps, {.lr = 0.1, .momentum = 0.9}); }, "SGD");
    check_reshaped_refused([](auto ps) { return optim::Adam<double>(ps, {.lr = 0.1}); }, "Adam");
    check_reshaped_refused([](auto ps) { return optim::AdamW<double>(ps, {.lr = 0.1}); }, "AdamW");

    // The shape is the one at construction, whether or not a step has made state yet.
    auto p = tg::ones<double>({2, 2}, true);
    optim::SGD<double> sgd({p}, {.lr = 0.1});
    replace_value(p, xt::xarray<double>{{1.0, 1.0, 1.0}});
    p.mutable_grad() = tg::ones<double>({1, 3});
    CHECK_THROWS_MATCHES(sgd.step(), tg::ValueError, Says("SGD::step: parameter 0 had shape [2, 2]") && Says("[1, 3]"));
    CHECK(p.value() == xt::xarray<double>{{1.0, 1.0, 1.0}});
}

TEST_CASE("Optimizers: a gradient of another shape than its parameter is a ShapeError", "[nn][optim][errors]") {
    auto p = tg::ones<double>({3}, true);
    optim::Adam<double> adam({p}, {.lr = 0.1});
    p.mutable_grad() = tg::ones<double>({4});
    CHECK_THROWS_MATCHES(adam.step(), tg::ShapeError,
                         Says("Adam::step: parameter 0 has shape [3] but its gradient has shape [4]"));
    CHECK(p.value() == tg::ones<double>({3}).value());
    CHECK(adam.state().size() == 1);  // only lr: no moments were made
}

TEST_CASE("Optimizers: the same tensor twice is refused, naming both indices", "[nn][optim][errors]") {
    auto p = tg::ones<double>({2}, true);
    auto q = tg::ones<double>({3}, true);
    const tg::Tensor<double> alias = p;  // another handle to the same tensor
    CHECK_THROWS_MATCHES(optim::SGD<double>({p, p}, {.lr = 0.1}), tg::ValueError,
                         Says("SGD: parameters 0 and 1 are the same tensor (shape [2])"));
    CHECK_THROWS_MATCHES(optim::Adam<double>({p, q, alias}), tg::ValueError,
                         Says("Adam: parameters 0 and 2 are the same tensor"));
    CHECK_THROWS_MATCHES(optim::AdamW<double>({q, p, q}), tg::ValueError,
                         Says("AdamW: parameters 0 and 2 are the same tensor (shape [3])"));
    // Equal values are not the same tensor: a copy is a parameter of its own.
    optim::SGD<double> two({p, p.detach().requires_grad_()}, {.lr = 0.1});
    CHECK(two.parameters().size() == 2);
    CHECK(p.value() == tg::ones<double>({2}).value());
}
