#include <tapegrad/data/atomic_file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <tapegrad/autograd/errors.hpp>

namespace tapegrad::data::detail {

namespace fs = std::filesystem;

void write_atomically(const std::string& path, const char* what, const std::function<bool(std::FILE*)>& write) {
    static std::atomic<unsigned> counter{0};
    const fs::path target(path);
    const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
    fs::path tmp;
    std::FILE* file = nullptr;
    // A killed process of the same pid may have left the next name behind: skip it.
    for (int tries = 0; file == nullptr; ++tries) {
        tmp = folder / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                        std::to_string(counter++));
        file = std::fopen(tmp.c_str(), "wbx");
        if (file == nullptr && (errno != EEXIST || tries == 10'000))
            fail<IoError>("{} '{}': cannot create '{}': {}", what, path, tmp.string(), std::strerror(errno));
    }
    bool ok = false;
    try {
        ok = write(file);
    } catch (...) {
        std::fclose(file);
        std::remove(tmp.c_str());
        throw;
    }
    ok = ok && std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0;
    const int error = errno;
    ok = std::fclose(file) == 0 && ok;
    if (!ok) {
        std::remove(tmp.c_str());
        fail<IoError>("{} '{}': writing failed: {}", what, path, std::strerror(error));
    }
    if (std::rename(tmp.c_str(), target.c_str()) != 0) {
        const int rename_error = errno;
        std::remove(tmp.c_str());
        fail<IoError>("{} '{}': cannot replace it: {}", what, path, std::strerror(rename_error));
    }
    // The rename reaches the disk with the folder's entry.
    const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const bool synced = fd >= 0 && ::fsync(fd) == 0;
    const int sync_error = errno;
    if (fd >= 0) ::close(fd);
    if (!synced) fail<IoError>("{} '{}': cannot sync its folder: {}", what, path, std::strerror(sync_error));
}

}  // namespace tapegrad::data::detail
