#include <tapegrad/autograd/random.hpp>

#include <charconv>
#include <cmath>
#include <numbers>
#include <sstream>

#include <tapegrad/autograd/errors.hpp>

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

Generator Generator::spawn() {
    const std::uint64_t high = below(std::uint64_t{1} << 32);
    return Generator((high << 32) | below(std::uint64_t{1} << 32));
}

std::string Generator::state() const {
    std::ostringstream out;
    out << engine_;
    // fmt's shortest form reads back to the same double, so the spare survives bit for bit.
    out << fmt::format(" {} {}", has_spare_ ? 1 : 0, spare_);
    return out.str();
}

void Generator::set_state(const std::string& state) {
    std::istringstream in(state);
    std::mt19937_64 engine;
    int has_spare = -1;
    std::string spare_text;
    in >> engine >> has_spare >> spare_text;
    if (!in || (has_spare != 0 && has_spare != 1))
        fail<ValueError>("Generator::set_state: state ({} characters) is not a Generator::state() string",
                         state.size());
    double spare = 0;
    const auto [end, ec] = std::from_chars(spare_text.data(), spare_text.data() + spare_text.size(), spare);
    std::string rest;
    if (ec != std::errc() || end != spare_text.data() + spare_text.size() || (in >> rest))
        fail<ValueError>("Generator::set_state: state ends in '{}', not a spare normal value alone",
                         spare_text.substr(0, 40));
    engine_ = engine;
    has_spare_ = has_spare == 1;
    spare_ = spare;
}

std::mutex& detail::default_generator_mutex() {
    static std::mutex mutex;
    return mutex;
}

Generator& detail::default_generator_unlocked() {
    static Generator gen(kDefaultSeed);
    return gen;
}

void manual_seed(std::uint64_t seed) {
    with_default_generator([seed](Generator& gen) { gen = Generator(seed); });
}

}  // namespace tapegrad
