// Loss modules: each equals its functional op, and their options are validated.
#include <catch2/catch.hpp>
#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;
namespace nn = tapegrad::nn;

TEST_CASE("Loss modules compute their ops with their reduction", "[nn][loss]") {
    tg::Generator gen(21);
    auto logits = tg::randn<double>({4, 3}, gen);
    auto target = tg::rand<double>({4, 3}, gen);
    tg::Labels labels = {0, 2, 1, 2};
    CHECK(nn::MSELoss<double>()(logits, target).item() == tg::mse_loss(logits, target).item());
    CHECK(nn::MSELoss<double>(tg::Reduction::Sum)(logits, target).item() ==
          tg::mse_loss(logits, target, tg::Reduction::Sum).item());
    CHECK(nn::CrossEntropyLoss<double>()(logits, labels).item() == tg::cross_entropy(logits, labels).item());
    CHECK(nn::CrossEntropyLoss<double>({.label_smoothing = 0.1})(logits, labels).item() ==
          tg::cross_entropy(logits, labels, tg::Reduction::Mean, 0.1).item());
    CHECK(nn::BCEWithLogitsLoss<double>()(logits, target).item() ==
          tg::binary_cross_entropy_with_logits(logits, target).item());
    auto log_probs = tg::log_softmax(logits, -1);
    CHECK(nn::NLLLoss<double>(tg::Reduction::Sum)(log_probs, labels).item() ==
          tg::nll_loss(log_probs, labels, tg::Reduction::Sum).item());
}

TEST_CASE("CrossEntropyLoss: label_smoothing outside [0, 1] is a ValueError", "[nn][loss][errors]") {
    CHECK_THROWS_AS(nn::CrossEntropyLoss<float>({.label_smoothing = -0.1}), tg::ValueError);
    CHECK_THROWS_WITH(nn::CrossEntropyLoss<float>({.label_smoothing = 1.5}), Catch::Contains("label_smoothing is 1.5"));
    CHECK(nn::CrossEntropyLoss<float>({.label_smoothing = 0.1}).to_string() ==
          "CrossEntropyLoss(reduction=mean, label_smoothing=0.1)");
}
