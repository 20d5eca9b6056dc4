// Errors as values: every fallible function returns Result<T>, and callers add context on the way up.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace cryo {

struct Error {
  std::string message;  // What went wrong, with the context added so far ("restore pid 42: mmap ...").
  int err = 0;          // errno of the failing call, 0 when the failure is not a system call's.
  std::string hint;     // What the user can do about it; empty when there is nothing to suggest.
  int exit_status = 1;  // What cryo exits with when this error reaches main (126/127 for exec failures).

  // Prefixes the message with where it happened: error.context("dump pid 7") reads "dump pid 7: ...".
  Error context(const std::string& where) const& {
    Error copy = *this;
    copy.message = where + ": " + message;
    return copy;
  }
  Error with_hint(std::string text) const& {
    Error copy = *this;
    copy.hint = std::move(text);
    return copy;
  }
  Error with_exit_status(int status) const& {
    Error copy = *this;
    copy.exit_status = status;
    return copy;
  }
};

template <typename T = void>
using Result = std::expected<T, Error>;

// The one place errno becomes an Error: names the failing call, e.g. "unshare(CLONE_NEWTIME): Operation not permitted".
Error errno_error(const std::string& call, int err);
// The same, reading errno now.
Error errno_error(const std::string& call);
// An error that is not a system call's.
Error make_error(std::string message);

inline std::unexpected<Error> fail(Error error) { return std::unexpected<Error>(std::move(error)); }
inline std::unexpected<Error> fail(std::string message) { return std::unexpected<Error>(make_error(std::move(message))); }
inline std::unexpected<Error> fail_errno(const std::string& call) { return std::unexpected<Error>(errno_error(call)); }

}  // namespace cryo

// Returns the error of a Result<...> expression to the caller, optionally with context.
#define CRYO_CONCAT_INNER(a, b) a##b
#define CRYO_CONCAT(a, b) CRYO_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                                         \
  do {                                                                \
    auto&& cryo_result_ = (expr);                                     \
    if (!cryo_result_) return std::unexpected(cryo_result_.error());  \
  } while (0)

#define RETURN_IF_ERROR_CTX(expr, where)                                           \
  do {                                                                             \
    auto&& cryo_result_ = (expr);                                                  \
    if (!cryo_result_) return std::unexpected(cryo_result_.error().context(where)); \
  } while (0)

// ASSIGN_OR_RETURN(auto x, compute()) declares x from the value, or returns the error.
#define ASSIGN_OR_RETURN(decl, expr) ASSIGN_OR_RETURN_IMPL(CRYO_CONCAT(cryo_tmp_, __LINE__), decl, expr, )
#define ASSIGN_OR_RETURN_CTX(decl, expr, where) \
  ASSIGN_OR_RETURN_IMPL(CRYO_CONCAT(cryo_tmp_, __LINE__), decl, expr, .context(where))
#define ASSIGN_OR_RETURN_IMPL(tmp, decl, expr, ctx)               \
  auto tmp = (expr);                                              \
  if (!tmp) return std::unexpected(tmp.error() ctx);              \
  decl = std::move(*tmp)
