#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/multi_row.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace regevent {

namespace {

/// Artifacts and tags with push and pull times. Every column is a
/// last-writer-wins register keyed by the registry's event time, and a
/// delete leaves a tombstone time, so that any arrival order of the same
/// events gives the same rows: an artifact is visible while the latest time
/// it was seen (`alive_at`: a push, a pull, a reconcile's read) is later
/// than its deletion, a tag while its own is later than its own deletion
/// and its artifact's.
class artifact_store : public effect_store {
public:
  explicit artifact_store(database& db)
      : effect_store(db, effect_kind::artifacts),
        // One statement per table sets every register of a row: a column
        // whose event kind is absent from the batch carries 0, which never
        // wins. One statement keeps row locks in key order across instances
        // sharing PostgreSQL (three statements, one per event kind, would
        // not). An event time is never 0, so `push_time > 0` is "pushed".
        artifacts_(
            db.session(),
            "INSERT INTO artifacts (repository, digest, media_type, size, "
            "push_time, pull_time, deleted_at, alive_at)",
            {column_type::text, column_type::text, column_type::text,
             column_type::integer, column_type::integer, column_type::integer,
             column_type::integer, column_type::integer},
            "ON CONFLICT (repository, digest) DO UPDATE SET media_type = CASE "
            "WHEN excluded.push_time > 0 AND excluded.push_time >= "
            "artifacts.push_time THEN excluded.media_type WHEN "
            "artifacts.media_type = '' THEN excluded.media_type ELSE "
            "artifacts.media_type END, size = CASE WHEN excluded.push_time > 0 "
            "AND excluded.push_time >= artifacts.push_time THEN excluded.size "
            "WHEN artifacts.size = 0 THEN excluded.size ELSE artifacts.size "
            "END, push_time = CASE WHEN "
            "excluded.push_time > artifacts.push_time THEN excluded.push_time "
            "ELSE artifacts.push_time END, pull_time = CASE WHEN "
            "excluded.pull_time > artifacts.pull_time THEN excluded.pull_time "
            "ELSE artifacts.pull_time END, deleted_at = CASE WHEN "
            "excluded.deleted_at > artifacts.deleted_at THEN "
            "excluded.deleted_at ELSE artifacts.deleted_at END, alive_at = "
            "CASE WHEN excluded.alive_at > artifacts.alive_at THEN "
            "excluded.alive_at ELSE artifacts.alive_at END"),
        // A new tag row takes the pushed digest, or the pulled one when the
        // batch only pulled it; an existing row's digest changes only with a
        // later push (or a later reconcile, which also keys `digest_at`).
        // A tag never pushed nor reconciled follows its latest pull.
        tags_(db.session(),
              "INSERT INTO tags (repository, name, digest, push_time, "
              "pull_time, deleted_at, alive_at, digest_at)",
              {column_type::text, column_type::text, column_type::text,
               column_type::integer, column_type::integer,
               column_type::integer, column_type::integer,
               column_type::integer},
              "ON CONFLICT (repository, name) DO UPDATE SET digest = CASE "
              "WHEN excluded.digest_at > tags.digest_at THEN excluded.digest "
              "WHEN tags.digest = '' THEN excluded.digest WHEN "
              "excluded.digest_at = 0 AND tags.digest_at = 0 AND "
              "excluded.pull_time > tags.pull_time THEN excluded.digest ELSE "
              "tags.digest END, digest_at = CASE WHEN excluded.digest_at > tags.digest_at "
              "THEN excluded.digest_at ELSE tags.digest_at END, push_time = "
              "CASE WHEN excluded.push_time > tags.push_time THEN "
              "excluded.push_time ELSE tags.push_time END, pull_time = CASE "
              "WHEN excluded.pull_time > tags.pull_time THEN "
              "excluded.pull_time ELSE tags.pull_time END, deleted_at = CASE "
              "WHEN excluded.deleted_at > tags.deleted_at THEN "
              "excluded.deleted_at ELSE tags.deleted_at END, alive_at = CASE "
              "WHEN excluded.alive_at > tags.alive_at THEN excluded.alive_at "
              "ELSE tags.alive_at END") {}

protected:
  void apply_fresh(const std::vector<const effect_input*>& fresh) override {
    // Each column is a register that keeps its latest (or largest) value,
    // so the events of a batch fold per row first: a hot artifact pulled a
    // hundred times costs one statement. The folded rows are written in
    // key order, artifacts then tags, so that instances sharing one
    // PostgreSQL database take their row locks in one order and cannot
    // deadlock.
    std::map<std::pair<std::string, std::string>, folded> artifacts;
    std::map<std::pair<std::string, std::string>, folded> tags;
    for (const auto* p : fresh) {
      const auto& e = p->event;
      if (e.action == "push") {
        artifacts[{e.repository, e.digest}].push(e.time, e.media_type, e.size);
        if (!e.tag.empty())
          tags[{e.repository, e.tag}].push(e.time, e.digest, 0);
      } else if (e.action == "pull") {
        // A pull proves the artifact exists: one pushed before regevent
        // ran shows with its pull time, its push time unknown (0).
        artifacts[{e.repository, e.digest}].pull(e.time, e.media_type, e.size);
        if (!e.tag.empty())
          tags[{e.repository, e.tag}].pull(e.time, e.digest, 0);
      } else if (e.action == "delete" && !e.digest.empty()) {
        artifacts[{e.repository, e.digest}].remove(e.time);
      } else if (e.action == "delete") {
        tags[{e.repository, e.tag}].remove(e.time);
      }
    }
    write_artifacts(artifacts);
    write_tags(tags);
  }

private:
  /// The latest push, pull and delete of one row within a batch.
  struct folded {
    bool pushed = false, pulled = false, deleted = false;
    long long push_time = 0, pull_time = 0, delete_time = 0;
    std::string push_text, pull_text;
    long long size = 0, pull_size = 0;

    void push(long long t, const std::string& text, long long sz) {
      if (!pushed || t >= push_time) {
        push_text = text;
        size = sz;
      }
      push_time = pushed ? std::max(push_time, t) : t;
      pushed = true;
    }
    void pull(long long t, const std::string& text, long long sz) {
      if (!pulled || t >= pull_time) {
        pull_time = t;
        pull_text = text;
        pull_size = sz;
      }
      pulled = true;
    }
    void remove(long long t) {
      delete_time = deleted ? std::max(delete_time, t) : t;
      deleted = true;
    }
    /// The latest time the batch saw the row exist (0: only deleted).
    long long alive_time() const {
      return std::max(pushed ? push_time : 0, pulled ? pull_time : 0);
    }
  };

  /// Each row once per statement (PostgreSQL refuses an upsert that
  /// touches one row twice), in key order.
  void write_artifacts(
      const std::map<std::pair<std::string, std::string>, folded>& rows) {
    for (const auto& [key, f] : rows) {
      // A pulled-only row offers the pull's media type and size: they fill
      // a row that has none and never override a push's.
      artifacts_.text(key.first)
          .text(key.second)
          .text(f.pushed   ? f.push_text
                : f.pulled ? f.pull_text
                           : std::string())
          .integer(f.pushed ? f.size : f.pulled ? f.pull_size : 0)
          .integer(f.pushed ? f.push_time : 0)
          .integer(f.pulled ? f.pull_time : 0)
          .integer(f.deleted ? f.delete_time : 0)
          .integer(f.alive_time());
    }
    artifacts_.execute();
  }

  void write_tags(
      const std::map<std::pair<std::string, std::string>, folded>& rows) {
    for (const auto& [key, f] : rows) {
      tags_.text(key.first)
          .text(key.second)
          .text(f.pushed   ? f.push_text
                : f.pulled ? f.pull_text
                           : std::string())
          .integer(f.pushed ? f.push_time : 0)
          .integer(f.pulled ? f.pull_time : 0)
          .integer(f.deleted ? f.delete_time : 0)
          .integer(f.alive_time())
          .integer(f.pushed ? f.push_time : 0);
    }
    tags_.execute();
  }

  multi_row_insert artifacts_;
  multi_row_insert tags_;
};

} // namespace

std::unique_ptr<effect_store> make_artifact_store(database& db) {
  return std::make_unique<artifact_store>(db);
}

} // namespace regevent
