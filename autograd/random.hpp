/// \file
/// A seeded random generator whose streams are the same on every platform.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace tapegrad {

class Generator;

namespace detail {
class RandomStates;
/// What a recorded generator state refers to: the generator, or null once it is destroyed. Made at
/// the generator's first recorded draw, and handed on when the generator is moved.
struct GeneratorAnchor {
    Generator* self;
};
/// The serial number of this thread's innermost RandomStates::Recording (0: none).
extern constinit thread_local std::uint64_t random_recording;
}  // namespace detail

/// Explicitly seeded source of randomness for rand/randn, initialisers and shuffling.
/// Built on std::mt19937_64 (whose output the standard fixes) with our own uniform and
/// normal transforms (the standard's distributions differ between library vendors), so the
/// same seed gives the same numbers bit for bit everywhere.
class Generator {
public:
    /// A generator seeded with `seed`: the same seed gives the same stream on every platform.
    explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}
    /// A generator in the same state, drawing the same numbers from now on (a new stream object: a
    /// checkpoint segment that drew from `other` does not rewind the copy).
    Generator(const Generator& other) : engine_(other.engine_), spare_(other.spare_), has_spare_(other.has_spare_) {}
    /// Takes over `other`'s state, and its place in the random states checkpoint segments recorded.
    Generator(Generator&& other) noexcept;
    /// Takes `other`'s state; this generator stays the same object for checkpoint segments.
    Generator& operator=(const Generator& other);
    /// The same as the copy assignment.
    Generator& operator=(Generator&& other) noexcept;
    /// Checkpoint segments that recorded this generator's state skip it from then on.
    ~Generator();

    /// Uniform in [0, 1), 53 random bits.
    double uniform() {
        watch();
        return static_cast<double>(engine_() >> 11) * 0x1.0p-53;
    }
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
    friend class detail::RandomStates;
    // Every draw starts here: inside a checkpoint segment's forward (tapegrad::checkpoint), the
    // first draw of each generator records its state, so that the recomputation draws the same
    // numbers. Outside one this is a thread-local load and a compare.
    void watch() {
        if (watched_by_ != detail::random_recording) [[unlikely]]
            note_first_draw();
    }
    void note_first_draw();

    std::mt19937_64 engine_;
    double spare_ = 0;
    bool has_spare_ = false;
    std::uint64_t watched_by_ = 0;                     // the recording that has this state already
    std::shared_ptr<detail::GeneratorAnchor> anchor_;  // made by the first recorded draw
};

namespace detail {

/// The generator states a checkpoint segment's forward started from (tapegrad::checkpoint): each
/// generator's state just before its first draw in the segment, and a way to draw the same again.
class RandomStates {
public:
    /// While alive, records into `states` (and into every enclosing recording: nested segments)
    /// the state of each generator this thread draws from, before its first draw.
    class Recording {
    public:
        /// Starts recording into `states`.
        explicit Recording(RandomStates& states);
        ~Recording();
        Recording(const Recording&) = delete;
        Recording& operator=(const Recording&) = delete;

    private:
        friend class tapegrad::Generator;
        RandomStates& states_;
        Recording* parent_;
        std::uint64_t serial_;
        std::uint64_t parent_serial_;
    };

    /// While alive, every recorded generator that still exists is back in its recorded state; the
    /// destructor puts each where it was before (so the recomputation changes no stream).
    /// Generators destroyed since are skipped.
    class Replay {
    public:
        /// Rewinds every recorded generator.
        explicit Replay(const RandomStates& states);
        ~Replay();
        Replay(const Replay&) = delete;
        Replay& operator=(const Replay&) = delete;

    private:
        std::vector<std::pair<std::shared_ptr<GeneratorAnchor>, Generator>> before_;
    };

private:
    friend class tapegrad::Generator;
    void note(Generator& gen);
    std::vector<std::pair<std::shared_ptr<GeneratorAnchor>, Generator>> states_;
};

}  // namespace detail

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
