#include "probe/feature_report.h"

#include <algorithm>
#include <cstdio>

namespace cryo {
namespace {

std::string status_word(bool ok, bool required) {
  if (ok) return "ok";
  return required ? "MISSING" : "missing (optional)";
}

struct Row {
  std::string name, status, detail, remedy;
};

std::string pad(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

const char* json_bool(bool value) { return value ? "true" : "false"; }

}  // namespace

std::string format_features_text(const KernelFeatures& features) {
  std::vector<Row> rows;
  for (const FeatureCheck* c : features.checks()) {
    rows.push_back({c->title, status_word(c->ok, c->required), c->detail, c->remedy});
    if (c == &features.capabilities) {
      for (const auto& cap : features.capability_states)
        rows.push_back({"  " + cap.name, status_word(cap.held, cap.required), cap.purpose, ""});
    }
  }
  size_t name_width = 7, status_width = 6;
  for (const auto& row : rows) {
    name_width = std::max(name_width, row.name.size());
    status_width = std::max(status_width, row.status.size());
  }
  std::string out = "kernel " + features.kernel_release + " " + features.machine + "\n\n";
  out += pad("FEATURE", name_width + 2) + pad("STATUS", status_width + 2) + "DETAIL\n";
  for (const auto& row : rows) {
    out += pad(row.name, name_width + 2) + pad(row.status, status_width + 2) + row.detail + "\n";
    if (!row.remedy.empty()) out += std::string(name_width + 2, ' ') + "what to do: " + row.remedy + "\n";
  }
  out += features.ready() ? "\ncheckpoint/restore: ready\n"
                          : "\ncheckpoint/restore: NOT ready (see the MISSING items above)\n";
  return out;
}

std::string format_features_json(const KernelFeatures& features) {
  std::string out = "{\"kernel\":{\"release\":" + json_string(features.kernel_release) +
                    ",\"machine\":" + json_string(features.machine) + "},\"ready\":" + json_bool(features.ready()) +
                    ",\"features\":{";
  bool first = true;
  for (const FeatureCheck* c : features.checks()) {
    if (!first) out += ",";
    first = false;
    out += json_string(c->key) + ":{\"title\":" + json_string(c->title) + ",\"ok\":" + json_bool(c->ok) +
           ",\"required\":" + json_bool(c->required) + ",\"detail\":" + json_string(c->detail) +
           ",\"what_to_do\":" + json_string(c->remedy);
    if (c == &features.vdso_layout) {
      out += ",\"mappings\":[";
      for (size_t i = 0; i < features.special_mappings.size(); ++i) {
        const auto& m = features.special_mappings[i];
        char range[64];
        std::snprintf(range, sizeof range, "\"0x%llx\",\"end\":\"0x%llx\"", static_cast<unsigned long long>(m.start),
                      static_cast<unsigned long long>(m.end));
        out += std::string(i ? "," : "") + "{\"name\":" + json_string(m.name) + ",\"start\":" + range +
               ",\"size\":" + std::to_string(m.size()) + "}";
      }
      out += "]";
    }
    if (c == &features.capabilities) {
      out += ",\"capabilities\":{";
      for (size_t i = 0; i < features.capability_states.size(); ++i) {
        const auto& cap = features.capability_states[i];
        out += std::string(i ? "," : "") + json_string(cap.name) + ":{\"held\":" + json_bool(cap.held) +
               ",\"required\":" + json_bool(cap.required) + ",\"purpose\":" + json_string(cap.purpose) + "}";
      }
      out += "}";
    }
    out += "}";
  }
  return out + "}}\n";
}

}  // namespace cryo
