#include "actors/query.hpp"

#include "actors/http_actor.hpp"
#include "persistence/database.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

namespace regevent {

query_state::query_state() = default;
query_state::~query_state() = default;

query_actor::behavior_type
query(query_actor::stateful_pointer<query_state> self, runtime rt) {
  self->state.rt = std::move(rt);
  return {
      [self](atom::query, query_request& req) {
        auto& st = self->state;
        try {
          if (!st.db)
            st.db = std::make_unique<database>(*st.rt.cfg);
          req.reply_to->reply(req.run(*st.db));
        } catch (const std::exception& e) {
          spdlog::error("query failed: {}", e.what());
          st.db.reset();
          http_response r
              = unavailable("database error: " + std::string(e.what()),
                            st.rt.cfg->ingest.retry_after_s);
          req.reply_to->reply(std::move(r));
        }
      },
  };
}

} // namespace regevent
