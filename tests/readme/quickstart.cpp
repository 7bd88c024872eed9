#include <iostream>

#include <tapegrad/tapegrad.hpp>

namespace tg = tapegrad;

int main() {
    tg::Tensor<double> x = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};  // a batch of 2 samples, 3 features
    tg::Tensor<double> w = {{0.1, -0.2, 0.3}};                  // 1 output x 3 inputs
    w.requires_grad_();

    auto y = tg::sigmoid(tg::linear(x, w));     // y = sigmoid(x w^T), one row per sample
    auto loss = tg::mean(tg::square(y - 0.5));  // scalars work on either side
    loss.backward();                            // walks the tape in reverse

    std::cout << "loss = " << loss.item() << "\n";
    std::cout << "dloss/dw = " << w.grad() << "\n";
    std::cout << "ops left on the tape: " << tg::Tape::current().size() << "\n";
}
