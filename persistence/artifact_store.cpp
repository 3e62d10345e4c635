#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <tuple>

namespace regevent {

namespace {

/// Artifacts and tags with push and pull times. Every column is a
/// last-writer-wins register keyed by the registry's event time, and a
/// delete leaves a tombstone time, so that any arrival order of the same
/// events gives the same rows: an artifact is visible while its push time
/// is later than its deletion, a tag while its push time is later than its
/// own deletion and its artifact's.
class artifact_store : public effect_store {
public:
  explicit artifact_store(database& db) : effect_store(db, "artifacts") {}

protected:
  void apply_fresh(const std::vector<const planned_event*>& fresh) override {
    // Every transaction takes its row locks in one global order, artifacts
    // by (repository, digest) and then tags by (repository, name), so that
    // instances writing one PostgreSQL database cannot deadlock.
    std::vector<const event_record*> events;
    events.reserve(fresh.size());
    for (const auto* p : fresh)
      events.push_back(&p->event);
    auto by = [](auto key) {
      return [key](const event_record* a, const event_record* b) {
        return std::tie(a->repository, key(*a), a->time)
               < std::tie(b->repository, key(*b), b->time);
      };
    };
    std::stable_sort(events.begin(), events.end(),
                     by([](const event_record& e) -> const std::string& {
                       return e.digest;
                     }));
    for (const auto* e : events)
      artifact_row(*e);
    std::stable_sort(
        events.begin(), events.end(),
        by([](const event_record& e) -> const std::string& { return e.tag; }));
    for (const auto* e : events)
      tag_row(*e);
  }

private:
  void artifact_row(const event_record& e) {
    auto& sql = db_.session();
    long long t = e.time;
    long long size = e.size;
    if (e.action == "push") {
      sql << "INSERT INTO artifacts (repository, digest, media_type, size, "
             "push_time) VALUES (:r, :d, :m, :s, :t) ON CONFLICT "
             "(repository, digest) DO UPDATE SET media_type = CASE WHEN "
             "excluded.push_time >= artifacts.push_time THEN "
             "excluded.media_type ELSE artifacts.media_type END, size = "
             "CASE WHEN excluded.push_time >= artifacts.push_time THEN "
             "excluded.size ELSE artifacts.size END, push_time = CASE WHEN "
             "excluded.push_time > artifacts.push_time THEN "
             "excluded.push_time ELSE artifacts.push_time END",
          soci::use(e.repository), soci::use(e.digest), soci::use(e.media_type),
          soci::use(size), soci::use(t);
    } else if (e.action == "pull") {
      sql << "INSERT INTO artifacts (repository, digest, pull_time) VALUES "
             "(:r, :d, :t) ON CONFLICT (repository, digest) DO UPDATE SET "
             "pull_time = CASE WHEN excluded.pull_time > "
             "artifacts.pull_time THEN excluded.pull_time ELSE "
             "artifacts.pull_time END",
          soci::use(e.repository), soci::use(e.digest), soci::use(t);
    } else if (e.action == "delete" && !e.digest.empty()) {
      // A manifest delete and a blob delete look the same (repository +
      // digest); a tombstone on a blob digest is never visible.
      sql << "INSERT INTO artifacts (repository, digest, deleted_at) "
             "VALUES (:r, :d, :t) ON CONFLICT (repository, digest) DO "
             "UPDATE SET deleted_at = CASE WHEN excluded.deleted_at > "
             "artifacts.deleted_at THEN excluded.deleted_at ELSE "
             "artifacts.deleted_at END",
          soci::use(e.repository), soci::use(e.digest), soci::use(t);
      // The tags of the artifact are not tombstoned here: which tags
      // point to the digest depends on which pushes arrived first (a tag
      // moved away from it by a push older than this delete, but
      // delivered after it, would stay hidden). A tag is visible only
      // while its push is later than its artifact's deleted_at, which
      // the readers check.
    }
  }

  void tag_row(const event_record& e) {
    if (e.tag.empty())
      return;
    auto& sql = db_.session();
    long long t = e.time;
    if (e.action == "push") {
      sql << "INSERT INTO tags (repository, name, digest, push_time) "
             "VALUES (:r, :n, :d, :t) ON CONFLICT (repository, name) DO "
             "UPDATE SET digest = CASE WHEN excluded.push_time > "
             "tags.push_time THEN excluded.digest ELSE tags.digest END, "
             "push_time = CASE WHEN excluded.push_time > tags.push_time "
             "THEN excluded.push_time ELSE tags.push_time END",
          soci::use(e.repository), soci::use(e.tag), soci::use(e.digest),
          soci::use(t);
    } else if (e.action == "pull") {
      sql << "INSERT INTO tags (repository, name, digest, pull_time) "
             "VALUES (:r, :n, :d, :t) ON CONFLICT (repository, name) DO "
             "UPDATE SET pull_time = CASE WHEN excluded.pull_time > "
             "tags.pull_time THEN excluded.pull_time ELSE tags.pull_time "
             "END",
          soci::use(e.repository), soci::use(e.tag), soci::use(e.digest),
          soci::use(t);
    } else if (e.action == "delete" && e.digest.empty()) {
      sql << "INSERT INTO tags (repository, name, deleted_at) VALUES (:r, "
             ":n, :t) ON CONFLICT (repository, name) DO UPDATE SET "
             "deleted_at = CASE WHEN excluded.deleted_at > tags.deleted_at "
             "THEN excluded.deleted_at ELSE tags.deleted_at END",
          soci::use(e.repository), soci::use(e.tag), soci::use(t);
    }
  }
};

} // namespace

std::unique_ptr<effect_store> make_artifact_store(database& db) {
  return std::make_unique<artifact_store>(db);
}

} // namespace regevent
