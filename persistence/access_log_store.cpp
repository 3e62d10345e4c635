#include "persistence/database.hpp"
#include "persistence/effect_store.hpp"
#include "persistence/multi_row.hpp"

namespace regevent {

namespace {

/// One audit row per kept push, pull and delete.
class access_log_store : public effect_store {
public:
  explicit access_log_store(database& db)
      : effect_store(db, effect_kind::access_log),
        insert_(db.session(),
                "INSERT INTO access_logs (event_id, username, project, "
                "repository, tag, digest, operation, op_time, client_addr, "
                "user_agent)",
                {column_type::text, column_type::text, column_type::text,
                 column_type::text, column_type::text, column_type::text,
                 column_type::text, column_type::integer, column_type::text,
                 column_type::text},
                "") {}

protected:
  void apply_fresh(const std::vector<const effect_input*>& fresh) override {
    for (const auto* p : fresh) {
      const auto& e = p->event;
      insert_.text(e.id)
          .text(e.actor.empty() ? "anonymous" : e.actor)
          .text(p->project)
          .text(e.repository)
          .text(e.tag)
          .text(e.digest)
          .text(e.action)
          .integer(e.time)
          .text(e.client_addr)
          .text(e.user_agent);
    }
    insert_.execute();
  }

private:
  multi_row_insert insert_;
};

} // namespace

std::unique_ptr<effect_store> make_access_log_store(database& db) {
  return std::make_unique<access_log_store>(db);
}

} // namespace regevent
