// A consumer translation unit: the umbrella header and a small use of it. scripts/bench.sh times
// its compilation beside xtensor_only.cpp (what any xtensor user pays) for bench/RESULTS.md.
#include <tapegrad/tapegrad.hpp>

int main() {
    tapegrad::TensorF x({1.0F, 2.0F}, true);
    tapegrad::sum(x * x).backward();
    return x.grad().value()(0) > 0 ? 0 : 1;
}
