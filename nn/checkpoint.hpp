// Checkpoints: a model's named parameters and its optimiser's state, as a folder of .npy files.
#pragma once

#include <string>

#include "nn/module.hpp"
#include "nn/optimizer.hpp"

namespace tapegrad::nn {

/// Saves every named parameter (and the optimiser's state()) into the folder `dir`:
///   dir/manifest.txt            "tapegrad checkpoint v1", the dtype, one line per tensor:
///                               "parameter <name> <shape>", "optimizer <name>", "state <entry> <shape>"
///   dir/model/<name>.npy        one per parameter, named as named_parameters() ("0.weight", ...)
///   dir/optimizer/<entry>.npy   one per state() entry ("lr", "step.0", "exp_avg.0", ...)
/// The .npy files are NumPy's format 1.0 (numpy.load reads them). Saving is atomic: everything is
/// written (and fsync'ed) into a temporary sibling folder that then replaces `dir` by rename, so
/// `dir` holds either the old checkpoint or the new one. An existing `dir` that is not a
/// checkpoint is never replaced. Throws IoError (the temporary folder is removed).
template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model);
template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model, const optim::Optimizer<T>& optimizer);

/// Loads a checkpoint saved by save_checkpoint into a model built the same way (and its
/// optimiser). Everything is read and checked before anything changes: a missing, foreign,
/// truncated or extended file, another dtype, a parameter missing from either side, another shape,
/// or optimiser state of another optimiser throws IoError naming the file, the parameter and the
/// shapes, and leaves the model and the optimiser as they were.
template <class T>
void load_checkpoint(const std::string& dir, Module<T>& model);
template <class T>
void load_checkpoint(const std::string& dir, Module<T>& model, optim::Optimizer<T>& optimizer);

}  // namespace tapegrad::nn
