/// \file
/// Checkpoints: a model's named parameters, its optimiser's and lr schedule's state, and named
/// extras of the caller's, as one folder of .npy and text files replaced atomically, or as one
/// safetensors file (a path ending in ".safetensors") that PyTorch users read.
#pragma once

#include <map>
#include <string>

#include <tapegrad/nn/module.hpp>
#include <tapegrad/nn/optimizer.hpp>
#include <tapegrad/nn/schedule.hpp>

namespace tapegrad::nn {

/// What else a training program must keep in step with its weights (the epoch, the data order's
/// Generator::state(), the curve so far...), saved in the same atomic unit: name -> bytes.
/// Names are file names (no '/', spaces or newlines); the bytes are anything.
using CheckpointExtras = std::map<std::string, std::string>;

/// Saves every named parameter and buffer (and the optimiser's state(), the schedule's state(), the extras)
/// as one safetensors file when `dir`'s name ends in ".safetensors" (see below), else into the folder `dir`:
/// - `dir/manifest.txt`: "tapegrad checkpoint v2", the dtype, one line per item (see
///   nn/checkpoint_manifest.hpp): parameters and state entries with their shapes, the optimiser
///   with each group's exact lr, the schedule's kind and its state() entries, each extra with its size;
/// - `dir/model/<name>.npy`: one per parameter, named as named_parameters() ("0.weight", ...);
/// - `dir/buffers/<name>.npy`: one per buffer, named as named_buffers() ("1.running_mean", ...);
/// - `dir/optimizer/<entry>.npy`: one per state() entry ("lr.0", "step.0", "exp_avg.0", ...: see
///   optim::Optimizer; a checkpoint saved before parameter groups existed has "lr", still loaded);
/// - `dir/extra/<name>`: one per extra, its bytes as given.
/// The .npy files are NumPy's format 1.0 (numpy.load reads them). Saving is atomic: everything is
/// written (and fsync'ed) into a locked temporary sibling folder `.<dir>.tmp-<pid>-<n>` that then
/// replaces `dir` by rename, so `dir` holds either the old checkpoint or the new one. The temporary
/// folder is removed when the save throws; those of saves that were killed (a signal, a power cut)
/// are removed by the next save of the same `dir`, unless a live process still holds them.
///
/// A file `run.safetensors` (format "tapegrad checkpoint v3") holds, in safetensors' layout (see
/// data::SafetensorsFile), F32 tensors for float and F64 for double under the keys
/// - `model.<key>`: every parameter and buffer under its state_dict key (`model.0.weight`,
///   `model.1.running_mean`; a tensor shared by two layers under both keys, as in state_dict()), so
///   that in Python `model.load_state_dict({k[6:]: v for k, v in
///   safetensors.torch.load_file("run.safetensors").items() if k.startswith("model.")})` loads it;
/// - `optimizer.<entry>`: one per optimiser state() entry (`optimizer.exp_avg.0`, `optimizer.lr.0`...);
///
/// and string entries in its `__metadata__` (`safe_open(path, "pt").metadata()` in Python):
/// - `format`: "pt"; `checkpoint`: "tapegrad checkpoint v3"; `dtype`: "float32" or "float64";
/// - `buffers`: the keys of the buffers among the `model.` tensors, separated by spaces (absent when
///   there are none);
/// - `optimizer`: its name ("Adam"), and `optimizer.lr`: each group's lr in full (the shortest
///   decimal form that reads back as the same double), separated by spaces;
/// - `schedule`: its kind ("CosineAnnealingLR"), and `schedule.<name>`: each of its state() entries
///   in full ("inf" and "-inf" for infinities);
/// - `extra.<name>`: each extra's bytes in base64 (RFC 4648, with padding: Python's base64.b64decode).
///
/// The file is written to a temporary sibling `.<name>.tmp-<pid>-<n>`, fsync'ed and renamed over
/// `dir` (data::write_safetensors), so `dir` holds the old checkpoint or the new one; the temporary
/// files of saves that were killed are removed by the next save of the same file, unless their
/// process still runs (a process's saves of checkpoint files run one at a time, so a temporary
/// file of its own pid is an earlier process's). `optimizer.` entries are tapegrad's state(), not
/// PyTorch's optimizer.state_dict().
///
/// Throws IoError when writing fails or `dir` exists and is not a checkpoint (never replaced), and
/// ValueError, writing nothing, for an optimiser with a parameter that is not one of the model's
/// (no model could load it), a schedule of another optimiser, or an extra's name that cannot be a
/// file name.
template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model);
/// The same, with the optimiser's state and the extras.
template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model, const optim::Optimizer<T>& optimizer,
                     const CheckpointExtras& extras = {});
/// The same, with the optimiser's and the schedule's state and the extras.
template <class T>
void save_checkpoint(const std::string& dir, const Module<T>& model, const optim::Optimizer<T>& optimizer,
                     const optim::LrScheduler& schedule, const CheckpointExtras& extras = {});

/// Loads a checkpoint saved by save_checkpoint, a folder or a file (a regular file at `dir`, or a
/// name ending in ".safetensors", is read as one), into a model built the same way (and its optimiser
/// and schedule, whose kind and settings are the caller's); returns the extras saved with it.
/// Everything is read and checked before anything changes: a missing, foreign, truncated or
/// extended file, another dtype (of the checkpoint or of one tensor), a key or metadata entry a
/// checkpoint file does not have, a parameter or buffer missing from either side (a checkpoint saved
/// before buffers were saved has none), another shape, optimiser
/// state of another optimiser, no schedule or one of another kind throws IoError naming the file,
/// the parameter and the shapes; an optimiser over other tensors than the model's, or a schedule
/// of another optimiser, throws ValueError. Either way the model, the optimiser and the schedule
/// stay as they were (a schedule refusing its state is an IoError too, and the optimiser's state
/// goes back). Every group's lr comes back exactly (v1 checkpoints: rounded to the dtype).
template <class T>
CheckpointExtras load_checkpoint(const std::string& dir, Module<T>& model);
/// The same, restoring the optimiser's state too (the checkpoint must hold it).
template <class T>
CheckpointExtras load_checkpoint(const std::string& dir, Module<T>& model, optim::Optimizer<T>& optimizer);
/// The same, restoring the optimiser's and the schedule's state (the checkpoint must hold both).
template <class T>
CheckpointExtras load_checkpoint(const std::string& dir, Module<T>& model, optim::Optimizer<T>& optimizer,
                                 optim::LrScheduler& schedule);

/// The extras of the checkpoint at `dir` (a folder or a file, as load_checkpoint tells them apart),
/// read and checked without loading anything: to learn how
/// to build what it will be loaded into. Throws IoError as load_checkpoint does.
CheckpointExtras read_checkpoint_extras(const std::string& dir);

/// Checks, before a long run, that save_checkpoint(dir, ...) will be able to write: `dir` is absent
/// or a checkpoint (for a folder: not a file, nor a folder of other things; for a name ending in
/// ".safetensors": a checkpoint file), and its parent folder can be created and written to (tried by
/// creating and removing a temporary folder, or file, there). Throws IoError naming the path and the
/// reason.
void check_checkpoint_path(const std::string& dir);

}  // namespace tapegrad::nn
