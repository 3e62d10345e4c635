#pragma once

#include "actors/atoms.hpp"
#include "config/config.hpp"
#include "config/effects.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace regevent {

/// What the dispatcher decided for one journaled event.
struct classification {
  bool keep = false;
  /// Why the event was filtered out (when !keep).
  std::string reason;
  planned_event plan;
  /// Effects to apply, in order.
  std::vector<effect_kind> effects;
};

/// True for Docker schema 1/2, manifest list, OCI manifest and OCI index.
bool is_manifest_media_type(std::string_view media_type);

/// The project of a repository: text before the first `/`, else the
/// default project.
std::string project_of(const std::string& repository,
                       const std::string& default_project);

/// Harbor's filtering rules, improved (DESIGN §2). Pure: no I/O.
classification classify(const event_record& event,
                        const config::filter_section& filter);

} // namespace regevent
