// Checkpointed segments of a Sequential (checkpoint_sequential, set_checkpoint_segments): the same
// gradients and dropout streams as without, train/eval honoured, the memory saved, errors.
#include <catch2/catch.hpp>

#include <tapegrad/tapegrad.hpp>

#include "../autograd/says.hpp"

namespace tg = tapegrad;
namespace nn = tapegrad::nn;
using tg::TensorD;
using tg::TensorF;

namespace {

// Dense 6 -> 8, Tanh, Dropout(0.3), Dense 8 -> 8, Tanh, Dropout(0.3), Dense 8 -> 3: seven modules.
nn::Sequential<float> model() {
    tg::Generator gen(12);
    nn::Sequential<float> seq;
    seq.push_back(std::make_shared<nn::Dense<float>>(6, 8, gen));
    seq.push_back(std::make_shared<nn::Tanh<float>>());
    seq.push_back(std::make_shared<nn::Dropout<float>>(0.3, gen));
    seq.push_back(std::make_shared<nn::Dense<float>>(8, 8, gen));
    seq.push_back(std::make_shared<nn::Tanh<float>>());
    seq.push_back(std::make_shared<nn::Dropout<float>>(0.3, gen));
    seq.push_back(std::make_shared<nn::Dense<float>>(8, 3, gen));
    return seq;
}

// Two training steps' worth of gradients (accumulated) and the dropout streams' states after them.
std::vector<xt::xarray<float>> gradients(nn::Sequential<float>& seq, std::size_t segments) {
    seq.set_checkpoint_segments(segments);
    tg::Generator gen(3);
    for (int step = 0; step < 2; ++step) {
        const TensorF x = tg::randn<float>({5, 6}, gen);
        tg::sum(tg::square(seq(x))).backward();
    }
    std::vector<xt::xarray<float>> out;
    for (const auto& p : seq.parameters()) out.push_back(p.grad().value());
    return out;
}

std::vector<std::string> streams(nn::Sequential<float>& seq) {
    return {seq.at<nn::Dropout<float>>(2)->generator().state(), seq.at<nn::Dropout<float>>(5)->generator().state()};
}

}  // namespace

TEST_CASE("checkpoint_sequential: the gradients and dropout streams of the plain model", "[nn][checkpoint]") {
    auto plain = model();
    const auto expected = gradients(plain, 0);
    for (std::size_t segments : {1, 2, 3, 7}) {
        INFO("segments: " << segments);
        auto checkpointed = model();
        const auto got = gradients(checkpointed, segments);
        REQUIRE(got.size() == expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == expected[i]);
        CHECK(streams(checkpointed) == streams(plain));
    }
}

TEST_CASE("checkpoint_sequential: segments as even as they can be, each one op", "[nn][checkpoint]") {
    auto seq = model();
    const TensorF x = tg::ones<float>({2, 6});
    const std::size_t before = tg::Tape::current().size();
    const TensorF y = nn::checkpoint_sequential(seq, 3, x);  // modules 0-2, 3-4, 5-6
    CHECK(tg::Tape::current().size() == before + 3);
    CHECK(tg::Tape::current().op_names() == std::vector<std::string>{"checkpoint", "checkpoint", "checkpoint"});
    CHECK(y.grad_fn_name() == "checkpoint");
}

TEST_CASE("Sequential::set_checkpoint_segments: evaluation and no-grad run plainly", "[nn][checkpoint]") {
    auto seq = model();
    seq.set_checkpoint_segments(2);
    const TensorF x = tg::ones<float>({2, 6});
    seq.eval();
    CHECK(seq(x).grad_fn_name() == "linear");  // the last Dense's op: no checkpoint, no dropout
    seq.train();
    CHECK(seq(x).grad_fn_name() == "checkpoint");
    tg::NoGradGuard off;
    CHECK_FALSE(seq(x).requires_grad());
}

TEST_CASE("checkpoint_sequential: gradcheck_module of a checkpointed model", "[nn][checkpoint]") {
    tg::Generator gen(4);
    nn::Sequential<float> seq{std::make_shared<nn::Dense<float>>(3, 4, gen), std::make_shared<nn::Tanh<float>>(),
                              std::make_shared<nn::Dense<float>>(4, 2, gen), std::make_shared<nn::Sigmoid<float>>()};
    seq.set_checkpoint_segments(2);
    const TensorF x = tg::randn<float>({2, 3}, gen, 0.0F, 1.0F, true);
    auto first = nn::gradcheck_module(seq, x);
    INFO(first.report());
    CHECK(first.ok);
    CHECK(nn::gradgradcheck_module(seq, x).ok);
}

TEST_CASE("checkpoint_sequential: the activations a backward holds, counted in bytes", "[nn][checkpoint][memory]") {
    // Four Dense 16 -> 16 + Tanh pairs on [4, 16] float32: 256 bytes per activation. Plainly the
    // graph holds the 7 activations after x; in 4 segments, the 3 segment outputs that feed the next
    // plus, while one segment is computed or recomputed, its Dense's output.
    tg::Generator gen(6);
    nn::Sequential<float> seq;
    for (int i = 0; i < 4; ++i) {
        seq.push_back(std::make_shared<nn::Dense<float>>(16, 16, gen));
        seq.push_back(std::make_shared<nn::Tanh<float>>());
    }
    const TensorF x = tg::randn<float>({4, 16}, gen);
    auto peak = [&](std::size_t segments) {
        auto& tape = tg::Tape::current();
        const std::size_t base = tape.saved_bytes();
        tape.reset_peak_saved_bytes();
        seq.set_checkpoint_segments(segments);
        const TensorF y = seq(x);
        y.backward(tg::ones_like(y));
        CHECK(tape.saved_bytes() == base);
        return tape.peak_saved_bytes() - base;
    };
    CHECK(peak(0) == 7 * 256);
    CHECK(peak(4) == 4 * 256);
}

TEST_CASE("checkpoint_sequential: errors", "[nn][checkpoint][errors]") {
    auto seq = model();
    const TensorF x = tg::ones<float>({2, 6});
    CHECK_THROWS_MATCHES(nn::checkpoint_sequential(seq, 0, x), tg::ValueError,
                         Says("checkpoint_sequential: 0 segments for 7 modules"));
    CHECK_THROWS_MATCHES(nn::checkpoint_sequential(seq, 8, x), tg::ValueError, Says("1 <= segments <= 7"));
    CHECK_THROWS_MATCHES(seq.set_checkpoint_segments(8), tg::ValueError, Says("8 segments for 7 modules"));
    CHECK(seq.checkpoint_segments() == 0);
    nn::Sequential<float> empty;
    CHECK(nn::checkpoint_sequential(empty, 1, x).same(x));
}
