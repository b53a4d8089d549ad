#pragma once
// The router: code, not a model, decides what happens with the
// interpreter's validated request.
#include <string>
#include <string_view>

#include "json/json.hpp"

namespace josi::coach {

enum class Route {
  engine,     // create_workout, replan: the request goes to the training engine
  clarify,    // the athlete sees clarify_message
  explainer,  // explain, answer_question: the explainer writes the reply
};

struct RouteDecision {
  Route route = Route::engine;
  std::string action;
  std::string clarify_message;  // set for Route::clarify
};

// Throws josi::Error when the request has no known action.
RouteDecision route_request(const json::Json& request);

std::string route_name(Route route);

// The explainer's user turn: the same turn plus "\n\n[INTERPRETER]\n" and the
// request serialised exactly as the training data has it (json.dumps defaults).
std::string explainer_user_turn(std::string_view user_turn, const json::Json& request);

}  // namespace josi::coach
