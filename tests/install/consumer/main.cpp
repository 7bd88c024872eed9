// A user's program built against an installed tapegrad: y = x^3 at x = 2, dy/dx = 12.
#include <iostream>

#include <tapegrad.hpp>

int main() {
    tapegrad::Tensor<double> x(2.0, true);
    auto y = x * x * x;
    y.backward();
    std::cout << "dy/dx = " << x.grad().item() << "\n";
}
