#include "http/artifact_details_port.hpp"

#include "config/defaults.hpp"
#include "http/client.hpp"
#include "http/fan_out.hpp"
#include "http/registry_client.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <utility>

namespace regevent {

namespace {

using json = nlohmann::json;
namespace d = defaults::artifact_details;

constexpr const char* oci_image_config
    = "application/vnd.oci.image.config.v1+json";
constexpr const char* docker_image_config
    = "application/vnd.docker.container.image.v1+json";
constexpr const char* helm_chart_config
    = "application/vnd.cncf.helm.config.v1+json";
/// Harbor's one name for every Docker schema 1 manifest (manifest/v1.go).
constexpr const char* schema1_signed
    = "application/vnd.docker.distribution.manifest.v1+prettyjws";
constexpr const char* schema1_unsigned
    = "application/vnd.docker.distribution.manifest.v1+json";
/// An index whose annotations name this is shown with it as its media
/// type (CNAB; manifest/index.go).
constexpr const char* artifact_type_annotation
    = "org.opencontainers.artifactType";

/// Text fit for a column: a registry may send any bytes, and dump()
/// would throw on invalid UTF-8.
std::string text_of(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

const json* member(const json& o, const char* key) {
  if (!o.is_object())
    return nullptr;
  auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}

std::string string_at(const json& o, const char* key) {
  auto v = member(o, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

/// A descriptor's size; anything but a non-negative integer counts 0.
int64_t size_at(const json& o, const char* key) {
  auto v = member(o, key);
  if (!v || !v->is_number_integer())
    return 0;
  if (v->is_number_unsigned())
    return static_cast<int64_t>(std::min<uint64_t>(
        v->get<uint64_t>(), std::numeric_limits<int64_t>::max()));
  return std::max<int64_t>(0, v->get<int64_t>());
}

/// Sizes added without overflow: a hostile manifest may name sizes near
/// the largest integer.
int64_t plus(int64_t a, int64_t b) {
  constexpr auto most = std::numeric_limits<int64_t>::max();
  return a > most - b ? most : a + b;
}

/// A `map[string]string`: the string members of an object.
json string_map(const json* v) {
  json out = json::object();
  if (v && v->is_object())
    for (const auto& [k, x] : v->items())
      if (x.is_string())
        out[k] = x;
  return out;
}

/// A `[]string`: the strings of an array.
json string_list(const json* v) {
  json out = json::array();
  if (v && v->is_array())
    for (const auto& x : *v)
      if (x.is_string())
        out.push_back(x);
  return out;
}

bool is_image_manifest(const std::string& t) {
  return t == media_type::oci_manifest || t == media_type::docker_manifest;
}

bool is_index(const std::string& t) {
  return t == media_type::oci_index || t == media_type::docker_manifest_list;
}

/// manifest/v1.go registers these (and the empty type) for schema 1.
bool is_schema1(const std::string& t) {
  return t.empty() || t == "application/json" || t == schema1_signed
         || t == schema1_unsigned;
}

/// Harbor's default processor reads the config of a media type matching
/// `^application/vnd\.[^.]*\.(.*)\.config\.[^.]*\+json$`
/// (processor/default.go), checked here without a regex engine.
bool typed_config(const std::string& t) {
  const std::string prefix = "application/vnd.";
  const std::string suffix = "+json";
  if (t.size() < prefix.size() + suffix.size() || t.rfind(prefix, 0) != 0
      || t.compare(t.size() - suffix.size(), suffix.size(), suffix) != 0)
    return false;
  auto rest = t.substr(prefix.size(), t.size() - prefix.size() - suffix.size());
  // `[^.]*\.`: up to the first dot.
  auto dot = rest.find('.');
  if (dot == std::string::npos)
    return false;
  // `(.*)\.config\.[^.]*`: only the last `.config.` can have no dot after
  // it.
  auto after = rest.substr(dot + 1);
  const std::string marker = ".config.";
  auto at = after.rfind(marker);
  return at != std::string::npos
         && after.find('.', at + marker.size()) == std::string::npos;
}

/// An OCI `ImageConfig` as Go marshals it after reading it
/// (image-spec v1.1.1: every field `omitempty`, unknown ones dropped,
/// the sets' values `{}`).
json image_config_of(const json* c) {
  json out = json::object();
  if (!c || !c->is_object())
    return out;
  auto text = [&](const char* k) {
    auto s = string_at(*c, k);
    if (!s.empty())
      out[k] = s;
  };
  auto list = [&](const char* k) {
    auto l = string_list(member(*c, k));
    if (!l.empty())
      out[k] = std::move(l);
  };
  auto set = [&](const char* k) {
    auto v = member(*c, k);
    if (!v || !v->is_object() || v->empty())
      return;
    json s = json::object();
    for (const auto& item : v->items())
      s[item.key()] = json::object();
    out[k] = std::move(s);
  };
  text("User");
  set("ExposedPorts");
  list("Env");
  list("Entrypoint");
  list("Cmd");
  set("Volumes");
  text("WorkingDir");
  auto labels = string_map(member(*c, "Labels"));
  if (!labels.empty())
    out["Labels"] = std::move(labels);
  text("StopSignal");
  if (auto v = member(*c, "ArgsEscaped");
      v && v->is_boolean() && v->get<bool>())
    out["ArgsEscaped"] = true;
  return out;
}

/// processor/image/manifest_v2.go: created, architecture, os, config and
/// author, the author from the labels when the config names none.
json image_attrs(const json& cfg) {
  json a = json::object();
  auto created = member(cfg, "created");
  a["created"] = created && created->is_string() ? *created : json(nullptr);
  a["architecture"] = string_at(cfg, "architecture");
  a["os"] = string_at(cfg, "os");
  auto inner = member(cfg, "config");
  a["config"] = image_config_of(inner);
  auto author = string_at(cfg, "author");
  if (author.empty()) {
    auto labels = string_map(inner ? member(*inner, "Labels") : nullptr);
    for (const char* key : {"org.opencontainers.image.authors", "maintainer"})
      if (auto v = labels.find(key);
          v != labels.end() && !v->get<std::string>().empty()) {
        author = v->get<std::string>();
        break;
      }
  }
  a["author"] = author;
  return a;
}

artifact_details_record failed(std::string why) {
  artifact_details_record r;
  r.outcome = artifact_details_outcome::failed;
  r.error = std::move(why);
  return r;
}

/// A read on the way failed: permanent or worth a retry.
artifact_details_record read_failed(const std::string& what,
                                    const details_blob& b) {
  auto r = failed(what + ": " + b.error);
  if (!b.permanent)
    r.outcome = artifact_details_outcome::retry;
  return r;
}

/// A manifest's size as Harbor counts it (manifest/v2.go, index.go), from
/// its bytes alone and its children's: a manifest's bytes, config and
/// layers; an index's bytes and each child's size. Nothing when a child
/// could not be read (`failure` says why).
std::optional<int64_t>
size_of(const std::string& bytes, const json& doc, const details_reader& read,
        int depth, size_t& children_read, artifact_details_record& failure);

std::optional<int64_t> index_size(const std::string& bytes, const json& doc,
                                  const details_reader& read, int depth,
                                  size_t& children_read,
                                  artifact_details_record& failure) {
  auto size = static_cast<int64_t>(bytes.size());
  auto manifests = member(doc, "manifests");
  if (!manifests || !manifests->is_array())
    return size;
  for (const auto& m : *manifests) {
    auto digest = string_at(m, "digest");
    if (digest.empty())
      continue;
    // Past the bound (or too deep), the child's own bytes as the index
    // names them.
    if (children_read >= d::max_children || depth <= 0) {
      size = plus(size, size_at(m, "size"));
      continue;
    }
    ++children_read;
    auto child = read.manifest(digest);
    if (!child.error.empty()) {
      failure = read_failed("reading child " + digest, child);
      return std::nullopt;
    }
    auto child_doc = json::parse(child.bytes, nullptr, false);
    if (!child_doc.is_object()) {
      failure = failed("child " + digest + " is not a JSON object");
      return std::nullopt;
    }
    auto s = size_of(child.bytes, child_doc, read, depth - 1, children_read,
                     failure);
    if (!s)
      return std::nullopt;
    size = plus(size, *s);
  }
  return size;
}

std::optional<int64_t>
size_of(const std::string& bytes, const json& doc, const details_reader& read,
        int depth, size_t& children_read, artifact_details_record& failure) {
  if (auto m = member(doc, "manifests"); m && m->is_array())
    return index_size(bytes, doc, read, depth, children_read, failure);
  auto size = static_cast<int64_t>(bytes.size());
  if (auto c = member(doc, "config"))
    size = plus(size, size_at(*c, "size"));
  if (auto layers = member(doc, "layers"); layers && layers->is_array())
    for (const auto& l : *layers)
      size = plus(size, size_at(l, "size"));
  return size;
}

/// Reads the config blob as a JSON object: `{}` for an empty one (Harbor's
/// UnmarshalConfig skips a config of size 0).
std::optional<json> read_config(const json& config, const details_reader& read,
                                artifact_details_record& failure) {
  if (size_at(config, "size") == 0)
    return json::object();
  auto digest = string_at(config, "digest");
  if (digest.empty()) {
    failure = failed("the manifest's config names no digest");
    return std::nullopt;
  }
  auto blob = read.blob(digest, d::config_limit);
  if (!blob.error.empty()) {
    failure = read_failed("reading config " + digest, blob);
    return std::nullopt;
  }
  auto cfg = json::parse(blob.bytes, nullptr, false);
  if (!cfg.is_object()) {
    failure = failed("config " + digest + " is not a JSON object");
    return std::nullopt;
  }
  return cfg;
}

artifact_details_record describe_image(const std::string& bytes,
                                       const json& doc,
                                       const details_reader& read) {
  artifact_details_record r;
  const json none = json::object();
  auto config = member(doc, "config");
  if (!config)
    config = &none;
  auto config_type = string_at(*config, "mediaType");
  r.config_media_type = config_type;
  // manifest/v2.go, after distribution-spec v1.1's referrers rule.
  r.artifact_type = string_at(doc, "artifactType");
  if (r.artifact_type.empty())
    r.artifact_type = config_type;
  // Depth 0: a manifest's size reads nothing (its own bytes, config and
  // layers), so it is always there.
  size_t children_read = 0;
  r.size = size_of(bytes, doc, read, 0, children_read, r).value_or(0);
  // The processor is chosen by ResolveArtifactType: artifactType, else
  // the config's media type (abstractor.go, pkg/artifact/model.go).
  const auto& resolved = r.artifact_type;
  json attrs = json::object();
  if (resolved == oci_image_config || resolved == docker_image_config) {
    auto cfg = read_config(*config, read, r);
    if (!cfg)
      return r;
    attrs = image_attrs(*cfg);
  } else if (resolved == helm_chart_config || typed_config(config_type)) {
    // A chart's processor, and the default one (any other type, whose
    // config's media type has the `application/vnd.<x>.<type>.config.<v>
    // +json` form), keep the whole config.
    auto cfg = read_config(*config, read, r);
    if (!cfg)
      return r;
    attrs = std::move(*cfg);
  }
  r.extra_attrs = text_of(attrs);
  return r;
}

json platform_of(const json* p) {
  if (!p || !p->is_object())
    return nullptr;
  // image-spec's Platform: architecture and os always, the rest when set.
  json out = json::object();
  out["architecture"] = string_at(*p, "architecture");
  out["os"] = string_at(*p, "os");
  if (auto v = string_at(*p, "os.version"); !v.empty())
    out["os.version"] = v;
  if (auto f = string_list(member(*p, "os.features")); !f.empty())
    out["os.features"] = std::move(f);
  if (auto v = string_at(*p, "variant"); !v.empty())
    out["variant"] = v;
  return out;
}

artifact_details_record describe_index(const std::string& bytes,
                                       const json& doc,
                                       const details_reader& read) {
  artifact_details_record r;
  auto annotations = string_map(member(doc, "annotations"));
  // manifest/index.go: the index's own media type stands, or the
  // annotation a CNAB bundle names its type with.
  if (auto t = annotations.find(artifact_type_annotation);
      t != annotations.end())
    r.config_media_type = t->get<std::string>();
  r.artifact_type = string_at(doc, "artifactType");
  json refs = json::array();
  if (auto manifests = member(doc, "manifests");
      manifests && manifests->is_array())
    for (const auto& m : *manifests) {
      auto digest = string_at(m, "digest");
      if (digest.empty())
        continue;
      json ref = json::object();
      ref["child_digest"] = digest;
      ref["platform"] = platform_of(member(m, "platform"));
      ref["annotations"] = string_map(member(m, "annotations"));
      ref["urls"] = string_list(member(m, "urls"));
      refs.push_back(std::move(ref));
    }
  r.refs = text_of(refs);
  size_t children_read = 0;
  auto size = size_of(bytes, doc, read, defaults::registry::max_index_depth,
                      children_read, r);
  if (!size)
    return r;
  r.size = *size;
  return r;
}

/// manifest/v1.go and processor/image/manifest_v1.go: the architecture,
/// and the size of the manifest and its distinct layers.
artifact_details_record describe_schema1(const std::string& bytes,
                                         const json& doc,
                                         const details_reader& read) {
  artifact_details_record r;
  r.config_media_type = schema1_signed;
  json attrs = json::object();
  attrs["architecture"] = string_at(doc, "architecture");
  r.extra_attrs = text_of(attrs);
  r.size = static_cast<int64_t>(bytes.size());
  std::set<std::string> seen;
  if (auto layers = member(doc, "fsLayers"); layers && layers->is_array())
    for (const auto& l : *layers) {
      auto digest = string_at(l, "blobSum");
      if (digest.empty() || !seen.insert(digest).second)
        continue;
      auto s = read.blob_size(digest);
      if (!s.error.empty())
        return read_failed("reading the size of layer " + digest, s);
      r.size = plus(r.size, std::max<int64_t>(0, s.size));
    }
  return r;
}

} // namespace

artifact_details_record describe_manifest(const std::string& bytes,
                                          const std::string& media_type,
                                          const details_reader& read) {
  auto doc = json::parse(bytes, nullptr, false);
  if (!doc.is_object())
    return failed("the manifest is not a JSON object");
  auto type = media_type;
  if (type.empty() || type == "application/json")
    if (auto own = string_at(doc, "mediaType"); !own.empty())
      type = own;
  artifact_details_record r;
  if (is_image_manifest(type))
    r = describe_image(bytes, doc, read);
  else if (is_index(type))
    r = describe_index(bytes, doc, read);
  else if (is_schema1(type))
    r = describe_schema1(bytes, doc, read);
  else
    return failed("unsupported manifest media type: " + type);
  if (r.outcome == artifact_details_outcome::done)
    r.annotations = text_of(string_map(member(doc, "annotations")));
  return r;
}

namespace {

details_blob from_error(const registry_error& e) {
  details_blob b;
  b.error = e.text();
  // What the registry will answer again: not there, too large for regevent,
  // a request it cannot make.
  b.permanent = e.status == 404 || e.transport == outbound_error::too_large
                || e.transport == outbound_error::invalid_request;
  return b;
}

/// The media type without its parameters (`; charset=utf-8`).
std::string bare_type(const std::string& t) {
  auto end = t.find(';');
  auto s = t.substr(0, end);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.pop_back();
  return s;
}

class registry_details_port final : public artifact_details_port {
public:
  registry_details_port(std::shared_ptr<outbound_client> client,
                        replication_source source,
                        artifact_details_options options)
      : client_(std::move(client)), options_(std::move(options)) {
    registry_client_config cfg;
    cfg.user_agent = options_.user_agent;
    cfg.request_timeout = std::chrono::milliseconds(d::request_timeout_ms);
    // One client for every read: its tokens are cached per scope.
    registry_
        = std::make_unique<registry_client>(*client_, endpoint_of(source), cfg);
  }

  void stop() override {
    stopping_ = true;
  }

  std::vector<artifact_details_record>
  inspect(const std::vector<artifact_details_job>& jobs) override {
    std::vector<artifact_details_record> out(jobs.size());
    fan_out(options_.concurrency, jobs.size(), [&](size_t i) {
      try {
        out[i] = inspect_one(jobs[i]);
      } catch (const std::exception& e) {
        out[i] = failed(std::string("the read failed: ") + e.what());
        out[i].outcome = artifact_details_outcome::retry;
      }
      out[i].repository = jobs[i].repository;
      out[i].digest = jobs[i].digest;
    });
    return out;
  }

private:
  /// A manifest by digest, checked against it.
  details_blob manifest(const std::string& repository,
                        const std::string& digest, std::string* media_type) {
    if (stopping_) {
      details_blob b;
      b.error = stopped;
      return b;
    }
    auto m = registry_->get_manifest(repository, digest);
    if (!m)
      return from_error(m.error());
    details_blob b;
    if (digest.rfind("sha256:", 0) == 0 && sha256_of(m->bytes) != digest) {
      b.error = "the registry's manifest does not match its digest";
      b.permanent = true;
      return b;
    }
    if (media_type)
      *media_type = bare_type(m->media_type);
    b.bytes = std::move(m->bytes);
    return b;
  }

  artifact_details_record inspect_one(const artifact_details_job& job) {
    std::string type;
    auto top = manifest(job.repository, job.digest, &type);
    if (!top.error.empty())
      return read_failed("reading the manifest", top);
    if (type.empty())
      type = job.media_type;
    details_reader read;
    read.manifest = [&](const std::string& digest) {
      return manifest(job.repository, digest, nullptr);
    };
    read.blob = [&](const std::string& digest, size_t limit) {
      if (stopping_) {
        details_blob b;
        b.error = stopped;
        return b;
      }
      auto blob = registry_->get_blob(job.repository, digest, limit);
      if (!blob)
        return from_error(blob.error());
      details_blob b;
      b.bytes = std::move(*blob);
      return b;
    };
    read.blob_size = [&](const std::string& digest) {
      auto s = registry_->blob_size(job.repository, digest);
      if (!s)
        return from_error(s.error());
      details_blob b;
      if (!*s) {
        b.error = "the registry does not have the blob";
        b.permanent = true;
        return b;
      }
      b.size = static_cast<int64_t>(
          std::min<uint64_t>(**s, std::numeric_limits<int64_t>::max()));
      return b;
    };
    return describe_manifest(top.bytes, type, read);
  }

  static constexpr const char* stopped = "stopped: the daemon shuts down";

  std::shared_ptr<outbound_client> client_;
  const artifact_details_options options_;
  std::atomic<bool> stopping_{false};
  std::unique_ptr<registry_client> registry_;
};

} // namespace

std::shared_ptr<artifact_details_port>
make_artifact_details_port(std::shared_ptr<outbound_client> client,
                           replication_source source,
                           artifact_details_options options) {
  return std::make_shared<registry_details_port>(
      std::move(client), std::move(source), std::move(options));
}

} // namespace regevent
