// The baseline for umbrella.cpp: the xtensor headers a tapegrad tensor is built on, the same use.
#include <xtensor/xarray.hpp>
#include <xtensor/xmath.hpp>

int main() {
    xt::xarray<float> x = {1.0F, 2.0F};
    xt::xarray<float> g = 2.0F * x;
    return xt::sum(x * x)() > 0 && g(0) > 0 ? 0 : 1;
}
