#include "http/scanner_json.hpp"

#include "config/defaults.hpp"
#include "config/http_url.hpp"
#include "http/json_fields.hpp"

#include <nlohmann/json.hpp>

#include <array>

namespace regevent {

namespace {

using json = nlohmann::json;

constexpr std::array<const char*, 4> auth_kinds{
    scanner_auth::none, scanner_auth::basic, scanner_auth::bearer,
    scanner_auth::api_key};

json scanner_to_json(const scanner_registration& x) {
  json out = {{"uuid", x.uuid},
              {"name", x.name},
              {"description", x.description},
              {"url", x.url},
              {"auth", x.auth},
              {"skip_certVerify", x.skip_cert_verify},
              {"use_internal_addr", x.use_internal_addr},
              {"disabled", x.disabled},
              {"is_default", x.is_default},
              {"create_time", format_rfc3339(x.create_time)},
              {"update_time", format_rfc3339(x.update_time)}};
  // Write-only: whether one is set shows, never the value.
  if (x.has_access_credential)
    out["access_credential"] = "*****";
  return out;
}

} // namespace

std::optional<scanner_spec> parse_scanner(const std::string& body,
                                          bool can_seal, bool creating,
                                          std::string& error) {
  json doc;
  if (!parse_object(body, doc, error))
    return std::nullopt;
  scanner_spec spec;
  bool given = false;
  if (!read_string(doc, "name", "", spec.name, given, error)
      || !read_string(doc, "description", "", spec.description, given, error)
      || !read_string(doc, "url", "", spec.url, given, error)
      || !read_string(doc, "auth", "", spec.auth, given, error)
      || !read_string(doc, "access_credential", "", spec.access_credential,
                      spec.has_access_credential, error)
      // Harbor's spelling, and the one its own docs and clients also use.
      || !read_bool(doc, "skip_certVerify", "", spec.skip_cert_verify, error)
      || !read_bool(doc, "skip_cert_verify", "", spec.skip_cert_verify, error)
      || !read_bool(doc, "use_internal_addr", "", spec.use_internal_addr,
                    error)
      || !read_bool(doc, "disabled", "", spec.disabled, error))
    return std::nullopt;
  if (spec.name.empty() || spec.name.size() > defaults::api::max_project_name) {
    error = "name must be 1-255 characters";
    return std::nullopt;
  }
  std::string why;
  if (!parse_http_url(spec.url, why)) {
    error = "url: " + why;
    return std::nullopt;
  }
  if (!one_of(spec.auth, auth_kinds)) {
    error = "auth must be \"\", \"Basic\", \"Bearer\" or "
            "\"X-ScannerAdapter-API-Key\"";
    return std::nullopt;
  }
  // "" is how a client says "none" as well as "keep": only a value counts.
  spec.has_access_credential = !spec.access_credential.empty();
  if (spec.auth.empty() && spec.has_access_credential) {
    error = "access_credential needs an auth kind";
    return std::nullopt;
  }
  if (creating && !spec.auth.empty() && !spec.has_access_credential) {
    error = "auth " + spec.auth + " needs an access_credential";
    return std::nullopt;
  }
  if (spec.auth == scanner_auth::basic && spec.has_access_credential
      && spec.access_credential.find(':') == std::string::npos) {
    // Harbor sends `Basic base64(access_credential)`: user and password.
    error = "access_credential must be user:password with Basic auth";
    return std::nullopt;
  }
  if (spec.has_access_credential && !can_seal) {
    error = "access_credential cannot be stored: set secrets.key "
            "(REGEVENT_SECRETS_KEY_FILE) first";
    return std::nullopt;
  }
  return spec;
}

std::optional<bool> parse_scanner_default(const std::string& body,
                                          std::string& error) {
  json doc;
  if (!parse_object(body, doc, error))
    return std::nullopt;
  auto it = doc.find("is_default");
  if (it == doc.end() || !it->is_boolean()) {
    error = "is_default must be true or false";
    return std::nullopt;
  }
  return it->get<bool>();
}

std::optional<std::string> parse_project_scanner(const std::string& body,
                                                 std::string& error) {
  json doc;
  if (!parse_object(body, doc, error))
    return std::nullopt;
  std::string uuid;
  bool given = false;
  if (!read_string(doc, "uuid", "", uuid, given, error))
    return std::nullopt;
  if (uuid.empty()) {
    error = "uuid is required: the scanner registration's id";
    return std::nullopt;
  }
  return uuid;
}

std::string scanner_json(const scanner_registration& x) {
  return dump_json(scanner_to_json(x));
}

std::string scanners_json(const std::vector<scanner_registration>& list) {
  json out = json::array();
  for (const auto& x : list)
    out.push_back(scanner_to_json(x));
  return dump_json(out);
}

} // namespace regevent
