// A checkpoint as one safetensors file (its layout is documented in nn/checkpoint.hpp): the
// __metadata__ written for a Manifest, and a file read back into the Manifest the folder format
// describes. Internal to nn/checkpoint.cpp.
#pragma once

#include <memory>
#include <string>

#include <tapegrad/data/safetensors.hpp>
#include <tapegrad/nn/checkpoint.hpp>
#include <tapegrad/nn/checkpoint_manifest.hpp>

namespace tapegrad::nn::detail {

/// Whether save_checkpoint writes `path` as one safetensors file: its name ends in ".safetensors".
bool is_checkpoint_file_name(const std::string& path);

/// Whether load_checkpoint reads `path` as one file: a regular file, or, when absent or neither a
/// file nor a folder, a name ending in ".safetensors" (so that the error names what is missing).
bool is_checkpoint_file(const std::string& path);

/// The `__metadata__` of a checkpoint file holding the non-tensor items of `m` (format, dtype, the
/// buffers' keys, optimiser, lrs, schedule and its state) and `extras` (base64).
data::SafetensorsMetadata file_metadata(const Manifest& m, const CheckpointExtras& extras);

/// Throws IoError when `path` exists and is not a checkpoint file (which a save must never replace).
void check_file_target(const std::string& path);

/// check_file_target(), then creates `path`'s folder and creates and removes a file there, to learn
/// that a save can write; IoError naming the folder and the reason.
void probe_file_target(const std::string& path);

/// A checkpoint file, opened and checked (data::SafetensorsFile) and read into a Manifest: every
/// key and metadata entry is known, the extras decode. IoError naming the file and the key otherwise.
class CheckpointFile {
public:
    explicit CheckpointFile(const std::string& path);
    /// What the file holds, shapes from its tensors' entries; extras' sizes as decoded.
    const Manifest& manifest() const noexcept { return manifest_; }
    /// The extras, decoded.
    const CheckpointExtras& extras() const noexcept { return extras_; }
    /// The tensor `key` (e.g. "model.0.weight") of the checkpoint's dtype T and shape `expected`;
    /// IoError naming the file, `kind` ("parameter", ...), `name` and the key otherwise.
    template <class T>
    xt::xarray<T> read(const char* kind, const std::string& name, const std::string& key, const Shape& expected) const;

private:
    std::unique_ptr<data::SafetensorsFile> file_;
    Manifest manifest_;
    CheckpointExtras extras_;
};

}  // namespace tapegrad::nn::detail
