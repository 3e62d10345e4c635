#include "http/image_copy.hpp"

#include "config/defaults.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace regevent {

namespace {

using json = nlohmann::json;

/// A failure of the copy itself, not of a request: bytes that do not match
/// their digest, a manifest of a kind that cannot be copied. Retrying
/// would meet the same bytes.
registry_error copy_failure(std::string step, std::string message,
                            outbound_error transport
                            = outbound_error::invalid_request) {
  registry_error e;
  e.step = std::move(step);
  e.transport = transport;
  e.message = std::move(message);
  return e;
}

/// A tag cannot hold a colon (`[\w][\w.-]{0,127}`); a digest always does.
bool is_digest(const std::string& reference) {
  return reference.find(':') != std::string::npos;
}

/// `repository:tag` or `repository@digest`, for messages.
std::string named(const std::string& repository, const std::string& reference) {
  return repository + (is_digest(reference) ? "@" : ":") + reference;
}

/// A Content-Type without its parameters (`; charset=utf-8`) and blanks.
std::string bare_media_type(const std::string& content_type) {
  auto end = content_type.find(';');
  auto type = content_type.substr(0, end);
  auto first = type.find_first_not_of(" \t");
  if (first == std::string::npos)
    return {};
  return type.substr(first, type.find_last_not_of(" \t") - first + 1);
}

bool is_index(const std::string& type) {
  return type == media_type::oci_index
         || type == media_type::docker_manifest_list;
}

bool is_known(const std::string& type) {
  return is_index(type) || type == media_type::oci_manifest
         || type == media_type::docker_manifest;
}

/// Layers a registry does not hold by design (Windows base layers, OCI's
/// non-distributable ones): whoever pulls fetches them from their URLs,
/// and Distribution accepts a manifest naming them without the blob.
bool is_foreign(const std::string& type) {
  return type.find(".foreign.") != std::string::npos
         || type.find(".nondistributable.") != std::string::npos;
}

/// What a manifest or index says of one blob or manifest it names.
struct descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
};

std::optional<descriptor> descriptor_of(const json& item) {
  if (!item.is_object() || !item.contains("digest")
      || !item["digest"].is_string() || !item.contains("size")
      || !item["size"].is_number_unsigned())
    return std::nullopt;
  descriptor d;
  d.digest = item["digest"].get<std::string>();
  d.size = item["size"].get<uint64_t>();
  if (item.contains("mediaType") && item["mediaType"].is_string())
    d.media_type = item["mediaType"].get<std::string>();
  return d;
}

/// The descriptors of the array `doc[field]` ("manifests", "layers").
registry_result<std::vector<descriptor>>
descriptors_in(const json& doc, const char* field, const std::string& step) {
  if (!doc.contains(field) || !doc[field].is_array())
    return copy_failure(step,
                        std::string("the manifest has no array of ") + field);
  std::vector<descriptor> out;
  for (const auto& item : doc[field]) {
    auto d = descriptor_of(item);
    if (!d)
      return copy_failure(step, std::string("an entry of ") + field
                                    + " has no digest and size");
    out.push_back(std::move(*d));
  }
  return out;
}

/// A manifest as fetched from the source and checked against its digest.
struct checked_manifest {
  registry_manifest stored;
  /// One of the four `media_type`s: what it is PUT as.
  std::string type;
  json doc;
};

/// One copy's walk over an image: fetches from the source, writes to the
/// destination, counts into `result_`.
class image_copier {
public:
  image_copier(registry_client& source, registry_client& destination,
               const image_copy_request& req, const std::atomic<bool>* cancel)
      : source_(source),
        destination_(destination),
        req_(req),
        cancel_(cancel),
        step_("copy " + named(req.source_repository, req.reference) + " to "
              + req.destination_repository) {}

  registry_result<image_copy_result> run() {
    if (req_.source_repository.empty() || req_.reference.empty()
        || req_.destination_repository.empty())
      return copy_failure(step_, "a source repository, a reference and a "
                                 "destination repository are required");
    if (auto e = check_cancel())
      return *e;
    auto top = fetch(req_.reference);
    if (!top)
      return top.error();
    result_.digest = top->stored.digest;
    if (!req_.override_tags && !req_.destination_tag.empty()) {
      auto there = destination_.head_manifest(req_.destination_repository,
                                              req_.destination_tag);
      if (!there)
        return there.error();
      if (*there) {
        // The same image is already tagged so: nothing to do. Another one
        // stays, and the caller hears why nothing was written.
        if ((*there)->digest != result_.digest)
          result_.skipped
              = "tag " + req_.destination_tag
                + " exists on the destination with digest "
                + ((*there)->digest.empty() ? "unknown" : (*there)->digest)
                + "; override is off";
        return result_;
      }
    }
    if (auto e = copy_parts(*top, 0))
      return *e;
    // Last, so that the tag only ever names an image whose parts are all
    // on the destination.
    auto reference
        = req_.destination_tag.empty() ? result_.digest : req_.destination_tag;
    if (auto e = put(*top, reference))
      return *e;
    return result_;
  }

private:
  std::optional<registry_error> check_cancel() const {
    if (cancel_ && cancel_->load())
      return copy_failure(step_, "cancelled", outbound_error::shutdown);
    return std::nullopt;
  }

  /// GETs `reference` from the source and checks its bytes against the
  /// digest asked for and the one the registry announced: copied byte for
  /// byte, they must give the same digest on the destination.
  registry_result<checked_manifest> fetch(const std::string& reference) {
    auto got = source_.get_manifest(req_.source_repository, reference);
    if (!got)
      return got.error();
    auto step = "copy manifest " + named(req_.source_repository, reference);
    auto actual = sha256_of(got->bytes);
    for (const auto& expected :
         {is_digest(reference) ? reference : std::string(), got->digest}) {
      if (expected.empty() || expected == actual)
        continue;
      if (expected.rfind("sha256:", 0) != 0)
        return copy_failure(step, "digest " + expected
                                      + " uses an unsupported algorithm");
      return copy_failure(step, "the source's manifest has digest " + actual
                                    + ", not " + expected);
    }
    checked_manifest m;
    m.stored = std::move(*got);
    m.stored.digest = actual;
    m.doc = json::parse(m.stored.bytes, nullptr, false);
    if (!m.doc.is_object())
      return copy_failure(step, "the manifest is not a JSON object");
    // The Content-Type is what the registry stored it as; the document's
    // own mediaType serves when a registry answers a generic type.
    m.type = bare_media_type(m.stored.media_type);
    if (!is_known(m.type) && m.doc.contains("mediaType")
        && m.doc["mediaType"].is_string())
      m.type = m.doc["mediaType"].get<std::string>();
    if (!is_known(m.type))
      return copy_failure(step, "manifests of type '" + m.stored.media_type
                                    + "' are not copied");
    return m;
  }

  /// Everything `m` names, so that the destination accepts its PUT: an
  /// index's manifests, a manifest's config and layers.
  std::optional<registry_error> copy_parts(const checked_manifest& m,
                                           int depth) {
    auto step
        = "copy manifest " + named(req_.source_repository, m.stored.digest);
    if (is_index(m.type)) {
      if (depth >= defaults::registry::max_index_depth)
        return copy_failure(step, "indexes nest deeper than "
                                      + std::to_string(depth) + " levels");
      auto children = descriptors_in(m.doc, "manifests", step);
      if (!children)
        return children.error();
      for (const auto& child : *children)
        if (auto e = copy_child(child, depth + 1))
          return e;
      return std::nullopt;
    }
    auto config = m.doc.contains("config") ? descriptor_of(m.doc["config"])
                                           : std::nullopt;
    if (!config)
      return copy_failure(step, "the manifest names no config blob");
    auto layers = descriptors_in(m.doc, "layers", step);
    if (!layers)
      return layers.error();
    std::vector<descriptor> blobs{std::move(*config)};
    for (auto& layer : *layers)
      if (!is_foreign(layer.media_type))
        blobs.push_back(std::move(layer));
    for (const auto& blob : blobs)
      if (auto e = copy_blob(blob))
        return e;
    return std::nullopt;
  }

  /// One manifest of an index, PUT by digest before the index names it.
  std::optional<registry_error> copy_child(const descriptor& child, int depth) {
    if (auto e = check_cancel())
      return e;
    // Present by digest: the destination accepted it once, so it holds
    // its blobs (and children) too.
    auto there
        = destination_.head_manifest(req_.destination_repository, child.digest);
    if (!there)
      return there.error();
    if (*there) {
      ++result_.manifests_present;
      return std::nullopt;
    }
    auto m = fetch(child.digest);
    if (!m)
      return m.error();
    if (auto e = copy_parts(*m, depth))
      return e;
    return put(*m, child.digest);
  }

  std::optional<registry_error> copy_blob(const descriptor& blob) {
    // Children of one index share layers: each is looked at once.
    if (!blobs_seen_.insert(blob.digest).second)
      return std::nullopt;
    if (auto e = check_cancel())
      return e;
    auto copied = destination_.copy_blob(source_, req_.source_repository,
                                         req_.destination_repository,
                                         blob.digest, blob.size, cancel_);
    if (!copied)
      return copied.error();
    switch (copied->method) {
      case blob_copy_method::existed:
        ++result_.blobs_present;
        break;
      case blob_copy_method::mounted:
        ++result_.blobs_mounted;
        break;
      case blob_copy_method::monolithic:
      case blob_copy_method::chunked:
        ++result_.blobs_copied;
        result_.bytes_copied += copied->bytes;
        break;
    }
    return std::nullopt;
  }

  std::optional<registry_error> put(const checked_manifest& m,
                                    const std::string& reference) {
    if (auto e = check_cancel())
      return e;
    auto stored = destination_.put_manifest(req_.destination_repository,
                                            reference, m.stored.bytes, m.type);
    if (!stored)
      return stored.error();
    ++result_.manifests;
    if (*stored != m.stored.digest)
      return copy_failure("copy manifest "
                              + named(req_.destination_repository, reference),
                          "the destination stored it with digest " + *stored
                              + ", not " + m.stored.digest);
    return std::nullopt;
  }

  registry_client& source_;
  registry_client& destination_;
  const image_copy_request& req_;
  const std::atomic<bool>* cancel_;
  const std::string step_;
  std::set<std::string> blobs_seen_;
  image_copy_result result_;
};

} // namespace

registry_result<image_copy_result>
copy_image(registry_client& source, registry_client& destination,
           const image_copy_request& req, const std::atomic<bool>* cancel) {
  return image_copier(source, destination, req, cancel).run();
}

registry_result<image_delete_result>
delete_image(registry_client& destination, const std::string& repository,
             const std::string& reference) {
  image_delete_result result;
  auto there = destination.head_manifest(repository, reference);
  if (!there)
    return there.error();
  if (!*there) {
    result.digest = is_digest(reference) ? reference : std::string();
    result.absent = true;
    return result;
  }
  result.digest = (*there)->digest;
  if (result.digest.empty() && is_digest(reference))
    result.digest = reference;
  if (result.digest.empty()) {
    // A registry that announces no digest: the manifest's own bytes tell.
    auto got = destination.get_manifest(repository, reference);
    if (!got)
      return got.error();
    result.digest = sha256_of(got->bytes);
  }
  auto deleted = destination.delete_manifest(repository, result.digest);
  if (!deleted)
    return deleted.error();
  // Gone between the HEAD and the DELETE: another delete was faster.
  result.absent = !*deleted;
  return result;
}

bool is_transient(const registry_error& e) {
  if (e.status != 0)
    return e.status >= 500 || e.status == 408 || e.status == 429;
  switch (e.transport) {
    case outbound_error::dns:
    case outbound_error::connect:
    case outbound_error::tls:
    case outbound_error::timeout:
    case outbound_error::protocol:
    case outbound_error::overloaded:
    // A cancelled copy or a client stopping: the image is still to copy.
    case outbound_error::shutdown:
      return true;
    // Refused before anything was sent, or an answer over its limit (a
    // manifest larger than any registry accepts): the same again.
    case outbound_error::none:
    case outbound_error::invalid_request:
    case outbound_error::too_large:
    case outbound_error::forbidden_address:
      return false;
  }
  return false;
}

} // namespace regevent
