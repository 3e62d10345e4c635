#pragma once

#include "config/config.hpp"
#include "persistence/database.hpp"
#include "persistence/event.hpp"
#include "tests/fixtures/event_seq.hpp"
#include "tests/fixtures/temp_dir.hpp"

#include <soci/soci.h>

#include <memory>
#include <string>

namespace regevent::test {

/// A migrated SQLite database in a fresh temporary directory.
class store_fixture {
public:
  explicit store_fixture(const std::string& extra_yaml = {})
      : path_(dir_.file("regevent.db")),
        cfg_(load_config_from_string("database:\n  url: sqlite://" + path_
                                     + "\n" + extra_yaml)),
        db_(std::make_unique<database>(cfg_)) {
    migrate(*db_);
  }

  database& db() {
    return *db_;
  }
  soci::session& sql() {
    return db_->session();
  }
  const config& cfg() const {
    return cfg_;
  }
  const std::string& path() const {
    return path_;
  }

  /// One integer from a query on this fixture's connection.
  long long scalar(const std::string& query) {
    long long value = 0;
    soci::indicator ind = soci::i_ok;
    sql() << query, soci::into(value, ind);
    return ind == soci::i_null ? 0 : value;
  }

  /// One text value from a query; empty when there is no row.
  std::string text(const std::string& query) {
    std::string value;
    soci::indicator ind = soci::i_ok;
    sql() << query, soci::into(value, ind);
    return ind == soci::i_ok ? value : std::string{};
  }

private:
  temp_dir dir_;
  std::string path_;
  config cfg_;
  std::unique_ptr<database> db_;
};

/// A synthetic registry event with every field set (the seq from its id,
/// for tests that hand it to an effect without journaling it).
inline event_record make_event(const std::string& id,
                               const std::string& action = "push",
                               timestamp_us time = 1'000'000) {
  event_record e;
  e.id = id;
  e.seq = seq_for(id);
  e.action = action;
  e.time = time;
  e.received = time + 5;
  e.repository = "library/hello";
  e.tag = "1.0";
  e.digest = "sha256:aaaa";
  e.media_type = "application/vnd.oci.image.manifest.v1+json";
  e.size = 401;
  e.method = action == "push" ? "PUT" : action == "pull" ? "GET" : "DELETE";
  e.user_agent = "containerd/1.7.0";
  e.actor = "";
  e.client_addr = "10.0.0.9:41000";
  e.source_addr = "registry:5000";
  e.raw = "{\"id\":\"" + id + "\"}";
  return e;
}

} // namespace regevent::test
