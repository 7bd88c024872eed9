// What a checkpoint of the main job holds besides the weights: the run's settings and how far it
// got, as named extras of the same atomic checkpoint (so they can never disagree with the weights).
#pragma once

#include <cstddef>
#include <string>

#include <tapegrad/nn/checkpoint.hpp>
#include "options.hpp"

namespace fashion {

/// Where a run is. A resumed run starts from here and ends bit for bit where the uninterrupted
/// one would (with the same --threads).
struct Progress {
    std::size_t epoch = 0;  // epochs finished: trained, evaluated, in the curve
    std::size_t step = 0;   // steps of the next epoch already taken (0 at an epoch boundary)
    double loss_sum = 0;    // the next epoch's summed training loss so far ...
    std::size_t seen = 0;   // ... over this many samples
    std::string rng;        // the data order's Generator::state() when the next epoch started
    std::string curve;      // curve.csv so far
};

/// Extras "run" (the settings that decide the results: model, epochs, batch size, lr, weight
/// decay, schedule, seed, limit, distributed), "progress" (epoch, step, loss_sum, seen), "rng" and "curve".
tapegrad::nn::CheckpointExtras to_extras(const Options& options, const Progress& progress);

/// Fills in, from a checkpoint's extras, every setting the command line did not give. Throws
/// ValueError naming the flag when one given differs from the checkpoint's (the run would not
/// be the same run), and IoError when the extras are not a main job's.
void merge_settings(const std::string& dir, const tapegrad::nn::CheckpointExtras& extras, Options& options);

/// The progress saved in a checkpoint's extras; throws IoError when it is missing or unreadable.
Progress read_progress(const std::string& dir, const tapegrad::nn::CheckpointExtras& extras);

}  // namespace fashion
