// nn::Dropout and nn::Dropout2d: training and evaluation modes (also through a Sequential), the
// module's own reproducible stream, p checked, the float64 copy.
#include <catch2/catch.hpp>

#include <algorithm>

#include <tapegrad/tapegrad.hpp>

#include "../autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::TensorF;

namespace {

std::size_t zeros_in(const TensorF& y) {
    return static_cast<std::size_t>(std::count(y.value().begin(), y.value().end(), 0.0f));
}

}  // namespace

TEST_CASE("Dropout: drops in training, is the identity after eval(), also inside a Sequential", "[nn][dropout]") {
    tg::Generator gen(1);
    auto drop = std::make_shared<nn::Dropout<float>>(0.5, gen);
    CHECK(drop->to_string() == "Dropout(p=0.5)");
    const TensorF x = tg::ones<float>({32, 32}, true);
    const TensorF y = drop->forward(x);
    CHECK(zeros_in(y) > 0);
    CHECK(zeros_in(y) < 1024);
    nn::Sequential<float> model{std::make_shared<nn::Dense<float>>(32, 32, gen), drop};
    model.eval();
    CHECK_FALSE(drop->is_training());
    CHECK(drop->forward(x).id() == x.id());
    model.train();
    CHECK(zeros_in(drop->forward(x)) > 0);
    CHECK_THROWS_MATCHES(nn::Dropout<float>(1.5), tg::ValueError, Says("Dropout") && Says("p is 1.5"));
    CHECK_THROWS_MATCHES(nn::Dropout2d<float>(-0.5), tg::ValueError, Says("Dropout2d") && Says("p is -0.5"));
}

TEST_CASE("Dropout: each module has its own stream, seeded from the generator given or from manual_seed",
          "[nn][dropout]") {
    const TensorF x = tg::ones<float>({16, 16});
    tg::Generator g1(9), g2(9);
    nn::Dropout<float> a(0.3, g1), b(0.3, g2);
    CHECK(a.forward(x).value() == b.forward(x).value());
    tg::manual_seed(11);
    nn::Dropout<float> c(0.3);
    tg::manual_seed(11);
    nn::Dropout<float> d(0.3);
    (void)tg::randn<float>({100});  // a draw from the default generator does not move d's stream
    CHECK(c.forward(x).value() == d.forward(x).value());
    const std::string state = c.generator().state();
    const xt::xarray<float> next = c.forward(x).value();
    c.generator().set_state(state);
    CHECK(c.forward(x).value() == next);  // replayed
}

TEST_CASE("Dropout2d: whole channels in training, identity in eval", "[nn][dropout]") {
    tg::Generator gen(3);
    nn::Dropout2d<float> drop(0.5, gen);
    const TensorF x = tg::ones<float>({4, 8, 2, 3});
    const TensorF y = drop.forward(x);
    for (std::size_t c = 0; c < 32; ++c) {
        const float* channel = y.value().data() + c * 6;
        CHECK(std::all_of(channel, channel + 6, [&](float v) { return v == channel[0]; }));
    }
    drop.eval();
    CHECK(drop.forward(x).id() == x.id());
}

TEST_CASE("Dropout: to_float64 keeps p, the mode and the stream", "[nn][dropout]") {
    tg::Generator gen(5);
    nn::Dropout<float> drop(0.25, gen);
    auto copy = std::dynamic_pointer_cast<nn::Dropout<double>>(drop.to_float64());
    REQUIRE(copy);
    CHECK(copy->p() == 0.25);
    const TensorF y = drop.forward(tg::ones<float>({10, 10}));
    const tg::TensorD y64 = copy->forward(tg::ones<double>({10, 10}));
    for (std::size_t i = 0; i < 100; ++i) {  // the same mask (each dtype scales by its own 1 / 0.75)
        CHECK((y.value().data()[i] == 0.0f) == (y64.value().data()[i] == 0.0));
    }
    CHECK(std::count(y64.value().begin(), y64.value().end(), 0.0) > 0);
    nn::Dropout2d<float> drop2(0.5, gen);
    drop2.eval();
    auto copy2 = drop2.to_float64();
    CHECK(dynamic_cast<nn::Dropout2d<double>*>(copy2.get()));
    CHECK_FALSE(copy2->is_training());
}
