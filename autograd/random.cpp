#include <tapegrad/autograd/random.hpp>

#include <atomic>
#include <charconv>
#include <cmath>
#include <numbers>
#include <sstream>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad {

constinit thread_local std::uint64_t detail::random_recording = 0;

namespace {
constinit thread_local detail::RandomStates::Recording* innermost_recording = nullptr;
std::atomic<std::uint64_t> recording_serials{0};  // process-wide: a generator may move between threads
}  // namespace

Generator::Generator(Generator&& other) noexcept
    : engine_(other.engine_),
      spare_(other.spare_),
      has_spare_(other.has_spare_),
      watched_by_(other.watched_by_),
      anchor_(std::move(other.anchor_)) {
    if (anchor_) anchor_->self = this;
    other.watched_by_ = 0;
}

Generator& Generator::operator=(const Generator& other) {
    engine_ = other.engine_;
    spare_ = other.spare_;
    has_spare_ = other.has_spare_;
    return *this;
}

Generator& Generator::operator=(Generator&& other) noexcept {
    return *this = static_cast<const Generator&>(other);
}

Generator::~Generator() {
    if (anchor_) anchor_->self = nullptr;
}

void Generator::note_first_draw() {
    for (auto* r = innermost_recording; r; r = r->parent_) r->states_.note(*this);
    watched_by_ = detail::random_recording;
}

namespace detail {

void RandomStates::note(Generator& gen) {
    if (!gen.anchor_) gen.anchor_ = std::make_shared<GeneratorAnchor>(GeneratorAnchor{&gen});
    for (const auto& [anchor, state] : states_) {
        if (anchor == gen.anchor_) return;
    }
    states_.emplace_back(gen.anchor_, gen);
}

RandomStates::Recording::Recording(RandomStates& states)
    : states_(states), parent_(innermost_recording), serial_(++recording_serials), parent_serial_(random_recording) {
    innermost_recording = this;
    random_recording = serial_;
}

RandomStates::Recording::~Recording() {
    innermost_recording = parent_;
    random_recording = parent_serial_;
}

namespace {
// The default generator is shared between threads: it is read and set under its lock.
std::unique_lock<std::mutex> lock_if_shared(const Generator& gen) {
    if (&gen != &default_generator_unlocked()) return {};
    return std::unique_lock<std::mutex>(default_generator_mutex());
}
}  // namespace

RandomStates::Replay::Replay(const RandomStates& states) {
    before_.reserve(states.states_.size());
    for (const auto& [anchor, state] : states.states_) {
        if (!anchor->self) continue;
        auto lock = lock_if_shared(*anchor->self);
        before_.emplace_back(anchor, *anchor->self);
        *anchor->self = state;
    }
}

RandomStates::Replay::~Replay() {
    for (const auto& [anchor, state] : before_) {
        if (!anchor->self) continue;
        auto lock = lock_if_shared(*anchor->self);
        *anchor->self = state;
    }
}

}  // namespace detail

double Generator::normal() {
    watch();  // before the spare is used: it is part of the state a recording keeps
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
    watch();
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
