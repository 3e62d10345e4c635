#pragma once

#include "actors/actors.hpp"
#include "actors/reconcile_port.hpp"
#include "actors/write_path.hpp"

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace regevent {

class metrics;
class reconcile_store;

/// What the reconcile actor needs of the configuration.
struct reconcile_config {
  config::database_section database;
  config::reconcile_section reconcile;
  /// How repositories map to projects, and whether unknown projects are
  /// made (the filter's rules, so that a reconcile and events agree).
  std::string default_project;
  unknown_project_policy unknown_project = unknown_project_policy::create;
  std::string instance_id;
  std::shared_ptr<reconcile_port> port;
  std::shared_ptr<metrics> stats;
  std::chrono::milliseconds journal_timeout{0};

  static reconcile_config from(const runtime& rt);
  /// Throws config_error naming what is wrong.
  void validate() const;
};

struct reconcile_state {
  static constexpr const char* name = "reconcile";

  enum class phase { idle, listing, walking };

  reconcile_config cfg;
  /// On SQLite every read and write of a run goes through the journal,
  /// the one writer, so that a run's changes and live events are applied
  /// in one order.
  write_path<reconcile_store> writes;
  phase now = phase::idle;
  reconcile_run run;
  /// The catalog as read so far, and where its next page starts.
  std::set<std::string> catalog;
  std::string catalog_next;
  /// When the catalog's first page was asked for: a repository missing
  /// from it is gone as of then.
  timestamp_us listing_started = 0;
  /// The catalog and regevent's repositories, in name order, and how far
  /// the walk is.
  std::vector<std::string> queue;
  size_t walked = 0;
  /// `reconcile.on_start`: the first look for work starts a run.
  bool start_pending = false;
  timestamp_us started_at = 0;

  reconcile_state();
  ~reconcile_state();
};

/// Imports and reconciles the source registry's catalog: takes one run at
/// a time across instances (a lease in the database), lists the catalog
/// page by page, then walks its repositories and regevent's own a few at
/// once, applying each repository's observation in a transaction of its
/// own. Detached: the walk's requests block.
reconcile_actor::behavior_type
reconciler(reconcile_actor::stateful_pointer<reconcile_state> self,
           reconcile_config cfg);

} // namespace regevent
