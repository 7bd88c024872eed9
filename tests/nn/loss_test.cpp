// Loss modules: each equals its functional op with its options, and the options are validated
// when the module is built.
#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::Reduction;

TEST_CASE("Loss modules compute their ops with their options", "[nn][loss]") {
    tg::Generator gen(21);
    const auto logits = tg::randn<double>({4, 3}, gen);
    const auto target = tg::rand<double>({4, 3}, gen);
    const auto weight = tg::rand<double>({3}, gen, 0.5, 2.0);
    const tg::Labels labels = {0, 2, 1, 2};
    CHECK(nn::MSELoss<double>()(logits, target).item() == tg::mse_loss(logits, target).item());
    CHECK(nn::MSELoss<double>(Reduction::Sum)(logits, target).item() ==
          tg::mse_loss(logits, target, Reduction::Sum).item());
    CHECK(nn::L1Loss<double>(Reduction::Sum)(logits, target).item() ==
          tg::l1_loss(logits, target, Reduction::Sum).item());
    CHECK(nn::SmoothL1Loss<double>({.beta = 0.5})(logits, target).item() ==
          tg::smooth_l1_loss(logits, target, Reduction::Mean, 0.5).item());
    CHECK(nn::HuberLoss<double>({.reduction = Reduction::Sum, .delta = 2.0})(logits, target).item() ==
          tg::huber_loss(logits, target, Reduction::Sum, 2.0).item());
    CHECK(nn::CrossEntropyLoss<double>()(logits, labels).item() == tg::cross_entropy(logits, labels).item());
    const tg::CrossEntropyOptions<double> xent{
        .weight = weight, .ignore_index = 2, .label_smoothing = 0.1, .reduction = Reduction::Sum};
    CHECK(nn::CrossEntropyLoss<double>(xent)(logits, labels).item() == tg::cross_entropy(logits, labels, xent).item());
    const tg::CrossEntropyOptions<double> soft{.weight = weight, .label_smoothing = 0.2};
    CHECK(nn::CrossEntropyLoss<double>(soft)(logits, target).item() == tg::cross_entropy(logits, target, soft).item());
    const auto log_probs = tg::log_softmax(logits, -1);
    CHECK(nn::NLLLoss<double>(Reduction::Sum)(log_probs, labels).item() ==
          tg::nll_loss(log_probs, labels, Reduction::Sum).item());
    CHECK(nn::NLLLoss<double>({.weight = weight, .ignore_index = 0})(log_probs, labels).item() ==
          tg::nll_loss(log_probs, labels, {.weight = weight, .ignore_index = 0}).item());
    const auto p = tg::sigmoid(logits);
    CHECK(nn::BCELoss<double>({.weight = weight})(p, target).item() ==
          tg::binary_cross_entropy(p, target, weight).item());
    CHECK(nn::BCEWithLogitsLoss<double>()(logits, target).item() ==
          tg::binary_cross_entropy_with_logits(logits, target).item());
    CHECK(nn::BCEWithLogitsLoss<double>({.weight = weight, .pos_weight = weight, .reduction = Reduction::Sum})(logits,
                                                                                                               target)
              .item() == tg::binary_cross_entropy_with_logits(logits, target, weight, weight, Reduction::Sum).item());
    const auto q = tg::softmax(target, -1);
    CHECK(nn::KLDivLoss<double>({.reduction = Reduction::BatchMean})(log_probs, q).item() ==
          tg::kl_div(log_probs, q, Reduction::BatchMean).item());
    CHECK(nn::KLDivLoss<double>({.log_target = true})(log_probs, tg::log(q)).item() ==
          tg::kl_div(log_probs, tg::log(q), Reduction::Mean, true).item());
}

TEST_CASE("Loss modules: bad options are errors naming the module when it is built", "[nn][loss][errors]") {
    CHECK_THROWS_AS(nn::CrossEntropyLoss<float>({.label_smoothing = -0.1}), tg::ValueError);
    CHECK_THROWS_WITH(nn::CrossEntropyLoss<float>({.label_smoothing = 1.5}), Catch::Contains("label_smoothing is 1.5"));
    CHECK_THROWS_WITH(nn::CrossEntropyLoss<float>({.weight = tg::ones<float>({2, 3})}),
                      Catch::Contains("CrossEntropyLoss: weight has shape [2, 3]"));
    CHECK_THROWS_AS(nn::NLLLoss<float>({.weight = tg::ones<float>({})}), tg::ShapeError);
    CHECK_THROWS_WITH(nn::SmoothL1Loss<float>({.beta = -1.0}), Catch::Contains("SmoothL1Loss: beta is -1"));
    CHECK_THROWS_WITH(nn::HuberLoss<float>({.delta = 0.0}), Catch::Contains("HuberLoss: delta is 0"));
    CHECK_THROWS_WITH(nn::MSELoss<float>(Reduction::BatchMean), Catch::Contains("MSELoss: Reduction::BatchMean"));
    CHECK_THROWS_AS(nn::L1Loss<float>(Reduction::BatchMean), tg::ValueError);
    CHECK_THROWS_AS(nn::BCELoss<float>({.reduction = Reduction::BatchMean}), tg::ValueError);
    CHECK_THROWS_AS(nn::BCEWithLogitsLoss<float>(Reduction::BatchMean), tg::ValueError);
    CHECK_NOTHROW(nn::KLDivLoss<float>({.reduction = Reduction::BatchMean}));
}

TEST_CASE("Loss modules print their options", "[nn][loss]") {
    CHECK(nn::CrossEntropyLoss<float>({.label_smoothing = 0.1}).to_string() ==
          "CrossEntropyLoss(weight=none, ignore_index=-100, label_smoothing=0.1, reduction=mean)");
    CHECK(nn::NLLLoss<float>({.weight = tg::ones<float>({10}), .reduction = Reduction::None}).to_string() ==
          "NLLLoss(weight=[10], ignore_index=-100, reduction=none)");
    CHECK(nn::BCEWithLogitsLoss<float>({.pos_weight = tg::ones<float>({3})}).to_string() ==
          "BCEWithLogitsLoss(weight=none, pos_weight=[3], reduction=mean)");
    CHECK(nn::BCELoss<float>().to_string() == "BCELoss(weight=none, reduction=mean)");
    CHECK(nn::MSELoss<float>(Reduction::Sum).to_string() == "MSELoss(reduction=sum)");
    CHECK(nn::L1Loss<float>().to_string() == "L1Loss(reduction=mean)");
    CHECK(nn::SmoothL1Loss<float>({.beta = 0.5}).to_string() == "SmoothL1Loss(reduction=mean, beta=0.5)");
    CHECK(nn::HuberLoss<float>().to_string() == "HuberLoss(reduction=mean, delta=1)");
    CHECK(nn::KLDivLoss<float>({.reduction = Reduction::BatchMean}).to_string() ==
          "KLDivLoss(reduction=batchmean, log_target=false)");
}
