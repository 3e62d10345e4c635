#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace regevent::bench {

/// What the senders post. `pulls`: manifest GETs by tag only, the bulk of a
/// registry's traffic. `mix`: pushes, pulls (GET and HEAD, by tag and by
/// digest), deletes and re-sent duplicates, as a busy registry sends them.
struct workload_options {
  std::string kind = "pulls";
  size_t repositories = 1000;
  /// Zipf exponent of repository popularity (1.0: the classic 80/20-ish).
  double zipf_s = 1.0;
  /// Shares of new events; the rest are pulls. push:pull is 1:20.
  double push_share = 1.0 / 21.0;
  double delete_share = 0.01;
  /// Shares among pulls.
  double head_share = 0.20;
  double digest_share = 0.10;
  /// Share of deliveries that re-send an already answered event.
  double duplicate_share = 0.05;
  uint64_t seed = 1;
  /// First block of every event id (8 hex digits), unique per run, so that
  /// the check finds this run's rows in a database that has others.
  std::string run_tag;
  /// Project of every repository this run touches: `<project>/app-0042`.
  std::string project;
};

/// Effects the daemon must commit for one kept event (DESIGN §2).
enum class event_kind : uint8_t { push, pull_get, pull_head, delete_event };

/// One POST to make, and what its success proves.
struct delivery {
  std::string body;
  std::string id;
  uint32_t repository = 0;
  event_kind kind = event_kind::pull_get;
  bool by_digest = false;
  /// A re-send of an event the daemon already answered: must come back as
  /// a duplicate and change nothing.
  bool duplicate = false;
};

/// What the daemon acknowledged, by this run's accounting: the expected
/// state of the database. Merged over all senders at the end.
struct ledger {
  uint64_t events = 0;     ///< distinct event ids acknowledged
  uint64_t duplicates = 0; ///< acknowledged re-sends of known ids
  uint64_t pushes = 0;
  uint64_t pulls_get = 0;
  uint64_t pulls_head = 0;
  uint64_t pulls_by_digest = 0;
  uint64_t deletes = 0;
  /// Completion marks (effect_marks rows) the daemon must write.
  uint64_t effect_marks = 0;
  /// Counted pulls (GET; HEAD is not counted under head_requests: touch)
  /// per repository index.
  std::vector<uint64_t> pull_counts;
  /// Whether a kept event made the repository visible (the repositories
  /// effect: any push, pull or delete).
  std::vector<bool> seen;

  explicit ledger(size_t repositories = 0)
      : pull_counts(repositories, 0), seen(repositories, false) {}
  void record(const delivery& d);
  void merge(const ledger& other);
};

/// Name of repository `index` of a run.
std::string repository_name(const workload_options& w, uint32_t index);

/// Digest of version `version` (tag `v<version>`) of repository `index`, as
/// every event of the run names it (pulls of a fresh run: version 1).
std::string manifest_digest(const workload_options& w, uint32_t index,
                            uint32_t version);

/// Makes the deliveries of one sender: unique ids, real envelope shapes
/// (Distribution's 3-space-indented JSON, one event per POST, references
/// included), Zipf-skewed repositories. Not thread-safe: one per sender.
class generator {
public:
  generator(const workload_options& options, uint32_t sender);
  ~generator();

  /// The next delivery (a new event, or in `mix` sometimes a re-send).
  delivery next();

  /// Remembers an answered delivery as a candidate for re-sending.
  void answered(const delivery& d);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace regevent::bench
