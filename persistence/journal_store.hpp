#pragma once

#include "persistence/catalog.hpp"
#include "persistence/event.hpp"

#include <array>
#include <optional>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace regevent {

class database;

/// The one-row form of the INSERT `journal_store::append` runs (it writes
/// many rows per statement, with these columns and conflict clause), with
/// its parameters in this order: id, received, time, action, repository,
/// tag, digest, media_type, size, method, user_agent, actor, client_addr,
/// source_addr, raw, claimed_by, claim_expires. Public so that the
/// benchmark's SQLite ceiling inserts exactly the journal's rows.
const char* journal_insert_sql();

/// SQL access to the `events` journal and `dead_letters`. Calls that write
/// run inside the caller's transaction, so that one commit carries many
/// requests (group commit).
class journal_store {
public:
  explicit journal_store(database& db);
  ~journal_store();

  /// Inserts each event whose id is not journaled yet. `fresh[i]` tells
  /// whether `events[i]` was new (the first of an id twice in `events` is),
  /// and `(*seqs)[i]` its journal seq (0 when not new). A non-empty
  /// `claim_owner` claims the new rows for this instance until
  /// `claim_expires`.
  void append(const std::vector<event_record>& events,
              const std::string& claim_owner, timestamp_us claim_expires,
              std::vector<bool>& fresh, std::vector<long long>* seqs = nullptr);

  /// Events moved out of pending, by status (indexed as
  /// `event_status_names`), so that the single writer can keep the counts
  /// by status without reading the table.
  using status_counts = std::array<long long, 4>;

  /// Sets status and reason of each pending event and releases its claim;
  /// an event that is finished already (a second dispatcher's late answer)
  /// keeps its first outcome. Answers the transitions made.
  status_counts update_status(const std::vector<status_update>& updates,
                              timestamp_us now);

  void add_dead_letter(const dead_letter& x, timestamp_us now);

  /// Pending events, counted from the two partial indexes of pending rows
  /// (cheap: no finished row is read).
  uint64_t count_pending();

  /// Events by status, in the order of `event_status_names`. Reads every
  /// row: once at start on SQLite, now and then on a reader's connection
  /// on PostgreSQL.
  status_counts count_by_status();

  /// Sends a dead letter's event back to pending and unclaimed, so that
  /// recovery dispatches it again (effects already applied are skipped by
  /// their marks). Runs in the caller's transaction. nullopt when no dead
  /// letter has that id.
  std::optional<replay_result> replay_dead_letter(long long id,
                                                  timestamp_us now);

  /// Which pending events a claim may take.
  enum class claim_scope {
    /// Only those nobody holds: cheap (an index of exactly those rows), for
    /// every wakeup.
    unclaimed,
    /// Those too whose claim expired before `now`, or whose owner's
    /// heartbeat is older than `alive_since` (a dead instance): walks the
    /// claimed rows, for the periodic sweep.
    unclaimed_and_stale,
  };

  /// The queries that pick the rows a claim takes (seq of each, oldest
  /// first, `:n` of them; the stale one also binds `:now` and `:alive`).
  /// Public so that a test can prove they read only their partial index.
  static const char* const unclaimed_candidates;
  static const char* const stale_candidates;

  /// Claims up to `limit` pending events in `scope`, unclaimed ones first,
  /// answered oldest first. PostgreSQL skips rows another instance is
  /// claiming at the same moment.
  std::vector<event_record>
  claim(const std::string& owner, timestamp_us now, timestamp_us expires,
        timestamp_us alive_since, size_t limit,
        claim_scope scope = claim_scope::unclaimed_and_stale);

  /// Records that instance `owner` is alive at `now`.
  void heartbeat(const std::string& owner, timestamp_us now);

  /// Removes the heartbeat of `owner` (on clean shutdown).
  void forget_instance(const std::string& owner);

  /// Gives back every claim of `owner` (on clean shutdown).
  uint64_t release(const std::string& owner);

  /// How far a retention step got over the rows after its cursor.
  struct retention_step {
    /// Where the next step starts (the last seq looked at).
    long long cursor = 0;
    /// Rows changed (compacted or deleted).
    long long changed = 0;
    /// Whether the step reached rows received at or after the cutoff: the
    /// round is over.
    bool done = false;
    /// Events deleted, by status (forgetting only).
    status_counts removed{};
  };

  /// Compacts finished (done or ignored) events among the next `limit`
  /// rows after `cursor` received before `cutoff`: the body goes, and so
  /// do the effect marks, which only guard an event that can still be
  /// dispatched. The row stays, a deduplication key. Pending and dead
  /// events are left whole (a dead letter may be replayed). Runs in the
  /// caller's transaction.
  retention_step compact_finished(long long cursor, timestamp_us cutoff,
                                  long long limit);

  /// Deletes finished events among the next `limit` rows after `cursor`
  /// received before `cutoff`: a later delivery of one of those ids is a
  /// new event again. Runs in the caller's transaction.
  retention_step forget_finished(long long cursor, timestamp_us cutoff,
                                 long long limit);

  /// Gives back every claim of every instance. Only for SQLite, where one
  /// instance owns the file and claims left by a crash are stale.
  uint64_t release_all();

private:
  /// One step of either walk: blanks the body of (or, `forget`, deletes)
  /// the finished rows of the range, and their marks.
  retention_step step_over_finished(long long cursor, timestamp_us cutoff,
                                    long long limit, bool forget);

  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace regevent
