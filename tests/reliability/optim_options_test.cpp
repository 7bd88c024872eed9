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
    CHECK_THROWS_MATCHES(optim::SGD<float>(std::vector<TensorF>{}, {.lr = 0.1}), tg::ValueError, Says("SGD"));
    CHECK_THROWS_MATCHES(optim::Adam<float>({TensorF({1.0f})}), tg::ValueError, Says("does not require grad"));
    CHECK_THROWS_MATCHES(optim::Adam<float>({leaf * 2.0f}), tg::ValueError, Says("only leaves"));
    CHECK_THROWS_MATCHES(optim::Adam<float>({TensorF()}), tg::ValueError, Says("undefined"));
}

TEST_CASE("reliability: RMSprop, Adagrad and the new Adam options out of range", "[reliability][errors][optim]") {
    auto rms = [](optim::RMSpropOptions o) { return [o](auto& ps) { optim::RMSprop<float>(ps, o); }; };
    auto adagrad = [](optim::AdagradOptions o) { return [o](auto& ps) { optim::Adagrad<float>(ps, o); }; };
    refused(rms({.lr = -0.01}), "RMSprop: lr is -0.01");
    refused(rms({.alpha = -0.5}), "RMSprop: alpha is -0.5");
    refused(rms({.eps = -1e-8}), "RMSprop: eps is -1e-08");
    refused(rms({.eps = kNaN}), "RMSprop: eps is nan");
    refused(rms({.weight_decay = -1}), "RMSprop: weight_decay is -1");
    refused(rms({.momentum = -0.9}), "RMSprop: momentum is -0.9");
    refused(rms({.momentum = kInf}), "RMSprop: momentum is inf");
    refused(adagrad({.lr = kNaN}), "Adagrad: lr is nan");
    refused(adagrad({.lr_decay = -0.1}), "Adagrad: lr_decay is -0.1");
    refused(adagrad({.weight_decay = -0.1}), "Adagrad: weight_decay is -0.1");
    refused(adagrad({.initial_accumulator_value = -1}), "Adagrad: initial_accumulator_value is -1");
    refused(adagrad({.eps = -1e-10}), "Adagrad: eps is -1e-10");
    auto adamw = [](optim::AdamWOptions o) { return [o](auto& ps) { optim::AdamW<float>(ps, o); }; };
    refused(adamw({.beta2 = 1.0, .amsgrad = true}), "AdamW: beta2 is 1");
    refused(adamw({.beta1 = kNaN, .maximize = true}), "AdamW: beta1 is nan");
}

TEST_CASE("reliability: parameter groups that cannot be trained", "[reliability][errors][optim]") {
    using G = optim::AdamGroup<float>;
    refused(
        [](auto& ps) {
            optim::Adam<float>(std::vector<G>{{.params = {ps[0]}}, {.params = {ps[1], ps[0]}}});
        },
        "Adam: parameters 0 and 2 are the same tensor (shape [2]), in groups 0 and 1");
    refused(
        [](auto& ps) {
            optim::Adam<float>(std::vector<G>{{.params = ps}, {}});
        },
        "Adam: parameter group 1 is empty");
    refused(
        [](auto& ps) {
            optim::Adam<float>(std::vector<G>{{.params = {ps[0]}}, {.params = {ps[1]}, .eps = -1}});
        },
        "Adam (group 1): eps is -1");
    refused(
        [](auto& ps) {
            optim::Adam<float>(std::vector<G>{{.params = {ps[0]}, .beta1 = 1.0}, {.params = {ps[1]}}});
        },
        "Adam (group 0): beta1 is 1");
    refused([](auto& ps) { optim::SGD<float>(std::vector<optim::SGDGroup<float>>{{.params = {ps[0]}, .lr = -1}}, {}); },
            "SGD: lr is -1");
    refused(
        [](auto& ps) {
            optim::RMSprop<float>(
                std::vector<optim::RMSpropGroup<float>>{{.params = {ps[0]}}, {.params = {ps[1]}, .momentum = -1}});
        },
        "RMSprop (group 1): momentum is -1");
}

TEST_CASE("reliability: schedules refuse bad settings, the optimiser left as it was", "[reliability][errors][optim]") {
    Params p;
    optim::SGD<float> sgd({{.params = {p.list[0]}}, {.params = {p.list[1]}, .lr = 0.5}}, {.lr = 0.1, .momentum = 0.9});
    const auto before = snapshot_all(p.list);
    using OC = optim::OneCycleLROptions;
    CHECK_THROWS_MATCHES(optim::LinearLR(sgd, 0.0), tg::ValueError, Says("LinearLR: start_factor is 0"));
    CHECK_THROWS_MATCHES(optim::LinearLR(sgd, 1.5), tg::ValueError, Says("LinearLR: start_factor is 1.5"));
    CHECK_THROWS_MATCHES(optim::LinearLR(sgd, 0.5, 1.5), tg::ValueError, Says("LinearLR: end_factor is 1.5"));
    CHECK_THROWS_MATCHES(optim::LinearLR(sgd, 0.5, 1.0, 0), tg::ValueError, Says("LinearLR: total_iters is 0"));
    CHECK_THROWS_MATCHES(optim::LambdaLR(sgd, optim::LambdaLR::Lambda{}), tg::ValueError, Says("LambdaLR: the lambda"));
    CHECK_THROWS_MATCHES(optim::LambdaLR(sgd, [](std::size_t) { return kNaN; }), tg::ValueError,
                         Says("LambdaLR at epoch 0: lr is nan"));
    CHECK_THROWS_MATCHES(optim::LambdaLR(sgd, std::vector<optim::LambdaLR::Lambda>(3, [](std::size_t) { return 1.0; })),
                         tg::ValueError, Says("LambdaLR: 3 lambdas for 2 parameter groups"));
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, kInf, OC{.total_steps = 5}), tg::ValueError, Says("max_lr is inf"));
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, 1.0, OC{.total_steps = 5, .final_div_factor = -1}), tg::ValueError,
                         Says("final_div_factor is -1"));
    CHECK_THROWS_MATCHES(optim::OneCycleLR(sgd, 1.0, OC{.total_steps = 5, .pct_start = -0.1}), tg::ValueError,
                         Says("pct_start is -0.1"));
    CHECK_THROWS_MATCHES(optim::ReduceLROnPlateau(sgd, {.factor = -0.5}), tg::ValueError, Says("factor is -0.5"));
    CHECK_THROWS_MATCHES(optim::ReduceLROnPlateau(sgd, {.min_lr = {-1.0}}), tg::ValueError, Says("min_lr is -1"));
    CHECK(sgd.lrs() == std::vector<double>{0.1, 0.5});
    CHECK(sgd.options(0).momentum == 0.9);
    CHECK(sgd.initial_lrs() == std::vector<double>{0.1, 0.5});
    CHECK(changes_all(before, p.list) == "");
}

TEST_CASE("reliability: clipping refuses bad norms and values, gradients untouched", "[reliability][errors][optim]") {
    Params p;
    const auto before = snapshot_all(p.list);
    CHECK_THROWS_MATCHES(tg::nn::clip_grad_norm_<float>(p.list, 1.0, 0.0), tg::ValueError, Says("norm_type is 0"));
    CHECK_THROWS_MATCHES(tg::nn::clip_grad_norm_<float>(p.list, 1.0, -kInf), tg::ValueError, Says("norm_type is -inf"));
    CHECK_THROWS_MATCHES(tg::nn::clip_grad_norm_<float>(p.list, 1.0, kNaN), tg::ValueError, Says("norm_type is nan"));
    CHECK_THROWS_MATCHES(tg::nn::clip_grad_value_<float>(p.list, -1.0), tg::ValueError, Says("clip_value is -1"));
    CHECK_THROWS_MATCHES(tg::nn::clip_grad_value_<float>(p.list, kNaN), tg::ValueError, Says("clip_value is nan"));
    CHECK_THROWS_MATCHES(tg::nn::grad_norm<float>(p.list, -2.0), tg::ValueError, Says("grad_norm: norm_type is -2"));
    CHECK(changes_all(before, p.list) == "");
    // A non-finite total with error_if_nonfinite: refused, naming it, nothing scaled.
    p.list[1].mutable_grad().mutable_value()(0, 0) = std::numeric_limits<float>::infinity();
    const auto with_inf = snapshot_all(p.list);
    CHECK_THROWS_MATCHES(tg::nn::clip_grad_norm_<float>(p.list, 1.0, 2.0, true), tg::ValueError,
                         Says("clip_grad_norm_: the total norm of order 2 of the gradients is inf"));
    CHECK(changes_all(with_inf, p.list) == "");
}
