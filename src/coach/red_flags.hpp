#pragma once
// Medical red flags (the post-processor's fifth fixup): symptoms that must stop training
// and send the athlete to a professional. Common illness is not one.
#include <string_view>

namespace josi::coach {

bool has_medical_red_flag(std::string_view text);

}  // namespace josi::coach
