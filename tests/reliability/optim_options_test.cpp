// Optimiser, schedule and clipping options out of range: a ValueError naming the optimiser, the
// option and the value, and the parameters (value, version, gradient) left untouched.
#include <cmath>
#include <limits>

#include <catch2/catch.hpp>

#include "autograd/says.hpp"
#include "snapshot.hpp"

namespace optim = tapegrad::optim;
using reliability::changes_all;
using reliability::snapshot_all;
using tg::TensorF;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

struct Params {
    std::vector<TensorF> list{TensorF({1.0f, -2.0f}, true), TensorF({{0.5f, 0.25f}}, true)};
    Params() {
        for (auto& p : list) p.mutable_grad() = TensorF(xt::xarray<float>(p.value() * 3.0f));
    }
};

template <class Make>
void refused(Make make, const std::string& fragment) {
    Params p;
    const auto before = snapshot_all(p.list);
    CHECK_THROWS_MATCHES(make(p.list), tg::ValueError, Says(fragment));
    CHECK(changes_all(before, p.list) == "");
}

}  // namespace

TEST_CASE("reliability: SGD options out of range", "[reliability][errors][optim]") {
    using O = optim::SGDOptions;
    auto sgd = [](O o) { return [o](auto& ps) { optim::SGD<float>(ps, o); }; };
    refused(sgd({.lr = kNaN}), "SGD: lr is required");
    refused(sgd({.lr = -1e-3}), "SGD: lr is -0.001");
    refused(sgd({.lr = kInf}), "SGD: lr is inf");
    refused(sgd({.lr = 0.1, .momentum = -0.5}), "SGD: momentum is -0.5");
    refused(sgd({.lr = 0.1, .momentum = kNaN}), "SGD: momentum is nan");
    refused(sgd({.lr = 0.1, .momentum = kInf}), "SGD: momentum is inf");
    refused(sgd({.lr = 0.1, .weight_decay = -1}), "SGD: weight_decay is -1");
    refused(sgd({.lr = 0.1, .weight_decay = kInf}), "SGD: weight_decay is inf");
    refused(sgd({.lr = 0.1, .momentum = 0.9, .dampening = 0.5, .nesterov = true}), "nesterov");
}

TEST_CASE("reliability: Adam and AdamW options out of range", "[reliability][errors][optim]") {
    auto adam = [](optim::AdamOptions o) { return [o](auto& ps) { optim::Adam<float>(ps, o); }; };
    auto adamw = [](optim::AdamWOptions o) { return [o](auto& ps) { optim::AdamW<float>(ps, o); }; };
    refused(adam({.lr = -0.1}), "Adam: lr is -0.1");
    refused(adam({.lr = kNaN}), "Adam: lr is nan");
    refused(adam({.beta1 = 1.0}), "Adam: beta1 is 1");
    refused(adam({.beta1 = -0.1}), "Adam: beta1 is -0.1");
    refused(adam({.beta2 = 1.0}), "Adam: beta2 is 1");
    refused(adam({.beta2 = 1.5}), "Adam: beta2 is 1.5");
    refused(adam({.eps = -1e-8}), "Adam: eps is -1e-08");
    refused(adam({.eps = kInf}), "Adam: eps is inf");
    refused(adam({.weight_decay = -1e-2}), "Adam: weight_decay is -0.01");
    refused(adamw({.beta1 = 1.0}), "AdamW: beta1 is 1");
    refused(adamw({.weight_decay = kNaN}), "AdamW: weight_decay is nan");
}

TEST_CASE("reliability: set_lr, schedules and clipping refuse bad values", "[reliability][errors][optim]") {
    Params p;
    optim::Adam<float> adam(p.list, {.lr = 0.01});
    const auto before = snapshot_all(p.list);
    CHECK_THROWS_MATCHES(adam.set_lr(kNaN), tg::ValueError, Says("Adam: lr is nan"));
    CHECK_THROWS_MATCHES(adam.set_lr(-kInf), tg::ValueError, Says("Adam: lr is -inf"));
    CHECK(adam.lr() == 0.01);
    CHECK_THROWS_MATCHES(optim::StepLR(adam, 0), tg::ValueError, Says("step_size is 0"));
    CHECK_THROWS_AS(optim::CosineAnnealingLR(adam, 10, -1.0), tg::ValueError);
    CHECK_THROWS_MATCHES(tg::nn::clip_grad_norm<float>(p.list, -1.0), tg::ValueError, Says("max_norm is -1"));
    CHECK_THROWS_AS(tg::nn::clip_grad_norm<float>(p.list, kNaN), tg::ValueError);
    CHECK(adam.lr() == 0.01);
    CHECK(changes_all(before, p.list) == "");
}

TEST_CASE("reliability: optimiser parameter lists that cannot be trained", "[reliability][errors][optim]") {
    TensorF leaf({1.0f}, true);
    CHECK_THROWS_MATCHES(optim::SGD<float>({}, {.lr = 0.1}), tg::ValueError, Says("SGD"));
    CHECK_THROWS_MATCHES(optim::Adam<float>({TensorF({1.0f})}), tg::ValueError, Says("does not require grad"));
    CHECK_THROWS_MATCHES(optim::Adam<float>({leaf * 2.0f}), tg::ValueError, Says("only leaves"));
    CHECK_THROWS_MATCHES(optim::Adam<float>({TensorF()}), tg::ValueError, Says("undefined"));
}
