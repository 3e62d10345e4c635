#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"

#include <soci/soci.h>

namespace regevent {

namespace {

/// One audit row per kept push, pull and delete.
class access_log_store : public effect_store {
public:
  explicit access_log_store(database& db)
      : effect_store(db, effect_kind::access_log),
        insert_(
            (db.session().prepare
                 << "INSERT INTO access_logs (event_id, username, project, "
                    "repository, tag, digest, operation, op_time, client_addr, "
                    "user_agent) VALUES (:id, :user, :project, :repository, "
                    ":tag, :digest, :operation, :time, :addr, :agent)",
             soci::use(row_.event.id), soci::use(username_),
             soci::use(row_.project), soci::use(row_.event.repository),
             soci::use(row_.event.tag), soci::use(row_.event.digest),
             soci::use(row_.event.action), soci::use(time_),
             soci::use(row_.event.client_addr),
             soci::use(row_.event.user_agent))) {}

protected:
  void apply_fresh(const std::vector<const effect_input*>& fresh) override {
    for (const auto* p : fresh) {
      row_ = *p;
      username_ = p->event.actor.empty() ? "anonymous" : p->event.actor;
      time_ = p->event.time;
      insert_.execute(true);
    }
  }

private:
  effect_input row_;
  std::string username_;
  long long time_ = 0;
  soci::statement insert_;
};

} // namespace

std::unique_ptr<effect_store> make_access_log_store(database& db) {
  return std::make_unique<access_log_store>(db);
}

} // namespace regevent
