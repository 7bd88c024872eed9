// The user's own data/dataset.hpp: tapegrad's headers must not pick it up instead of theirs.
#pragma once

namespace user {
inline const char* dataset_name() {
    return "the user's data/dataset.hpp";
}
}  // namespace user
