// XOR with a 2-8-1 network, micrograd-sized: the parameters are plain tensors, the forward pass
// is three lines, and the update is written out by hand.
#include <cstdio>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

int main() {
    // The four XOR cases, one per row, and their targets.
    const tg::Tensor<double> x = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
    const tg::Tensor<double> y = tg::reshape(tg::Tensor<double>({0, 1, 1, 0}), {4, 1});

    tg::Generator gen(42);
    auto w1 = tg::randn<double>({2, 8}, gen, 0, 1, true);
    auto b1 = tg::zeros<double>({8}, true);
    auto w2 = tg::randn<double>({8, 1}, gen, 0, 1, true);
    auto b2 = tg::zeros<double>({1}, true);
    const std::vector<tg::Tensor<double>> params = {w1, b1, w2, b2};

    auto forward = [&](const tg::Tensor<double>& in) {
        const auto h = tg::tanh(tg::matmul(in, w1) + b1);
        return tg::matmul(h, w2) + b2;  // logits
    };

    const double lr = 0.5;
    double first_loss = 0;
    double loss_value = 0;
    for (int step = 0; step <= 500; ++step) {
        const auto loss = tg::binary_cross_entropy_with_logits(forward(x), y);
        for (auto p : params) p.zero_grad();
        loss.backward();
        {
            tg::NoGradGuard no_grad;
            for (auto p : params) p.mutable_value() -= lr * p.grad().value();
        }
        loss_value = loss.item();
        if (step == 0) first_loss = loss_value;
        if (step % 100 == 0) std::printf("step %3d  loss %.5f\n", step, loss_value);
    }

    tg::NoGradGuard no_grad;
    const auto p = tg::sigmoid(forward(x));
    int correct = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        const bool predicted = p.value()(i, 0) > 0.5;
        correct += predicted == (y.value()(i, 0) > 0.5);
        std::printf("%g xor %g -> %.3f\n", x.value()(i, 0), x.value()(i, 1), p.value()(i, 0));
    }
    std::printf("loss %.4f -> %.4f, %d of 4 correct\n", first_loss, loss_value, correct);
    return correct == 4 && loss_value < first_loss ? 0 : 1;
}
