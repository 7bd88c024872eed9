// The user's own nn/module.hpp: tapegrad's headers must not pick it up instead of theirs.
#pragma once

namespace user {
inline const char* module_name() {
    return "the user's nn/module.hpp";
}
}  // namespace user
