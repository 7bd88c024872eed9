// nn::Embedding (initialisation, padding row, from_pretrained, weight tying with Dense, float64
// copy) and the positional encodings (the sinusoidal table written out, the learned table's
// gradient, the shape errors).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include <tapegrad/tapegrad.hpp>

#include "../autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::Indices;
using tg::TensorD;
using tg::TensorF;

TEST_CASE("Embedding: N(0, 1) initialisation, the padding row zeroed, PyTorch's names and repr", "[nn][embedding]") {
    tg::Generator gen(1);
    nn::Embedding<double> emb(2000, 50, gen, -1);  // padding_idx -1 is row 1999
    REQUIRE(emb.padding_idx() == std::int64_t{1999});
    CHECK(emb.to_string() == "Embedding(2000, 50, padding_idx=1999)");
    const auto named = emb.named_parameters();
    REQUIRE(named.size() == 1);
    CHECK(named[0].first == "weight");
    const auto& w = emb.weight().value();
    double sum = 0, squares = 0;
    for (std::size_t r = 0; r < 1999; ++r) {
        for (std::size_t k = 0; k < 50; ++k) {
            sum += w(r, k);
            squares += w(r, k) * w(r, k);
        }
    }
    const double n = 1999.0 * 50, mean = sum / n, var = squares / n - mean * mean;
    CHECK(std::abs(mean) < 5 / std::sqrt(n));           // 5 sigma of the mean of n N(0, 1) draws
    CHECK(std::abs(var - 1) < 5 * std::sqrt(2.0 / n));  // 5 sigma of the sample variance
    for (std::size_t k = 0; k < 50; ++k) CHECK(w(1999, k) == 0.0);
    CHECK_THROWS_MATCHES(nn::Embedding<float>(3, 2, gen, 3), tg::ValueError, Says("padding_idx 3") && Says("3"));
}

TEST_CASE("Embedding: forward looks rows up, the padding row stays zero through an optimiser step", "[nn][embedding]") {
    tg::Generator gen(2);
    nn::Embedding<double> emb(5, 3, gen, 0);
    const Indices ids = {{0, 4}, {2, 0}};
    const TensorD y = emb(ids);
    REQUIRE(y.shape() == tg::Shape{2, 2, 3});
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK(y.value()(0, 1, k) == emb.weight().value()(4, k));
        CHECK(y.value()(0, 0, k) == 0.0);
        CHECK(y.value()(1, 1, k) == 0.0);
    }
    const xt::xarray<double> before = emb.weight().value();
    tg::optim::SGD<double> sgd(emb.parameters(), {.lr = 0.5});
    tg::sum(y).backward();
    sgd.step();
    const auto& after = emb.weight().value();
    for (std::size_t k = 0; k < 3; ++k) {
        CHECK(after(0, k) == 0.0);
        CHECK(after(2, k) == before(2, k) - 0.5);
        CHECK(after(4, k) == before(4, k) - 0.5);
        CHECK(after(1, k) == before(1, k));
    }
}

TEST_CASE("Embedding::from_pretrained: a copy of the table, frozen by default but still the parameter weight",
          "[nn][embedding]") {
    TensorF table = TensorF(xt::xarray<float>{{1, 2}, {3, 4}, {5, 6}});
    auto frozen = nn::Embedding<float>::from_pretrained(table, true, 1);
    CHECK(frozen.named_parameters().size() == 1);
    CHECK(frozen.named_parameters()[0].first == "weight");
    CHECK_FALSE(frozen.weight().requires_grad());
    CHECK_FALSE(table.requires_grad());
    CHECK(frozen.weight().value()(1, 0) == 3.0f);  // the padding row is not zeroed, as PyTorch's
    const TensorF y = frozen(Indices{2, 1});
    CHECK_FALSE(y.requires_grad());
    CHECK(y.value() == xt::xarray<float>{{5, 6}, {3, 4}});
    table.mutable_value()(0, 0) = 100;  // a copy: the module does not see it
    CHECK(frozen.weight().value()(0, 0) == 1.0f);

    auto trainable = nn::Embedding<float>::from_pretrained(table, false);
    CHECK(trainable.weight().requires_grad());
    tg::sum(trainable(Indices{0, 0})).backward();
    CHECK(trainable.weight().grad().value() == xt::xarray<float>{{2, 2}, {0, 0}, {0, 0}});
    CHECK_THROWS_MATCHES(nn::Embedding<float>::from_pretrained(TensorF({1, 2})), tg::ShapeError,
                         Says("from_pretrained") && Says("[2]"));
}

namespace {

/// A tied language-model head: logits = Embedding(idx) W^T with W the embedding's own table.
class Tied : public nn::Module<double> {
public:
    explicit Tied(tg::Generator& gen)
        : emb(std::make_shared<nn::Embedding<double>>(3, 2, gen)),
          head(std::make_shared<nn::Dense<double>>(emb->weight(), gen, false)) {
        register_module("emb", emb);
        register_module("head", head);
    }
    TensorD forward(const Indices& idx) { return head->forward(emb->forward(idx)); }
    std::string name() const override { return "Tied"; }
    std::shared_ptr<nn::Embedding<double>> emb;
    std::shared_ptr<nn::Dense<double>> head;
};

}  // namespace

TEST_CASE("Embedding and Dense tied: one tensor, listed once, stepped once with the summed gradient",
          "[nn][embedding]") {
    tg::Generator gen(4);
    Tied model(gen);
    CHECK(model.head->weight().id() == model.emb->weight().id());
    const auto named = model.named_parameters();
    REQUIRE(named.size() == 1);
    CHECK(named[0].first == "emb.weight");
    const xt::xarray<double> w = model.emb->weight().value();  // 3 x 2
    const Indices ids = {0, 2};
    const xt::xarray<double> c = {{1, -2, 3}, {0.5, 4, -1}};  // loss = sum(logits * c), logits 2 x 3
    // By hand: h = W[ids] (2 x 2), logits = h W^T. d/dW from the head: c^T h; from the lookup:
    // (c W) added to rows ids.
    xt::xarray<double> expected = xt::zeros<double>({3, 2});
    for (std::size_t j = 0; j < 2; ++j) {
        const auto row = static_cast<std::size_t>(ids[j]);
        for (std::size_t v = 0; v < 3; ++v) {
            for (std::size_t k = 0; k < 2; ++k) {
                expected(v, k) += c(j, v) * w(row, k);  // head: c^T h
                expected(row, k) += c(j, v) * w(v, k);  // lookup: c W at row ids[j]
            }
        }
    }
    tg::optim::SGD<double> sgd(model.parameters(), {.lr = 0.1});
    tg::sum(model.forward(ids) * TensorD(c)).backward();
    REQUIRE(xt::allclose(model.emb->weight().grad().value(), expected, 1e-12, 1e-12));
    sgd.step();
    CHECK(xt::allclose(model.head->weight().value(), w - 0.1 * expected, 1e-12, 1e-12));
}

TEST_CASE("Embedding: to_float64 keeps the values, the padding row and a frozen weight frozen", "[nn][embedding]") {
    tg::Generator gen(5);
    nn::Embedding<float> emb(4, 3, gen, 2);
    auto copy = std::dynamic_pointer_cast<nn::Embedding<double>>(emb.to_float64());
    REQUIRE(copy);
    CHECK(copy->padding_idx() == std::int64_t{2});
    CHECK(copy->weight().value() == xt::xarray<double>(emb.weight().to<double>().value()));
    CHECK(copy->weight().requires_grad());
    auto frozen = nn::Embedding<float>::from_pretrained(emb.weight());
    CHECK_FALSE(std::dynamic_pointer_cast<nn::Embedding<double>>(frozen.to_float64())->weight().requires_grad());
}

TEST_CASE("SinusoidalPositionalEncoding: the table of Attention is all you need, added to [batch, seq, d]",
          "[nn][embedding]") {
    nn::SinusoidalPositionalEncoding<double> pos(50, 7);  // odd d_model: 4 sine and 3 cosine columns
    CHECK(pos.parameters().empty());
    REQUIRE(pos.named_buffers().size() == 1);
    CHECK(pos.named_buffers()[0].first == "pe");
    const auto& pe = pos.pe().value();
    REQUIRE(pe.shape()[0] == 50);
    REQUIRE(pe.shape()[1] == 7);
    for (std::size_t p = 0; p < 50; ++p) {
        for (std::size_t i = 0; i < 7; ++i) {
            const double angle = static_cast<double>(p) / std::pow(10000.0, static_cast<double>(i - i % 2) / 7.0);
            CHECK(pe(p, i) == Approx(i % 2 == 0 ? std::sin(angle) : std::cos(angle)).margin(1e-12));
        }
    }
    tg::Generator gen(6);
    const TensorD x = tg::randn<double>({2, 5, 7}, gen);
    const TensorD y = pos(x);
    for (std::size_t b = 0; b < 2; ++b)
        for (std::size_t s = 0; s < 5; ++s)
            for (std::size_t k = 0; k < 7; ++k) CHECK(y.value()(b, s, k) == x.value()(b, s, k) + pe(s, k));
    CHECK_THROWS_MATCHES(pos(tg::zeros<double>({2, 51, 7})), tg::ShapeError,
                         Says("SinusoidalPositionalEncoding") && Says("[2, 51, 7]") && Says("seq <= 50"));
    CHECK_THROWS_MATCHES(pos(tg::zeros<double>({2, 5, 6})), tg::ShapeError, Says("[2, 5, 6]"));
    auto copy = std::dynamic_pointer_cast<nn::SinusoidalPositionalEncoding<double>>(
        nn::SinusoidalPositionalEncoding<float>(50, 7).to_float64());
    REQUIRE(copy);
    CHECK(xt::allclose(copy->pe().value(), pe, 0, 1e-7));  // the float table, widened
}

TEST_CASE("LearnedPositionalEmbedding: weight rows 0..seq-1 added, their gradient summed over the batch",
          "[nn][embedding]") {
    tg::Generator gen(7);
    nn::LearnedPositionalEmbedding<double> pos(6, 2, gen);
    REQUIRE(pos.named_parameters().size() == 1);
    CHECK(pos.named_parameters()[0].first == "weight");
    const TensorD x = tg::zeros<double>({3, 4, 2});
    const TensorD y = pos(x);
    for (std::size_t s = 0; s < 4; ++s)
        for (std::size_t k = 0; k < 2; ++k) CHECK(y.value()(1, s, k) == pos.weight().value()(s, k));
    tg::sum(y).backward();
    CHECK(pos.weight().grad().value() == xt::xarray<double>{{3, 3}, {3, 3}, {3, 3}, {3, 3}, {0, 0}, {0, 0}});
    CHECK_THROWS_MATCHES(pos(tg::zeros<double>({1, 7, 2})), tg::ShapeError,
                         Says("LearnedPositionalEmbedding") && Says("[1, 7, 2]"));
    auto copy = std::dynamic_pointer_cast<nn::LearnedPositionalEmbedding<double>>(pos.to_float64());
    REQUIRE(copy);
    CHECK(copy->weight().value() == pos.weight().value());
}
