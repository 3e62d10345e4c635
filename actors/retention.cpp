#include "actors/retention.hpp"

#include "actors/sql_guard.hpp"
#include "persistence/catalog_store.hpp"
#include "persistence/database.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

namespace regevent {

retention_state::retention_state() = default;
retention_state::~retention_state() = default;

namespace {

using self_ptr = retention_actor::stateful_pointer<retention_state>;

/// Pause between two purge batches, so that ingest and effects get the
/// SQLite write lock in between.
constexpr auto batch_pause = std::chrono::milliseconds(20);

} // namespace

retention_actor::behavior_type retention(self_ptr self, runtime rt) {
  self->state.rt = std::move(rt);
  auto interval
      = std::chrono::seconds(self->state.rt.cfg->retention.purge_interval_s);
  if (self->state.rt.cfg->retention.access_log_days > 0)
    self->delayed_send(self, std::chrono::seconds(1), atom::tick_v);
  return {
      [self, interval](atom::tick) {
        self->state.purged = 0;
        self->send(self, atom::purge_v);
        self->delayed_send(self, interval, atom::tick_v);
      },
      [self](atom::purge) {
        auto& st = self->state;
        const auto& r = st.rt.cfg->retention;
        long long cutoff
            = now_us()
              - static_cast<long long>(r.access_log_days) * 86'400'000'000LL;
        long long batch = r.purge_batch;
        auto n = guard_sql(
            st.db,
            [&] {
              if (!st.store) {
                st.db = std::make_unique<database>(*st.rt.cfg);
                st.store = std::make_unique<catalog_store>(*st.db);
              }
              return st.store->purge_access_logs(cutoff, batch);
            },
            [&st] {
              st.store.reset();
              st.db.reset();
            });
        if (!n) {
          spdlog::warn("retention failed to purge access logs: {}",
                       describe(n.error()));
          return;
        }
        st.purged += static_cast<uint64_t>(*n);
        if (*n >= batch) {
          self->delayed_send(self, batch_pause, atom::purge_v);
        } else if (st.purged > 0) {
          spdlog::info("retention purged {} access-log rows older than {} "
                       "days",
                       st.purged, r.access_log_days);
        }
      },
  };
}

} // namespace regevent
