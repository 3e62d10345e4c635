#include "persistence/reconcile_store.hpp"

#include "persistence/database.hpp"
#include "persistence/rows.hpp"

#include <soci/soci.h>

#include <map>
#include <set>

namespace regevent {

namespace {

constexpr const char* run_columns
    = "SELECT id, run_trigger, status, instance, created_at, started_at, "
      "finished_at, repositories_total, repositories_walked, "
      "repositories_created, created, deleted, corrected, errors, error FROM "
      "reconcile_runs";

reconcile_run run_of(const soci::row& r) {
  reconcile_run x;
  x.id = int_at(r, 0);
  x.trigger = text_at(r, 1);
  x.status = text_at(r, 2);
  x.instance = text_at(r, 3);
  x.created_at = int_at(r, 4);
  x.started_at = int_at(r, 5);
  x.finished_at = int_at(r, 6);
  x.counts.repositories_total = int_at(r, 7);
  x.counts.repositories_walked = int_at(r, 8);
  x.counts.repositories_created = int_at(r, 9);
  x.counts.created = int_at(r, 10);
  x.counts.deleted = int_at(r, 11);
  x.counts.corrected = int_at(r, 12);
  x.counts.errors = int_at(r, 13);
  x.error = text_at(r, 14);
  return x;
}

/// A run whose instance stopped renewing its lease (it died) is over: it
/// fails, and the next run starts from the beginning (a walk only reads
/// the registry, and applying it again changes nothing).
void fail_expired(soci::session& sql, timestamp_us now) {
  std::string why = "the instance running it stopped before it finished "
                    "(its lease expired)";
  sql << "UPDATE reconcile_runs SET status = 'failed', finished_at = :n, "
         "error = :e WHERE status = 'running' AND lease_until < :n2",
      soci::use(now), soci::use(why), soci::use(now);
}

long long affected(soci::statement& st) {
  st.execute(true);
  return st.get_affected_rows();
}

/// Inserts a pending run unless one is unfinished (the partial unique
/// index decides, across instances): whether it did.
bool insert_pending(soci::session& sql, const std::string& trigger,
                    timestamp_us now) {
  soci::statement st
      = (sql.prepare << "INSERT INTO reconcile_runs (run_trigger, status, "
                        "created_at) VALUES (:t, 'pending', :c) ON CONFLICT "
                        "DO NOTHING",
         soci::use(trigger), soci::use(now));
  return affected(st) > 0;
}

} // namespace

reconcile_store::reconcile_store(database& db) : db_(db) {}

std::optional<reconcile_run> reconcile_store::unfinished_run() {
  std::string query = run_columns;
  query += " WHERE status IN ('pending', 'running')";
  soci::rowset<soci::row> rs = (db_.session().prepare << query);
  for (const auto& r : rs)
    return run_of(r);
  return std::nullopt;
}

std::optional<reconcile_run>
reconcile_store::request(const std::string& trigger, timestamp_us now,
                         reconcile_run& unfinished) {
  write_transaction tx(db_);
  auto& sql = db_.session();
  fail_expired(sql, now);
  bool inserted = insert_pending(sql, trigger, now);
  auto found = unfinished_run();
  tx.commit();
  if (!found)
    return std::nullopt;
  if (!inserted) {
    unfinished = std::move(*found);
    return std::nullopt;
  }
  return found;
}

std::optional<reconcile_run>
reconcile_store::claim(const std::string& instance, timestamp_us now,
                       timestamp_us lease_until,
                       const std::string& start_trigger,
                       timestamp_us due_before) {
  write_transaction tx(db_);
  auto& sql = db_.session();
  fail_expired(sql, now);
  if (!start_trigger.empty()) {
    // A schedule comes due once for every instance: the first to see it
    // starts the run, and the others find it begun after `due_before`.
    long long later = 0;
    sql << "SELECT COUNT(*) FROM reconcile_runs WHERE created_at >= :d",
        soci::use(due_before), soci::into(later);
    if (later == 0)
      insert_pending(sql, start_trigger, now);
  }
  // Read now, not at the call: on PostgreSQL the INSERT above waits for
  // a run another instance is ending, and this start must come after
  // that end.
  timestamp_us started = now_us();
  soci::statement st
      = (sql.prepare << "UPDATE reconcile_runs SET status = 'running', "
                        "instance = :i, lease_until = :l, started_at = :n "
                        "WHERE status = 'pending'",
         soci::use(instance), soci::use(lease_until), soci::use(started));
  if (affected(st) == 0) {
    tx.commit();
    return std::nullopt;
  }
  // The one unfinished run is the one just taken.
  auto run = unfinished_run();
  tx.commit();
  return run;
}

bool reconcile_store::renew(long long id, const std::string& instance,
                            timestamp_us lease_until,
                            const reconcile_counts& c) {
  write_transaction tx(db_);
  soci::statement st
      = (db_.session().prepare
             << "UPDATE reconcile_runs SET lease_until = :l, "
                "repositories_total = :rt, repositories_walked = :rw, "
                "repositories_created = :rc, created = :c, deleted = :d, "
                "corrected = :x, errors = :e WHERE id = :id AND instance = :i "
                "AND status = 'running'",
         soci::use(lease_until), soci::use(c.repositories_total),
         soci::use(c.repositories_walked), soci::use(c.repositories_created),
         soci::use(c.created), soci::use(c.deleted), soci::use(c.corrected),
         soci::use(c.errors), soci::use(id), soci::use(instance));
  bool held = affected(st) > 0;
  tx.commit();
  return held;
}

void reconcile_store::finish(long long id, const std::string& instance,
                             bool ok, const std::string& error,
                             const reconcile_counts& c, timestamp_us now) {
  std::string status = ok ? reconcile_status::succeeded
                          : reconcile_status::failed;
  // Stored whole but bounded: a registry's error body can be large.
  std::string why = error.substr(0, 2000);
  write_transaction tx(db_);
  db_.session() << "UPDATE reconcile_runs SET status = :s, finished_at = :n, "
                   "error = :e, repositories_total = :rt, "
                   "repositories_walked = :rw, repositories_created = :rc, "
                   "created = :c, deleted = :d, corrected = :x, errors = :er "
                   "WHERE id = :id AND instance = :i AND status = 'running'",
      soci::use(status), soci::use(now), soci::use(why),
      soci::use(c.repositories_total), soci::use(c.repositories_walked),
      soci::use(c.repositories_created), soci::use(c.created),
      soci::use(c.deleted), soci::use(c.corrected), soci::use(c.errors),
      soci::use(id), soci::use(instance);
  tx.commit();
}

std::vector<reconcile_run> reconcile_store::runs(long long limit) {
  std::string query = run_columns;
  query += " ORDER BY id DESC LIMIT :l";
  std::vector<reconcile_run> out;
  soci::rowset<soci::row> rs
      = (db_.session().prepare << query, soci::use(limit));
  for (const auto& r : rs)
    out.push_back(run_of(r));
  return out;
}

repository_state reconcile_store::live_state(const std::string& repository) {
  auto& sql = db_.session();
  repository_state out;
  {
    // A tag is live while it was last seen after its own deletion and its
    // artifact's.
    soci::rowset<soci::row> rs
        = (sql.prepare << "SELECT t.name, t.digest FROM tags t WHERE "
                          "t.repository = :r AND t.alive_at > t.deleted_at "
                          "AND t.alive_at > COALESCE((SELECT a.deleted_at "
                          "FROM artifacts a WHERE a.repository = "
                          "t.repository AND a.digest = t.digest), 0) ORDER "
                          "BY t.name",
           soci::use(repository));
    for (const auto& r : rs)
      out.tags.push_back({text_at(r, 0), text_at(r, 1)});
  }
  soci::rowset<soci::row> rs
      = (sql.prepare << "SELECT digest FROM artifacts WHERE repository = :r "
                        "AND alive_at > deleted_at ORDER BY digest",
         soci::use(repository));
  for (const auto& r : rs)
    out.digests.push_back(text_at(r, 0));
  return out;
}

std::vector<std::string> reconcile_store::repositories() {
  std::vector<std::string> out;
  soci::rowset<soci::row> rs
      = (db_.session().prepare << "SELECT name FROM repositories ORDER BY name");
  for (const auto& r : rs)
    out.push_back(text_at(r, 0));
  return out;
}

bool reconcile_store::hold(long long run_id, const std::string& instance,
                           timestamp_us lease_until) {
  soci::statement st
      = (db_.session().prepare
             << "UPDATE reconcile_runs SET lease_until = :l WHERE id = :id "
                "AND instance = :i AND status = 'running'",
         soci::use(lease_until), soci::use(run_id), soci::use(instance));
  return affected(st) > 0;
}

reconcile_counts reconcile_store::apply(const reconcile_observation& o,
                                        unknown_project_policy policy,
                                        long long run_id) {
  auto& sql = db_.session();
  reconcile_counts out;
  const long long t = o.observed_at;

  if (o.listed) {
    if (policy == unknown_project_policy::create) {
      sql << "INSERT INTO projects (name, creation_time, update_time) VALUES "
             "(:n, :c, :u) ON CONFLICT (name) DO NOTHING",
          soci::use(o.project), soci::use(t), soci::use(t);
    } else {
      long long n = 0;
      sql << "SELECT COUNT(*) FROM projects WHERE name = :n",
          soci::use(o.project), soci::into(n);
      // unknown_project: skip keeps regevent to the projects it was
      // given, for a reconcile as for events.
      if (n == 0)
        return out;
    }
    soci::statement st
        = (sql.prepare << "INSERT INTO repositories (name, project, "
                          "creation_time, update_time, imported_at) VALUES "
                          "(:n, :p, :c, :u, :i) ON CONFLICT (name) DO NOTHING",
           soci::use(o.repository), soci::use(o.project), soci::use(t),
           soci::use(t), soci::use(t));
    out.repositories_created += affected(st);
  }

  const auto before = live_state(o.repository);

  // What the registry showed, and what it no longer has, by key. Each
  // table is written in key order, artifacts before tags, as the artifacts
  // effect writes them: instances sharing PostgreSQL take row locks in one
  // order.
  std::map<std::string, const observed_artifact*> seen_artifacts;
  std::map<std::string, std::string> seen_tags;
  if (o.listed) {
    for (const auto& a : o.artifacts)
      seen_artifacts.emplace(a.digest, &a);
    for (const auto& tag : o.tags)
      seen_tags.emplace(tag.name, tag.digest);
  }
  std::set<std::string> gone_digests;
  if (o.listed)
    gone_digests.insert(o.absent.begin(), o.absent.end());
  else
    gone_digests.insert(before.digests.begin(), before.digests.end());
  std::set<std::string> gone_tags;
  for (const auto& tag : before.tags)
    if (seen_tags.count(tag.name) == 0)
      gone_tags.insert(tag.name);

  // Every row seen is stamped with the read, live already or not: the
  // stamp is what keeps a later-delivered older delete from hiding what
  // the registry still had, in whichever order the two arrive.
  std::set<std::string> digests;
  for (const auto& [d, a] : seen_artifacts)
    digests.insert(d);
  digests.insert(gone_digests.begin(), gone_digests.end());
  for (const auto& digest : digests) {
    auto it = seen_artifacts.find(digest);
    if (it != seen_artifacts.end()) {
      std::string media = it->second->media_type;
      long long size = it->second->size;
      sql << "INSERT INTO artifacts (repository, digest, media_type, size, "
             "push_time, pull_time, deleted_at, alive_at, imported_at) VALUES "
             "(:r, :d, :m, :s, 0, 0, 0, :a, :i) ON CONFLICT (repository, "
             "digest) DO UPDATE SET alive_at = excluded.alive_at, media_type "
             "= CASE WHEN artifacts.media_type = '' THEN excluded.media_type "
             "ELSE artifacts.media_type END, size = CASE WHEN artifacts.size "
             "= 0 THEN excluded.size ELSE artifacts.size END WHERE "
             "artifacts.alive_at < excluded.alive_at",
          soci::use(o.repository), soci::use(digest), soci::use(media),
          soci::use(size), soci::use(t), soci::use(t);
    } else {
      // Deleted as of the read, unless an event saw it later.
      sql << "UPDATE artifacts SET deleted_at = :t WHERE repository = :r AND "
             "digest = :d AND alive_at < :t2 AND deleted_at < :t3",
          soci::use(t), soci::use(o.repository), soci::use(digest),
          soci::use(t), soci::use(t);
    }
  }
  std::set<std::string> names;
  for (const auto& [n, d] : seen_tags)
    names.insert(n);
  names.insert(gone_tags.begin(), gone_tags.end());
  for (const auto& name : names) {
    auto it = seen_tags.find(name);
    if (it != seen_tags.end()) {
      // The digest is a register keyed by when it was learned: a push
      // made after the registry was read keeps its own.
      sql << "INSERT INTO tags (repository, name, digest, push_time, "
             "pull_time, deleted_at, alive_at, digest_at, imported_at) VALUES "
             "(:r, :n, :d, 0, 0, 0, :a, :da, :i) ON CONFLICT (repository, "
             "name) DO UPDATE SET digest = CASE WHEN excluded.digest_at > "
             "tags.digest_at THEN excluded.digest ELSE tags.digest END, "
             "digest_at = CASE WHEN excluded.digest_at > tags.digest_at THEN "
             "excluded.digest_at ELSE tags.digest_at END, alive_at = CASE "
             "WHEN excluded.alive_at > tags.alive_at THEN excluded.alive_at "
             "ELSE tags.alive_at END WHERE tags.digest_at < excluded.digest_at "
             "OR tags.alive_at < excluded.alive_at",
          soci::use(o.repository), soci::use(name), soci::use(it->second),
          soci::use(t), soci::use(t), soci::use(t);
    } else {
      sql << "UPDATE tags SET deleted_at = :t WHERE repository = :r AND name "
             "= :n AND alive_at < :t2 AND deleted_at < :t3",
          soci::use(t), soci::use(o.repository), soci::use(name), soci::use(t),
          soci::use(t);
    }
  }

  // What changed is what regevent shows now against before: counted and
  // audited once, however the statements above met live events.
  const auto after = live_state(o.repository);
  const std::string event_id = "reconcile-" + std::to_string(run_id);
  auto audit = [&](const std::string& tag, const std::string& digest,
                   const char* operation) {
    std::string op = operation;
    std::string user = reconcile_username;
    sql << "INSERT INTO access_logs (event_id, username, project, "
           "repository, tag, digest, operation, op_time, user_agent) VALUES "
           "(:e, :u, :p, :r, :t, :d, :o, :ot, 'regevent-reconcile')",
        soci::use(event_id), soci::use(user), soci::use(o.project),
        soci::use(o.repository), soci::use(tag), soci::use(digest),
        soci::use(op), soci::use(t);
  };
  std::set<std::string> had(before.digests.begin(), before.digests.end());
  std::set<std::string> has(after.digests.begin(), after.digests.end());
  std::map<std::string, std::string> had_tags, has_tags;
  for (const auto& tag : before.tags)
    had_tags.emplace(tag.name, tag.digest);
  std::set<std::string> tagged_now;
  for (const auto& tag : after.tags) {
    has_tags.emplace(tag.name, tag.digest);
    tagged_now.insert(tag.digest);
  }
  for (const auto& digest : has)
    if (had.count(digest) == 0) {
      ++out.created;
      // A tagged one is audited by its tag below.
      if (tagged_now.count(digest) == 0)
        audit("", digest, "push");
    }
  for (const auto& digest : had)
    if (has.count(digest) == 0) {
      ++out.deleted;
      audit("", digest, "delete");
    }
  for (const auto& [name, digest] : has_tags) {
    auto it = had_tags.find(name);
    if (it == had_tags.end()) {
      ++out.created;
      audit(name, digest, "push");
    } else if (it->second != digest) {
      ++out.corrected;
      audit(name, digest, "push");
    }
  }
  for (const auto& [name, digest] : had_tags)
    if (has_tags.count(name) == 0) {
      ++out.deleted;
      audit(name, digest, "delete");
    }
  return out;
}

} // namespace regevent
