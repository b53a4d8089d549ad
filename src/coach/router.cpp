#include "coach/router.hpp"

#include "base/error.hpp"
#include "data/prepare_sequential.hpp"
#include "json/python_dumps.hpp"

namespace josi::coach {

namespace {
// What the athlete sees when a clarify request arrives without its message.
const char* const kDefaultClarify = "Could you tell me a bit more about what you'd like to do?";
}  // namespace

RouteDecision route_request(const json::Json& request) {
  if (!request.is_object() || !request.contains("action") || !request["action"].is_string())
    throw Error("route: request has no \"action\" string");
  RouteDecision decision;
  decision.action = request["action"].get<std::string>();
  const std::string& a = decision.action;
  if (a == "create_workout" || a == "replan") {
    decision.route = Route::engine;
  } else if (a == "explain" || a == "answer_question") {
    decision.route = Route::explainer;
  } else if (a == "clarify") {
    decision.route = Route::clarify;
    auto it = request.find("clarify_message");
    decision.clarify_message =
        it != request.end() && it->is_string() && !it->get<std::string>().empty() ? it->get<std::string>()
                                                                                  : kDefaultClarify;
  } else {
    throw Error("route: unknown action \"" + a + "\"");
  }
  return decision;
}

std::string route_name(Route route) {
  switch (route) {
    case Route::engine: return "engine";
    case Route::clarify: return "clarify";
    case Route::explainer: return "explainer";
  }
  return "engine";
}

std::string explainer_user_turn(std::string_view user_turn, const json::Json& request) {
  return data::sequential_user_turn(std::string(user_turn), json::python_dumps(request));
}

}  // namespace josi::coach
