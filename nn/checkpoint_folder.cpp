#include <tapegrad/nn/checkpoint_folder.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::nn::detail {
namespace {

namespace fs = std::filesystem;

fs::path parent_of(const fs::path& target) {
    return target.parent_path().empty() ? fs::path(".") : target.parent_path();
}

/// Held while this process creates and locks a temporary folder, swaps in two steps, or looks
/// for stale folders: so a folder of ours is never seen unlocked by our own cleaner.
std::mutex& folder_mutex() {
    static std::mutex mutex;
    return mutex;
}

/// A positive number written in decimal digits only, or 0.
long positive(const std::string& digits) {
    if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
    return std::stol(digits);
}

/// The pid in ".<name>.tmp-<pid>-<n>" or ".<name>.tmp-<pid>-<n>.old" (`old` tells which), else 0.
long temp_owner(const std::string& entry, const std::string& name, bool& old) {
    const std::string prefix = "." + name + ".tmp-";
    if (entry.rfind(prefix, 0) != 0) return 0;
    std::string rest = entry.substr(prefix.size());
    old = rest.ends_with(".old");
    if (old) rest.resize(rest.size() - 4);
    const auto dash = rest.find('-');
    const std::string counter = dash == std::string::npos ? "" : rest.substr(dash + 1);
    if (counter.empty() || counter.find_first_not_of("0123456789") != std::string::npos) return 0;
    return positive(rest.substr(0, dash));
}

/// Our own pid counts as gone: folders of this process's live saves are locked or under the mutex,
/// and its saves of a file are one at a time (see remove_stale_files).
bool owner_gone(long pid) {
    return pid == ::getpid() || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
}

/// Locks a folder without waiting; the lock's descriptor, or -1 when someone else holds it.
int try_lock(const fs::path& folder) {
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

/// Removes what killed saves of `target` left beside it (see TempFolder). A ".old" folder is the
/// previous checkpoint moved aside by a two-step swap: when the swap was cut before the new one
/// arrived, it goes back in place instead.
void remove_stale(const fs::path& target) {
    std::vector<std::pair<fs::path, bool>> stale;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(parent_of(target), ec)) {
        bool old = false;
        const long pid = temp_owner(entry.path().filename().string(), target.filename().string(), old);
        if (pid > 0 && fs::is_directory(entry.symlink_status(ec)) && owner_gone(pid))
            stale.emplace_back(entry.path(), old);
    }
    for (const auto& [folder, old] : stale) {
        const int fd = try_lock(folder);
        if (fd < 0) continue;
        if (old && !fs::exists(target, ec)) {
            fs::rename(folder, target, ec);
        } else {
            fs::remove_all(folder, ec);
        }
        ::close(fd);
    }
}

}  // namespace

fs::path checked_target(const std::string& dir) {
    fs::path target = fs::path(dir).lexically_normal();
    if (!target.has_filename()) target = target.parent_path();
    std::error_code ec;
    if (fs::exists(target, ec) &&
        !(fs::is_directory(target, ec) && (fs::is_empty(target, ec) || fs::exists(target / "manifest.txt", ec))))
        fail<IoError>("checkpoint '{}': it exists and is not a checkpoint; refusing to replace it", dir);
    return target;
}

void sync_path(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const bool ok = fd >= 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok) fail<IoError>("checkpoint: cannot sync '{}': {}", path.string(), std::strerror(errno));
}

TempFolder::TempFolder(const fs::path& target) {
    static std::atomic<unsigned> counter{0};
    const fs::path parent = parent_of(target);
    std::error_code ec;
    fs::create_directories(parent, ec);
    const std::lock_guard guard(folder_mutex());
    remove_stale(target);
    for (;;) {  // a stale folder still locked by a live process can hold the next name: skip it
        path_ = parent / fmt::format(".{}.tmp-{}-{}", target.filename().string(), ::getpid(), counter++);
        if (::mkdir(path_.c_str(), 0777) == 0) break;
        if (errno != EEXIST)
            fail<IoError>("checkpoint '{}': cannot create '{}': {}", target.string(), path_.string(),
                          std::strerror(errno));
    }
    lock_fd_ = try_lock(path_);
    if (lock_fd_ < 0) {
        fs::remove_all(path_, ec);
        fail<IoError>("checkpoint '{}': cannot lock '{}': {}", target.string(), path_.string(), std::strerror(errno));
    }
}

TempFolder::~TempFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);  // after a successful exchange, it holds the previous checkpoint
    ::close(lock_fd_);
}

void remove_stale_files(const fs::path& target) {
    std::vector<fs::path> stale;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(parent_of(target), ec)) {
        bool old = false;
        const long pid = temp_owner(entry.path().filename().string(), target.filename().string(), old);
        if (pid > 0 && !old && fs::is_regular_file(entry.symlink_status(ec)) && owner_gone(pid))
            stale.push_back(entry.path());
    }
    for (const auto& file : stale) fs::remove(file, ec);
}

void replace_dir(const fs::path& tmp, const fs::path& target) {
    std::error_code ec;
    if (!fs::exists(target, ec)) {
        fs::rename(tmp, target, ec);
        if (ec)
            fail<IoError>("checkpoint '{}': cannot rename '{}' to it: {}", target.string(), tmp.string(), ec.message());
    } else if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0) {
        if (errno != EINVAL && errno != ENOSYS)
            fail<IoError>("checkpoint '{}': cannot replace it: {}", target.string(), std::strerror(errno));
        // The file system cannot exchange: move the old one aside, the new one in, in two steps.
        const std::lock_guard guard(folder_mutex());
        const fs::path old = tmp.string() + ".old";
        fs::rename(target, old, ec);
        if (ec) fail<IoError>("checkpoint '{}': cannot move it aside: {}", target.string(), ec.message());
        fs::rename(tmp, target, ec);
        if (ec) {
            std::error_code back;
            fs::rename(old, target, back);  // the previous checkpoint stays where it was
            fail<IoError>("checkpoint '{}': cannot replace it: {}", target.string(), ec.message());
        }
        fs::remove_all(old, ec);
    }
    sync_path(parent_of(target));
}

}  // namespace tapegrad::nn::detail
