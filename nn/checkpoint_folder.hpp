// Checkpoint folders on disk: where a checkpoint may go, the temporary sibling it is written into,
// and the atomic swap that publishes it; and the debris of killed saves of a checkpoint file. Internal to
// nn/checkpoint.cpp.
#pragma once

#include <filesystem>
#include <string>

namespace tapegrad::nn::detail {

/// `dir` without a trailing separator. Throws IoError when it exists but is not a checkpoint folder
/// (a file, or a folder with other things in it), which a save must never replace.
std::filesystem::path checked_target(const std::string& dir);

/// fsync()s a file or a folder; throws IoError naming it.
void sync_path(const std::filesystem::path& path);

/// The temporary sibling a save writes into: ".<name>.tmp-<pid>-<n>" beside the target, created
/// empty and locked (flock) for as long as this object lives, then removed with what it holds
/// (also when the save throws). Before creating it, removes what earlier saves of the same target
/// left behind when they were killed: only folders named as above for this target, that nobody
/// holds locked, whose pid is this process or one no longer running.
class TempFolder {
public:
    explicit TempFolder(const std::filesystem::path& target);
    ~TempFolder();
    TempFolder(const TempFolder&) = delete;
    TempFolder& operator=(const TempFolder&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
    int lock_fd_ = -1;
};

/// Removes what killed saves of the checkpoint file `target` left beside it: the temporary files
/// ".<name>.tmp-<pid>-<n>" that data::write_safetensors() writes before its rename, of processes no
/// longer running or of this pid (an earlier process's: a container's trainer can be pid 1 on every
/// start). The caller makes sure no save of `target` by this process is in progress (save_checkpoint
/// saves one file at a time); a file of another live process may be a save in progress and stays.
void remove_stale_files(const std::filesystem::path& target);

/// Moves the finished folder `tmp` to `target`: one atomic exchange when the target exists, so
/// `target` always holds either the previous checkpoint or the new one.
void replace_dir(const std::filesystem::path& tmp, const std::filesystem::path& target);

}  // namespace tapegrad::nn::detail
