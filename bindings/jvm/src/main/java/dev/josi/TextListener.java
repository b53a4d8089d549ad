package dev.josi;

/**
 * Receives the athlete-facing reply text of a turn as the explainer generates
 * it, one piece at a time, on the thread that called {@link JosiCoach#turn}.
 * An exception thrown here ends the turn and propagates out of turn(); the
 * coach stays usable.
 */
@FunctionalInterface
public interface TextListener {
  void onText(String piece);
}
