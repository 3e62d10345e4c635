#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <map>
#include <utility>

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
  explicit artifact_store(database& db)
      : effect_store(db, effect_kind::artifacts),
        push_artifact_(
            (db.session().prepare
                 << "INSERT INTO artifacts (repository, digest, media_type, "
                    "size, "
                    "push_time) VALUES (:r, :d, :m, :s, :t) ON CONFLICT "
                    "(repository, digest) DO UPDATE SET media_type = CASE WHEN "
                    "excluded.push_time >= artifacts.push_time THEN "
                    "excluded.media_type ELSE artifacts.media_type END, size = "
                    "CASE WHEN excluded.push_time >= artifacts.push_time THEN "
                    "excluded.size ELSE artifacts.size END, push_time = CASE "
                    "WHEN "
                    "excluded.push_time > artifacts.push_time THEN "
                    "excluded.push_time ELSE artifacts.push_time END",
             soci::use(a_.repository), soci::use(a_.key), soci::use(a_.text),
             soci::use(a_.size), soci::use(a_.time))),
        pull_artifact_(
            (db.session().prepare
                 << "INSERT INTO artifacts (repository, digest, pull_time) "
                    "VALUES "
                    "(:r, :d, :t) ON CONFLICT (repository, digest) DO UPDATE "
                    "SET "
                    "pull_time = CASE WHEN excluded.pull_time > "
                    "artifacts.pull_time THEN excluded.pull_time ELSE "
                    "artifacts.pull_time END",
             soci::use(a_.repository), soci::use(a_.key), soci::use(a_.time))),
        // A manifest delete and a blob delete look the same (repository +
        // digest); a tombstone on a blob digest is never visible. The tags of
        // the artifact are not tombstoned: which tags point to the digest
        // depends on which pushes arrived first. A tag is visible only while
        // its push is later than its artifact's deleted_at (readers check).
        delete_artifact_(
            (db.session().prepare
                 << "INSERT INTO artifacts (repository, digest, deleted_at) "
                    "VALUES (:r, :d, :t) ON CONFLICT (repository, digest) DO "
                    "UPDATE SET deleted_at = CASE WHEN excluded.deleted_at > "
                    "artifacts.deleted_at THEN excluded.deleted_at ELSE "
                    "artifacts.deleted_at END",
             soci::use(a_.repository), soci::use(a_.key), soci::use(a_.time))),
        push_tag_(
            (db.session().prepare
                 << "INSERT INTO tags (repository, name, digest, push_time) "
                    "VALUES (:r, :n, :d, :t) ON CONFLICT (repository, name) "
                    "DO UPDATE SET digest = CASE WHEN excluded.push_time > "
                    "tags.push_time THEN excluded.digest ELSE tags.digest "
                    "END, push_time = CASE WHEN excluded.push_time > "
                    "tags.push_time THEN excluded.push_time ELSE "
                    "tags.push_time END",
             soci::use(a_.repository), soci::use(a_.key), soci::use(a_.text),
             soci::use(a_.time))),
        pull_tag_(
            (db.session().prepare
                 << "INSERT INTO tags (repository, name, digest, pull_time) "
                    "VALUES (:r, :n, :d, :t) ON CONFLICT (repository, name) "
                    "DO UPDATE SET pull_time = CASE WHEN excluded.pull_time "
                    "> tags.pull_time THEN excluded.pull_time ELSE "
                    "tags.pull_time END",
             soci::use(a_.repository), soci::use(a_.key), soci::use(a_.text),
             soci::use(a_.time))),
        delete_tag_(
            (db.session().prepare
                 << "INSERT INTO tags (repository, name, deleted_at) "
                    "VALUES (:r, :n, :t) ON CONFLICT (repository, name) "
                    "DO UPDATE SET deleted_at = CASE WHEN "
                    "excluded.deleted_at > tags.deleted_at THEN "
                    "excluded.deleted_at ELSE tags.deleted_at END",
             soci::use(a_.repository), soci::use(a_.key), soci::use(a_.time))) {
  }

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
        artifacts[{e.repository, e.digest}].pull(e.time, {});
        if (!e.tag.empty())
          tags[{e.repository, e.tag}].pull(e.time, e.digest);
      } else if (e.action == "delete" && !e.digest.empty()) {
        artifacts[{e.repository, e.digest}].remove(e.time);
      } else if (e.action == "delete") {
        tags[{e.repository, e.tag}].remove(e.time);
      }
    }
    write(artifacts, push_artifact_, pull_artifact_, delete_artifact_);
    write(tags, push_tag_, pull_tag_, delete_tag_);
  }

private:
  /// The latest push, pull and delete of one row within a batch.
  struct folded {
    bool pushed = false, pulled = false, deleted = false;
    long long push_time = 0, pull_time = 0, delete_time = 0;
    std::string push_text, pull_text;
    long long size = 0;

    void push(long long t, const std::string& text, long long sz) {
      if (!pushed || t >= push_time) {
        push_text = text;
        size = sz;
      }
      push_time = pushed ? std::max(push_time, t) : t;
      pushed = true;
    }
    void pull(long long t, const std::string& text) {
      if (!pulled || t >= pull_time) {
        pull_time = t;
        pull_text = text;
      }
      pulled = true;
    }
    void remove(long long t) {
      delete_time = deleted ? std::max(delete_time, t) : t;
      deleted = true;
    }
  };

  void write(const std::map<std::pair<std::string, std::string>, folded>& rows,
             soci::statement& push, soci::statement& pull,
             soci::statement& remove) {
    for (const auto& [key, f] : rows) {
      a_.repository = key.first;
      a_.key = key.second;
      if (f.pushed) {
        a_.text = f.push_text;
        a_.size = f.size;
        a_.time = f.push_time;
        push.execute(true);
      }
      if (f.pulled) {
        a_.text = f.pull_text;
        a_.time = f.pull_time;
        pull.execute(true);
      }
      if (f.deleted) {
        a_.time = f.delete_time;
        remove.execute(true);
      }
    }
  }

  /// The values bound to the prepared statements.
  struct bound {
    std::string repository;
    /// The digest (artifacts) or tag name (tags).
    std::string key;
    /// The media type (artifact push) or digest (tag push and pull).
    std::string text;
    long long size = 0;
    long long time = 0;
  } a_;
  soci::statement push_artifact_;
  soci::statement pull_artifact_;
  soci::statement delete_artifact_;
  soci::statement push_tag_;
  soci::statement pull_tag_;
  soci::statement delete_tag_;
};

} // namespace

std::unique_ptr<effect_store> make_artifact_store(database& db) {
  return std::make_unique<artifact_store>(db);
}

} // namespace regevent
