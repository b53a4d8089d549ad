package dev.josi;

import java.nio.charset.StandardCharsets;

/** A libjosi call that did not succeed: its status and its one-line message naming the input. */
public final class JosiException extends Exception {
  private static final long serialVersionUID = 1L;

  /** The josi_status values of include/josi/josi.h other than JOSI_OK, in their order. */
  public enum Status {
    /** A null where a value is required, or an option out of range. */
    ARGUMENT,
    /** A model file that is missing or cannot serve. */
    MODEL,
    /** Turn, memory or history JSON that is malformed or breaks its schema. */
    INPUT,
    /** The turn ended on {@link JosiCoach#cancel()} or {@link JosiCoach#close()}. */
    CANCELLED,
    /** A file or the cache directory could not be read or written. */
    IO,
    /** Anything else (out of memory); the message says what. */
    INTERNAL
  }

  private final Status status;

  public JosiException(Status status, String message) {
    super(message);
    this.status = status;
  }

  public Status status() {
    return status;
  }

  /** Called by the native side with a josi_status and the UTF-8 bytes of its message. */
  static JosiException fromNative(int status, byte[] message) {
    Status[] statuses = Status.values();
    Status s = status >= 1 && status <= statuses.length ? statuses[status - 1] : Status.INTERNAL;
    return new JosiException(s, new String(message, StandardCharsets.UTF_8));
  }
}
