#include "autograd/random.hpp"

#include <cmath>
#include <numbers>

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

std::uint64_t Generator::below(std::uint64_t n) {
    // Rejection keeps the draw unbiased for any n.
    const std::uint64_t limit = n == 0 ? 0 : (~std::uint64_t{0} / n) * n;
    std::uint64_t r;
    do r = engine_();
    while (r >= limit && limit != 0);
    return n == 0 ? 0 : r % n;
}

}  // namespace tapegrad
