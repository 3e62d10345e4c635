#include "bench/workload.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace regevent::bench {

namespace {

constexpr const char* registry_host = "registry.bench.internal:5000";

/// splitmix64: a fast, well-mixed hash for deterministic digests.
uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void append_hex(std::string& out, uint64_t v, int digits) {
  static const char* hex = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i)
    out += hex[(v >> (4 * i)) & 15];
}

/// `sha256:` and 64 hex digits, the same for the same inputs, so that all
/// senders agree on the digest of version N of a repository.
std::string digest_of(uint64_t a, uint64_t b, uint64_t c) {
  std::string out = "sha256:";
  out.reserve(71);
  uint64_t h = mix64(a * 0x100000001b3ULL ^ mix64(b) ^ mix64(c + 7));
  for (int i = 0; i < 4; ++i) {
    h = mix64(h + static_cast<uint64_t>(i));
    append_hex(out, h, 16);
  }
  return out;
}

std::string uuid_like(uint64_t a, uint64_t b) {
  std::string out;
  out.reserve(36);
  append_hex(out, a >> 32, 8);
  out += '-';
  append_hex(out, a >> 16, 4);
  out += "-4";
  append_hex(out, a, 3);
  out += "-8";
  append_hex(out, b >> 48, 3);
  out += '-';
  append_hex(out, b, 12);
  return out;
}

/// RFC 3339 with nanoseconds, as Distribution writes event timestamps.
std::string timestamp_now() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec,
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}

struct event_fields {
  std::string id;
  std::string action;
  std::string repository;
  std::string digest;
  std::string tag;
  std::string media_type;
  std::string method;
  std::string user_agent;
  std::string actor;
  uint64_t seed = 0;
  bool with_target_details = true; ///< false for deletes: {repository, ...}
};

/// One envelope exactly in the layout Distribution 2.8 sends (see
/// tests/fixtures/registry/04-pull-manifest-by-tag.json): parsing cost and
/// body size are part of what is measured.
std::string envelope(const event_fields& e) {
  std::string b;
  b.reserve(1600);
  b += "{\n   \"events\": [\n      {\n         \"id\": \"";
  b += e.id;
  b += "\",\n         \"timestamp\": \"";
  b += timestamp_now();
  b += "\",\n         \"action\": \"";
  b += e.action;
  b += "\",\n         \"target\": {\n";
  if (e.with_target_details) {
    b += "            \"mediaType\": \"";
    b += e.media_type;
    b += "\",\n            \"size\": 401,\n            \"digest\": \"";
    b += e.digest;
    b += "\",\n            \"length\": 401,\n            \"repository\": \"";
    b += e.repository;
    b += "\",\n            \"url\": \"http://";
    b += registry_host;
    b += "/v2/";
    b += e.repository;
    b += "/manifests/";
    b += e.digest;
    b += "\"";
    if (!e.tag.empty()) {
      b += ",\n            \"tag\": \"";
      b += e.tag;
      b += "\"";
    }
    b += ",\n            \"references\": [\n               {\n"
         "                  \"mediaType\": "
         "\"application/vnd.oci.image.config.v1+json\",\n"
         "                  \"size\": 264,\n"
         "                  \"digest\": \"";
    b += digest_of(e.seed, 1, 0);
    b += "\"\n               },\n               {\n"
         "                  \"mediaType\": "
         "\"application/vnd.oci.image.layer.v1.tar+gzip\",\n"
         "                  \"size\": 31457280,\n"
         "                  \"digest\": \"";
    b += digest_of(e.seed, 2, 0);
    b += "\"\n               }\n            ]\n";
  } else {
    // Delete events carry only the repository and a digest or a tag.
    if (!e.digest.empty()) {
      b += "            \"digest\": \"";
      b += e.digest;
      b += "\",\n";
    }
    b += "            \"repository\": \"";
    b += e.repository;
    b += "\"";
    if (!e.tag.empty()) {
      b += ",\n            \"tag\": \"";
      b += e.tag;
      b += "\"";
    }
    b += "\n";
  }
  b += "         },\n         \"request\": {\n            \"id\": \"";
  b += uuid_like(mix64(e.seed ^ 0xabcdef), mix64(e.seed));
  b += "\",\n            \"addr\": \"10.20.";
  b += std::to_string(e.seed % 250);
  b += ".";
  b += std::to_string((e.seed >> 8) % 250);
  b += ":";
  b += std::to_string(30000 + e.seed % 30000);
  b += "\",\n            \"host\": \"";
  b += registry_host;
  b += "\",\n            \"method\": \"";
  b += e.method;
  b += "\",\n            \"useragent\": \"";
  b += e.user_agent;
  b += "\"\n         },\n         \"actor\": {";
  if (!e.actor.empty()) {
    b += "\n            \"name\": \"";
    b += e.actor;
    b += "\"\n         ";
  }
  b += "},\n         \"source\": {\n            \"addr\": \"registry-0:5000\""
       ",\n            \"instanceID\": "
       "\"3c7e3f89-2fbe-4792-9df8-100c34c1bed3\"\n         }\n      }\n   ]\n"
       "}";
  return b;
}

} // namespace

void ledger::record(const delivery& d) {
  if (d.duplicate) {
    ++duplicates;
    return;
  }
  ++events;
  seen[d.repository] = true;
  switch (d.kind) {
    case event_kind::push:
      ++pushes;
      // access_log, repositories, artifacts, webhooks, scanning and
      // replication (the workload's clients are not internal ones).
      effect_marks += 6;
      break;
    case event_kind::pull_get:
      ++pulls_get;
      // access_log, repositories, artifacts, pull_counter, webhooks
      effect_marks += 5;
      ++pull_counts[d.repository];
      break;
    case event_kind::pull_head:
      ++pulls_head;
      // access_log, repositories, artifacts: HEAD is not counted
      effect_marks += 3;
      break;
    case event_kind::delete_event:
      ++deletes;
      // access_log, repositories, artifacts, webhooks, replication
      effect_marks += 5;
      break;
  }
  if (d.by_digest)
    ++pulls_by_digest;
}

void ledger::merge(const ledger& o) {
  events += o.events;
  duplicates += o.duplicates;
  pushes += o.pushes;
  pulls_get += o.pulls_get;
  pulls_head += o.pulls_head;
  pulls_by_digest += o.pulls_by_digest;
  deletes += o.deletes;
  effect_marks += o.effect_marks;
  if (pull_counts.size() < o.pull_counts.size()) {
    pull_counts.resize(o.pull_counts.size(), 0);
    seen.resize(o.seen.size(), false);
  }
  for (size_t i = 0; i < o.pull_counts.size(); ++i) {
    pull_counts[i] += o.pull_counts[i];
    if (o.seen[i])
      seen[i] = true;
  }
}

std::string repository_name(const workload_options& w, uint32_t index) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "/app-%04u", index);
  return w.project + buf;
}

std::string manifest_digest(const workload_options& w, uint32_t index,
                            uint32_t version) {
  return digest_of(index, version, std::stoull(w.run_tag, nullptr, 16));
}

struct generator::impl {
  impl(const workload_options& o, uint32_t s)
      : opt(o),
        sender(s),
        rng(mix64(o.seed * 1'000'003 + s)),
        versions(o.repositories, 1) {
    // Zipf CDF over repository ranks: rank 0 is the most popular.
    cdf.resize(o.repositories);
    double sum = 0;
    for (size_t i = 0; i < o.repositories; ++i) {
      sum += 1.0 / std::pow(static_cast<double>(i + 1), o.zipf_s);
      cdf[i] = sum;
    }
    for (auto& c : cdf)
      c /= sum;
    run = std::stoull(o.run_tag, nullptr, 16);
  }

  double unit() {
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }

  uint32_t zipf_repository() {
    auto it = std::lower_bound(cdf.begin(), cdf.end(), unit());
    if (it == cdf.end())
      --it;
    return static_cast<uint32_t>(it - cdf.begin());
  }

  uint32_t uniform_repository() {
    return static_cast<uint32_t>(
        std::uniform_int_distribution<size_t>(0, opt.repositories - 1)(rng));
  }

  /// `RRRRRRRR-SSSS-4000-8000-NNNNNNNNNNNN`: run, sender, sequence.
  std::string next_id() {
    std::string id;
    id.reserve(36);
    append_hex(id, run, 8);
    id += '-';
    append_hex(id, sender, 4);
    id += "-4000-8000-";
    append_hex(id, ++sequence, 12);
    return id;
  }

  delivery make_event() {
    delivery d;
    d.id = next_id();
    event_fields e;
    e.id = d.id;
    e.seed = mix64(run ^ (static_cast<uint64_t>(sender) << 40) ^ sequence);
    e.media_type = "application/vnd.oci.image.manifest.v1+json";
    bool mix = opt.kind == "mix";
    double u = mix ? unit() : 1.0;
    if (u < opt.push_share) {
      d.kind = event_kind::push;
      d.repository = zipf_repository();
      auto v = ++versions[d.repository];
      e.action = "push";
      e.method = "PUT";
      e.user_agent = "docker/24.0.7 go/go1.20.10 git-commit/311b9ff "
                     "kernel/6.1.0 os/linux arch/amd64";
      e.actor = "ci-bot";
      e.tag = "v" + std::to_string(v);
      e.digest = digest_of(d.repository, v, run);
    } else if (u < opt.push_share + opt.delete_share) {
      d.kind = event_kind::delete_event;
      d.repository = uniform_repository();
      auto v = versions[d.repository];
      e.action = "delete";
      e.method = "DELETE";
      e.user_agent = "regctl/v0.5.6";
      e.actor = "admin";
      e.with_target_details = false;
      // A tag delete sends two events, {repository, digest} and
      // {repository, tag}; one of each kind per coin flip.
      if (unit() < 0.5)
        e.digest = digest_of(d.repository, v > 1 ? v - 1 : v, run);
      else
        e.tag = "v" + std::to_string(v > 1 ? v - 1 : v);
    } else {
      d.repository = zipf_repository();
      auto v = versions[d.repository];
      bool head = mix && unit() < opt.head_share;
      d.by_digest = mix && unit() < opt.digest_share;
      d.kind = head ? event_kind::pull_head : event_kind::pull_get;
      e.action = "pull";
      e.method = head ? "HEAD" : "GET";
      e.user_agent = "containerd/1.7.2";
      e.digest = digest_of(d.repository, v, run);
      if (!d.by_digest)
        e.tag = "v" + std::to_string(v);
    }
    e.repository = repository_name(opt, d.repository);
    d.body = envelope(e);
    return d;
  }

  const workload_options& opt;
  uint32_t sender;
  std::mt19937_64 rng;
  std::vector<uint32_t> versions;
  std::vector<double> cdf;
  uint64_t run = 0;
  uint64_t sequence = 0;
  /// Recently answered events, candidates for a duplicate delivery.
  std::vector<delivery> recent;
  size_t recent_next = 0;
};

generator::generator(const workload_options& options, uint32_t sender)
    : impl_(std::make_unique<impl>(options, sender)) {}

generator::~generator() = default;

delivery generator::next() {
  auto& d = *impl_;
  if (d.opt.kind == "mix" && !d.recent.empty()
      && d.unit() < d.opt.duplicate_share) {
    auto i
        = std::uniform_int_distribution<size_t>(0, d.recent.size() - 1)(d.rng);
    auto copy = d.recent[i];
    copy.duplicate = true;
    return copy;
  }
  return d.make_event();
}

void generator::answered(const delivery& x) {
  auto& d = *impl_;
  if (d.opt.kind != "mix" || x.duplicate)
    return;
  // A small ring: re-sends in the wild follow the original closely.
  constexpr size_t ring = 64;
  if (d.recent.size() < ring) {
    d.recent.push_back(x);
  } else {
    d.recent[d.recent_next] = x;
    d.recent_next = (d.recent_next + 1) % ring;
  }
}

} // namespace regevent::bench
