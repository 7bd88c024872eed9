// A user's program built against an installed tapegrad, with folders of its own named nn/ and
// data/ on its include path: y = x^3 at x = 2, dy/dx = 12, and a step of a small model.
#include <iostream>

#include "data/dataset.hpp"
#include "nn/module.hpp"

#include <tapegrad/tapegrad.hpp>

int main() {
    tapegrad::Tensor<double> x(2.0, true);
    auto y = x * x * x;
    y.backward();
    std::cout << "dy/dx = " << x.grad().item() << "\n";

    tapegrad::Generator gen(1);
    auto model = tapegrad::nn::mlp<double>({3, 4, 2}, tapegrad::nn::Activation::ReLU, gen);
    tapegrad::optim::SGD<double> sgd(model.parameters(), {.lr = 0.1});
    const tapegrad::Tensor<double> batch = {{1.0, 2.0, 3.0}};
    tapegrad::cross_entropy(model(batch), tapegrad::Labels{1}).backward();
    sgd.step();
    std::cout << user::module_name() << ", " << user::dataset_name() << ", " << model.parameters().size()
              << " parameters\n";
}
