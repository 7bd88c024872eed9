/// \file
/// A seeded random generator whose streams are the same on every platform.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <utility>

namespace tapegrad {

/// Explicitly seeded source of randomness for rand/randn, initialisers and shuffling.
/// Built on std::mt19937_64 (whose output the standard fixes) with our own uniform and
/// normal transforms (the standard's distributions differ between library vendors), so the
/// same seed gives the same numbers bit for bit everywhere.
class Generator {
public:
    /// A generator seeded with `seed`: the same seed gives the same stream on every platform.
    explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}

    /// Uniform in [0, 1), 53 random bits.
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
    /// Uniform in [low, high) (low itself when low == high). Throws ValueError unless
    /// low <= high and high - low is finite (as PyTorch's uniform_), drawing nothing.
    double uniform(double low, double high);
    /// Standard normal (Box-Muller; the second value of each pair is kept for the next call).
    double normal();
    /// Uniform integer in [0, n). Throws ValueError for n == 0 (there is no such integer),
    /// drawing nothing.
    std::uint64_t below(std::uint64_t n);

    /// The whole state as text (the engine's standard text form, then the normal() spare), so that a
    /// resumed run draws exactly what the uninterrupted one would: set_state(state()) changes nothing.
    std::string state() const;
    /// Restores a state() string; throws ValueError naming the first bad part (nothing changes then).
    void set_state(const std::string& state);
    /// A new generator seeded from two 32-bit draws of this one: how a module gets its own stream
    /// (Dropout's masks, the recurrent layers' inter-layer dropout) from the generator it is built
    /// with, so that no other draw in between changes its numbers.
    Generator spawn();

private:
    std::mt19937_64 engine_;
    double spare_ = 0;
    bool has_spare_ = false;
};

/// PyTorch's default seed (torch.initial_seed() of a fresh process): the default generator's
/// seed until manual_seed() changes it. The streams are tapegrad's own, not PyTorch's numbers.
inline constexpr std::uint64_t kDefaultSeed = 67280421310721;

/// Reseeds the default generator (torch::manual_seed): the factories and initialisers that are
/// given no Generator then draw the same numbers as Generator(seed) would.
void manual_seed(std::uint64_t seed);

namespace detail {
std::mutex& default_generator_mutex();
Generator& default_generator_unlocked();
}  // namespace detail

/// Runs f(gen) on the process-wide default generator (PyTorch's default CPU generator), holding its
/// lock, so that threads drawing from it get disjoint parts of one stream. Factories without a
/// Generator argument draw through this; code that wants its own stream passes a Generator.
template <class F>
decltype(auto) with_default_generator(F&& f) {
    std::lock_guard<std::mutex> lock(detail::default_generator_mutex());
    return std::forward<F>(f)(detail::default_generator_unlocked());
}

}  // namespace tapegrad
