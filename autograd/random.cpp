#include "autograd/random.hpp"

#include <cmath>
#include <numbers>

#include "autograd/errors.hpp"

namespace tapegrad {

double Generator::normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * std::numbers::pi * u2);
    has_spare_ = true;
    return r * std::cos(2 * std::numbers::pi * u2);
}

double Generator::uniform(double low, double high) {
    if (!(low <= high) || !std::isfinite(high - low))
        fail<ValueError>("Generator::uniform: low is {} and high is {}; it needs low <= high, both finite", low, high);
    return low + (high - low) * uniform();
}

std::uint64_t Generator::below(std::uint64_t n) {
    if (n == 0) fail<ValueError>("Generator::below: n is 0; the range [0, n) must not be empty");
    // Rejection keeps the draw unbiased for any n: limit is the largest multiple of n that fits.
    const std::uint64_t limit = (~std::uint64_t{0} / n) * n;
    std::uint64_t r;
    do r = engine_();
    while (r >= limit);
    return r % n;
}

}  // namespace tapegrad
