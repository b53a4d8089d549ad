#pragma once
// Duration extraction from athlete text (the post-processor's first fixup): "45 min",
// "1.5 hours", "half an hour", "an hour". Used to backfill time_available_min.
#include <optional>
#include <string_view>

namespace josi::coach {

// Minutes mentioned in `text` by the first rule that matches, kept only when
// within 10..300; nullopt otherwise.
std::optional<int> extract_duration_minutes(std::string_view text);

}  // namespace josi::coach
