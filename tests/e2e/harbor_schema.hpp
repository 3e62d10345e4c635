#pragma once

// Harbor v2.0's response schemas as regevent promises them, written down
// by hand from goharbor/harbor `api/v2.0/swagger.yaml` at commit
// c50c7ddd6ea4e335a480b49c618281882ab7eec9 (the field names, their types
// and formats; not a copy of the file), and a checker that holds an API
// answer against them. The contract tests read every answer through it.

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace regevent::test::harbor {

/// The swagger commit the schemas below were written from.
inline constexpr const char* swagger_commit
    = "c50c7ddd6ea4e335a480b49c618281882ab7eec9";

/// One property of a schema. `type` in a small notation of the swagger's:
///   `integer`, `integer:int32`, `integer:int64` (no format: Go's int, 64
///   bits), `string`, `string:date-time`, `boolean`;
///   `#Name` another schema ($ref);
///   `[T]` an array of T;
///   `{}` a free-form object (ExtraAttrs, Annotations, ScanOverview);
///   `{T}` an object whose every value is a T (AdditionLinks);
///   a trailing `?` is the swagger's `x-nullable: true` (null allowed).
struct field_spec {
  const char* name;
  const char* type;
};

/// The properties of schema `name`; empty when the table has no such
/// schema.
const std::vector<field_spec>& schema(const std::string& name);

/// Every field of `value` (an object of schema `name`, recursively through
/// $refs, arrays and maps) that the schema does not define, and every value
/// whose type or format is not the schema's: a `date-time` must be RFC 3339
/// with `Z` or an offset (Harbor's zero time `0001-01-01T00:00:00.000Z`
/// included), an `int32` within its bounds. Each problem names its path
/// (`Artifact.tags[0].pull_time: ...`). Empty when `value` conforms.
std::vector<std::string> check_against(const std::string& name,
                                       const nlohmann::json& value);

/// The fields of `required` that `value` (of schema `name`) lacks; also a
/// problem for a `required` field that the schema itself does not define
/// (a mistake of the caller), and for a `value` that is no object.
std::vector<std::string> missing(const std::string& name,
                                 const nlohmann::json& value,
                                 const std::vector<std::string>& required);

/// Whether `text` is an RFC 3339 date-time (`date-time` in the swagger,
/// go-openapi's strfmt.DateTime).
bool is_rfc3339(const std::string& text);

/// The problems, one a line, for a test's failure message.
std::string describe(const std::vector<std::string>& problems);

/// The fields that regevent promises in each answer (issue 13).
extern const std::vector<std::string> project_required;
extern const std::vector<std::string> repository_required;
/// Without `scan_overview` (only with `with_scan_overview=true`) and with
/// `labels` (asked for with `with_label=true`).
extern const std::vector<std::string> artifact_required;
extern const std::vector<std::string> tag_required;
/// Exactly these, no more: the AuditLog schema's every field.
extern const std::vector<std::string> audit_log_required;

/// Harbor's zero time: the `pull_time` of what was never pulled.
inline constexpr const char* zero_time = "0001-01-01T00:00:00.000Z";

} // namespace regevent::test::harbor
