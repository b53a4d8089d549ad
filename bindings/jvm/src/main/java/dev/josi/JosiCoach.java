package dev.josi;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * The Josi coach on the device: the interpreter and explainer models and the
 * deterministic layers around them, over libjosi's C API (include/josi/josi.h).
 *
 * <p>Open it once (loading the models and their system-prompt prefixes takes
 * the time; a cache directory makes later launches fast), run turns, close it.
 * Turns run one at a time: a second thread calling {@link #turn} waits for the
 * first. {@link #cancel()} may be called from any thread and ends the running
 * turn before its next token. The native library is {@code libjosi_jni}, found
 * on {@code java.library.path}, or at the path the system property
 * {@code dev.josi.library} names.
 */
public final class JosiCoach implements AutoCloseable {
  static {
    String path = System.getProperty("dev.josi.library");
    if (path != null) {
      System.load(path);
    } else {
      System.loadLibrary("josi_jni");
    }
  }

  /**
   * What {@link #open} loads: the fields of josi_options. Only
   * interpreterModel is required; null and 0 mean the defaults.
   */
  public static final class Options {
    /** The interpreter's GGUF file, which also explains unless explainerModel is set. */
    public String interpreterModel;
    /** The explainer's GGUF file (may be the interpreter's: it is loaded once). */
    public String explainerModel;
    /** The interpreter's system prompt text instead of the built-in one. */
    public String interpreterPrompt;
    /** The explainer's system prompt text instead of the built-in one. */
    public String explainerPrompt;
    /** Where each role's prompt prefix is kept between launches (the app's cache directory). */
    public String cacheDir;
    /**
     * The interpreter's GGUF LoRA adapter, applied at run time on interpreterModel. With one
     * base for both roles: interpreterModel is the base, explainerModel stays null.
     */
    public String interpreterAdapter;
    /** The explainer's GGUF LoRA adapter, applied at run time on its model. */
    public String explainerAdapter;
    /** The coaching cards (knowledge.json): up to two per coach turn, placed as trained. */
    public String knowledgePath;
    /** How the models run, "v5" or "v6"; null: the preset the model file names, else v5. */
    public String preset;
    /** The KV cache type, "f16" or "q8_0" (53% of f16's memory); null: f16. */
    public String kvType;
    /** Threads for the models; 0 uses every core. */
    public int threads;
    /** Context length in tokens; 0 is the model's preset's (v5 2048, v6 4096). */
    public int contextLength;

    public Options(String interpreterModel) {
      this.interpreterModel = interpreterModel;
    }
  }

  private final Object turnLock = new Object();   // held for a whole turn, and by close
  private final Object handleLock = new Object(); // held briefly to read or free the handle
  private long handle;                            // the josi_coach*; 0 once closed
  private volatile Thread turningThread;          // the thread inside a turn, or null

  private JosiCoach(long handle) {
    this.handle = handle;
  }

  /** "libjosi VERSION (api N)". */
  public static String version() {
    return nativeVersion();
  }

  /** Opens the models and prepares both prompt prefixes (from the cache directory when it holds them). */
  public static JosiCoach open(Options options) throws JosiException {
    Objects.requireNonNull(options, "options");
    return new JosiCoach(nativeOpen(utf8(options.interpreterModel), utf8(options.explainerModel),
        utf8(options.interpreterPrompt), utf8(options.explainerPrompt), utf8(options.cacheDir),
        utf8(options.interpreterAdapter), utf8(options.explainerAdapter), utf8(options.knowledgePath),
        utf8(options.preset), utf8(options.kvType), options.threads, options.contextLength));
  }

  /**
   * One turn: turnJson is a turn's input (docs/turn.md); returns its result
   * JSON, the same bytes as {@code josi chat --jsonl} (timings aside).
   * listener (may be null) receives the reply text as it is generated. A
   * failed turn throws and leaves the coach usable.
   */
  public String turn(String turnJson, TextListener listener) throws JosiException {
    Objects.requireNonNull(turnJson, "turnJson");
    if (turningThread == Thread.currentThread()) {
      throw new IllegalStateException("JosiCoach.turn called from inside a turn (a TextListener)");
    }
    synchronized (turnLock) {
      long h = openHandle();
      turningThread = Thread.currentThread();
      try {
        return new String(nativeTurn(h, utf8(turnJson), listener), StandardCharsets.UTF_8);
      } finally {
        turningThread = null;
      }
    }
  }

  /** Ends the running turn before its next token (it throws CANCELLED); dropped when none runs. Any thread. */
  public void cancel() {
    synchronized (handleLock) {
      if (handle != 0) {
        nativeCancel(handle);
      }
    }
  }

  /**
   * Drops the conversation the coach keeps between turns (a new athlete, a
   * logout) and gives its memory back; the next turn starts from the system
   * prompts. The coach reuses a conversation by itself when a turn's history
   * continues the previous turn's, so this is for privacy and memory, never
   * needed for correct replies. Waits for a running turn to end.
   */
  public void forget() {
    if (turningThread == Thread.currentThread()) {
      throw new IllegalStateException("JosiCoach.forget called from inside a turn (a TextListener)");
    }
    synchronized (turnLock) {
      nativeForget(openHandle());
    }
  }

  /** Cancels a running turn, waits for it to end, and frees the models. Calling it again does nothing. */
  @Override
  public void close() {
    if (turningThread == Thread.currentThread()) {
      throw new IllegalStateException("JosiCoach.close called from inside a turn (a TextListener); call cancel()");
    }
    cancel();
    synchronized (turnLock) {
      synchronized (handleLock) {
        if (handle != 0) {
          nativeClose(handle);
          handle = 0;
        }
      }
    }
  }

  /**
   * The athlete memory after a conversation (docs/turn.md "Memory"): memoryJson is the
   * current athlete_memory object, or null when there is none yet;
   * historyJson a ChatContext history array.
   */
  public static String memoryUpdate(String memoryJson, String historyJson) throws JosiException {
    Objects.requireNonNull(historyJson, "historyJson");
    return new String(nativeMemoryUpdate(utf8(memoryJson), utf8(historyJson)), StandardCharsets.UTF_8);
  }

  private long openHandle() {
    synchronized (handleLock) {
      if (handle == 0) {
        throw new IllegalStateException("JosiCoach is closed");
      }
      return handle;
    }
  }

  // Strings cross as UTF-8 bytes: JNI's own string functions use a modified
  // UTF-8 that encodes characters outside the BMP (emoji) differently.
  private static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  /** Called by the native side with each piece of reply text. */
  private static void deliver(TextListener listener, byte[] piece) {
    listener.onText(new String(piece, StandardCharsets.UTF_8));
  }

  private static native String nativeVersion();

  private static native long nativeOpen(byte[] interpreterModel, byte[] explainerModel, byte[] interpreterPrompt,
      byte[] explainerPrompt, byte[] cacheDir, byte[] interpreterAdapter, byte[] explainerAdapter, byte[] knowledgePath,
      byte[] preset, byte[] kvType, int threads, int contextLength) throws JosiException;

  private static native byte[] nativeTurn(long handle, byte[] turnJson, TextListener listener) throws JosiException;

  private static native void nativeCancel(long handle);

  private static native void nativeForget(long handle);

  private static native void nativeClose(long handle);

  private static native byte[] nativeMemoryUpdate(byte[] memoryJson, byte[] historyJson) throws JosiException;
}
