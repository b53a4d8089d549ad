package dev.josi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** dev.josi.JosiCoach on a real JVM against the tiny model (system properties from bindings/jvm/CMakeLists.txt). */
class JosiCoachTest {
  static final String MODEL = System.getProperty("josi.test.model");
  static final Path DIR = Path.of(System.getProperty("josi.test.dir"));
  static JosiCoach coach;

  @BeforeAll
  static void open() throws Exception {
    Files.createDirectories(DIR);
    JosiCoach.Options options = new JosiCoach.Options(MODEL);
    options.explainerModel = MODEL;
    options.threads = 2;
    coach = JosiCoach.open(options);
  }

  @AfterAll
  static void close() {
    coach.close();
  }

  /** The first sample turn with a message, a seed and a token limit. */
  static String turnJson(String message, int seed, int maxTokens) throws IOException {
    String line = Files.readAllLines(Path.of(System.getProperty("josi.test.samples"))).get(0);
    line = line.replaceFirst("^\\{\"message\": \"[^\"]*\"", "{\"message\": " + pythonString(message));
    return line.substring(0, line.length() - 1) + ", \"options\": {\"seed\": " + seed + ", \"max_tokens\": " + maxTokens
        + "}}";
  }

  /** s as the result JSON writes a string: ASCII, everything else as \\uXXXX of its UTF-16 units. */
  static String pythonString(String s) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if ("\b\f\n\r\t".indexOf(c) >= 0) {
        out.append('\\').append("bfnrt".charAt("\b\f\n\r\t".indexOf(c)));
      } else if (c < 0x20 || c > 0x7e) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }

  /** The result without its timings and cache use, which depend on what ran before. */
  static String withoutTimings(String result) {
    return result.replaceFirst("\"timings_ms\": \\{[^}]*\\}", "")
        .replaceFirst("\"cache\": \\{.*?\"explainer_prefix_tokens\": \\d+\\}", "");
  }

  static String josiChat(String turnJson) throws Exception {
    Path input = Files.createTempFile(DIR, "turn", ".jsonl");
    Files.writeString(input, turnJson + "\n");
    Process chat = new ProcessBuilder(System.getProperty("josi.test.josi"), "chat", "--interpreter", MODEL, "--jsonl",
        input.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(chat.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, chat.waitFor());
    return out.strip();
  }

  @Test
  void versionNamesTheApi() {
    assertTrue(JosiCoach.version().matches("libjosi \\d+\\.\\d+\\.\\d+ \\(api 5\\)"), JosiCoach.version());
  }

  @Test
  void aTurnIsTheTurnOfJosiChatAndStreamsItsReply() throws Exception {
    // Characters outside the BMP cross the boundary as UTF-8, not JNI's modified UTF-8.
    for (String message : List.of("I want to do a 45 minute run today", "Ran 10k 🏃‍♀️ legs feel heavy 😩, rest today?")) {
      String turn = turnJson(message, 7, 40);
      StringBuilder streamed = new StringBuilder();
      String result = coach.turn(turn, streamed::append);
      assertTrue(result.startsWith("{\"route\": "), result);
      assertEquals(withoutTimings(josiChat(turn)), withoutTimings(result), message);
      if (result.contains("\"route\": \"explainer\"")) {
        assertFalse(streamed.length() == 0);
        assertTrue(result.contains("\"reply\": " + pythonString(streamed.toString()) + ", "), result);
      }
    }
    assertNotNull(coach.turn(turnJson("What is Zone 2?", 1, 40), null));
  }

  @Test
  void cancelFromAnotherThreadEndsTheTurnAtTheNextToken() throws Exception {
    AtomicInteger pieces = new AtomicInteger();
    AtomicInteger piecesAtCancel = new AtomicInteger();
    CountDownLatch streaming = new CountDownLatch(1);
    AtomicLong cancelledAt = new AtomicLong();
    Thread canceller = new Thread(() -> {
      try {
        streaming.await();
      } catch (InterruptedException e) {
        return;
      }
      piecesAtCancel.set(pieces.get());
      cancelledAt.set(System.nanoTime());
      coach.cancel();
    });
    canceller.start();
    String turn = turnJson("Why is my session easy today?", 3, 200);
    JosiException e = assertThrows(JosiException.class, () -> coach.turn(turn, piece -> {
      pieces.incrementAndGet();
      streaming.countDown();
      sleep(20); // a UI showing each piece
    }));
    long endedAt = System.nanoTime();
    canceller.join();
    assertSame(JosiException.Status.CANCELLED, e.status(), e.getMessage());
    assertTrue(e.getMessage().contains("cancelled"), e.getMessage());
    assertTrue(pieces.get() - piecesAtCancel.get() <= 2, pieces.get() + " pieces, " + piecesAtCancel.get() + " at cancel");
    long cancelMs = TimeUnit.NANOSECONDS.toMillis(endedAt - cancelledAt.get());
    System.out.printf("cancel -> turn() threw in %d ms, %d piece(s) after the cancel%n", cancelMs,
        pieces.get() - piecesAtCancel.get());
    assertTrue(cancelMs < 2000, cancelMs + " ms");
    // Usable afterwards; a cancel while no turn runs is dropped.
    coach.cancel();
    assertTrue(coach.turn(turnJson("What is Zone 2?", 3, 40), null).startsWith("{\"route\": "));
  }

  @Test
  void aListenerExceptionEndsTheTurnAndPropagates() throws Exception {
    String turn = turnJson("Why is my session easy today?", 4, 40);
    IllegalStateException thrown = new IllegalStateException("the UI went away");
    assertSame(thrown, assertThrows(IllegalStateException.class, () -> coach.turn(turn, piece -> {
      throw thrown;
    })));
    // A listener may not start another turn or close the coach.
    assertThrows(IllegalStateException.class, () -> coach.turn(turn, piece -> {
      try {
        coach.turn(turn, null);
      } catch (JosiException e) {
        throw new AssertionError(e);
      }
    }));
    assertThrows(IllegalStateException.class, () -> coach.turn(turn, piece -> coach.close()));
    assertTrue(coach.turn(turn, null).startsWith("{\"route\": "));
  }

  @Test
  void badTurnInputIsAnInputErrorAndTheCoachGoesOn() throws Exception {
    for (String bad : List.of("{\"message\": ", "{\"message\": 1}", "[1, 2]", "{\"message\": \"hi\"}\u0000{")) {
      JosiException e = assertThrows(JosiException.class, () -> coach.turn(bad, null), bad);
      assertSame(JosiException.Status.INPUT, e.status(), e.getMessage());
      assertFalse(e.getMessage().isEmpty() || e.getMessage().contains("\n"), e.getMessage());
    }
    assertThrows(NullPointerException.class, () -> coach.turn(null, null));
    assertTrue(coach.turn(turnJson("What is Zone 2?", 5, 40), null).startsWith("{\"route\": "));
  }

  @Test
  void badOptionsAreStatusesNamingTheInput() {
    JosiException missing = assertThrows(JosiException.class,
        () -> JosiCoach.open(new JosiCoach.Options(DIR.resolve("no-such-model.gguf").toString())));
    assertSame(JosiException.Status.MODEL, missing.status());
    assertTrue(missing.getMessage().contains("no-such-model.gguf"), missing.getMessage());
    assertSame(JosiException.Status.ARGUMENT,
        assertThrows(JosiException.class, () -> JosiCoach.open(new JosiCoach.Options(null))).status());
    JosiCoach.Options negativeThreads = new JosiCoach.Options(MODEL);
    negativeThreads.threads = -1;
    assertSame(JosiException.Status.ARGUMENT, assertThrows(JosiException.class, () -> JosiCoach.open(negativeThreads)).status());
    JosiCoach.Options tinyContext = new JosiCoach.Options(MODEL);
    tinyContext.contextLength = 5;
    assertSame(JosiException.Status.ARGUMENT, assertThrows(JosiException.class, () -> JosiCoach.open(tinyContext)).status());
    assertSame(JosiException.Status.ARGUMENT,
        assertThrows(JosiException.class, () -> JosiCoach.open(new JosiCoach.Options(MODEL + "\u0000x"))).status());
    // The adapter fields reach the library: a model file is not an adapter.
    JosiCoach.Options notAnAdapter = new JosiCoach.Options(MODEL);
    notAnAdapter.explainerAdapter = MODEL;
    JosiException adapter = assertThrows(JosiException.class, () -> JosiCoach.open(notAnAdapter));
    assertSame(JosiException.Status.MODEL, adapter.status());
    assertTrue(adapter.getMessage().contains("not a LoRA adapter"), adapter.getMessage());
    assertThrows(NullPointerException.class, () -> JosiCoach.open(null));
  }

  @Test
  void memoryUpdateMergesFactsAndRefusesBadJson() throws Exception {
    String history = "[{\"role\": \"user\", \"message\": \"I usually run about 45 minutes in the morning\", "
        + "\"ts\": \"2026-03-13T06:40:00Z\"}]";
    String memory = JosiCoach.memoryUpdate(null, history);
    assertTrue(memory.startsWith("{\"key_facts\": [{\"fact\": \"primary sport: running\", \"source\": \"conversation\", "
        + "\"confidence\": 0.8}"), memory);
    // Seen again, a fact is held more firmly.
    String again = JosiCoach.memoryUpdate(memory, history);
    assertTrue(again.contains("\"primary sport: running\", \"source\": \"conversation\", \"confidence\": 0.9}"), again);
    for (String[] bad : new String[][] {{"{", history}, {null, "{\"role\": 1}"}, {null, "["}}) {
      JosiException e = assertThrows(JosiException.class, () -> JosiCoach.memoryUpdate(bad[0], bad[1]));
      assertSame(JosiException.Status.INPUT, e.status(), e.getMessage());
    }
  }

  /** With knowledgePath the coach's turn gets coaching cards and names them; a bad file fails the open. */
  @Test
  void knowledgeCardsReachTheCoach() throws Exception {
    JosiCoach.Options options = new JosiCoach.Options(MODEL);
    options.threads = 2;
    options.knowledgePath = System.getProperty("josi.test.knowledge");
    String turn = turnJson("What is zone 2?", 3, 40);
    turn = turn.substring(0, turn.length() - 2) + ", \"interpreter\": {\"replay\": "
        + pythonString("{\"action\": \"answer_question\", \"question\": \"What is zone 2?\"}")
        + "}, \"explainer\": {\"replay\": \"Easy.\"}}}";
    try (JosiCoach withCards = JosiCoach.open(options)) {
      String result = withCards.turn(turn, null);
      assertTrue(result.contains("\"route\": \"explainer\""), result);
      assertTrue(result.contains("\"knowledge\": [{\"id\": \"running__overview\", \"score\": 3.5}, {\"id\": \"zones__overview\", \"score\": 3.5}]"), result);
    }
    options.preset = "v6";
    try (JosiCoach v6 = JosiCoach.open(options)) {
      assertTrue(v6.turn(turn, null).contains("\"preset\": \"v6\", \"layout\": \"v6\""));
    }
    options.preset = "v7";
    assertSame(JosiException.Status.ARGUMENT, assertThrows(JosiException.class, () -> JosiCoach.open(options)).status());
    options.preset = null;
    Path bad = DIR.resolve("bad-knowledge.json");
    Files.writeString(bad, "{\"version\": \"v6\", \"entries\": 3}");
    options.knowledgePath = bad.toString();
    JosiException e = assertThrows(JosiException.class, () -> JosiCoach.open(options));
    assertSame(JosiException.Status.MODEL, e.status());
    assertTrue(e.getMessage().contains("bad-knowledge.json"), e.getMessage());
  }

  @Test
  void aQ8_0KvCacheRunsTheTurnAndAnUnknownTypeIsRefused() throws Exception {
    JosiCoach.Options options = new JosiCoach.Options(MODEL);
    options.threads = 2;
    options.kvType = "q8_0";
    try (JosiCoach coach = JosiCoach.open(options)) {
      assertTrue(coach.turn(turnJson("I want to do a 45 minute run today", 3, 40), null).contains("\"route\": "));
    }
    options.kvType = "q4_0";
    JosiException e = assertThrows(JosiException.class, () -> JosiCoach.open(options));
    assertSame(JosiException.Status.ARGUMENT, e.status());
    assertTrue(e.getMessage().contains("kv_type"), e.getMessage());
  }

  @Test
  void theSameTurnAgainReusesTheConversationAndForgetDropsIt() throws Exception {
    String turn = turnJson("Why is my session easy today?", 5, 40);
    String first = coach.turn(turn, null);
    String again = coach.turn(turn, null);
    assertEquals(withoutTimings(first), withoutTimings(again));
    assertTrue(again.contains("\"cache\": {\"interpreter\": {\"reused\": "), again);
    assertTrue(again.contains("\"evaluated\": 1, "), again);
    coach.forget();
    String afterForget = coach.turn(turn, null);
    assertEquals(withoutTimings(first), withoutTimings(afterForget));
    assertFalse(afterForget.contains("\"evaluated\": 1, "), afterForget);
  }

  @Test
  void closeCancelsARunningTurnAndIsIdempotent() throws Exception {
    JosiCoach.Options options = new JosiCoach.Options(MODEL);
    options.cacheDir = DIR.resolve("cache").toString();
    JosiCoach second = JosiCoach.open(options);
    CountDownLatch streaming = new CountDownLatch(1);
    AtomicReference<Throwable> turnError = new AtomicReference<>();
    // The interpreter's answer replayed, so the explainer runs whatever the random model would choose.
    String question = turnJson("Why is my session easy today?", 6, 200);
    String turn = question.substring(0, question.length() - 2) + ", \"interpreter\": {\"replay\": "
        + pythonString("{\"action\": \"answer_question\", \"question\": \"Why is my session easy today?\"}") + "}}}";
    Thread turning = new Thread(() -> {
      try {
        second.turn(turn, piece -> {
          streaming.countDown();
          sleep(20);
        });
      } catch (Throwable t) {
        turnError.set(t);
      }
    });
    turning.start();
    assertTrue(streaming.await(60, TimeUnit.SECONDS));
    second.close(); // returns once the native turn has ended
    // The Java thread still unwinds from the native call and stores its
    // exception; a turn left running would stream for seconds more (200
    // pieces, 20 ms each).
    turning.join(1000);
    assertFalse(turning.isAlive());
    assertTrue(turnError.get() instanceof JosiException, String.valueOf(turnError.get()));
    assertSame(JosiException.Status.CANCELLED, ((JosiException) turnError.get()).status());
    second.close();
    assertThrows(IllegalStateException.class, () -> second.turn(turn, null));
    second.cancel();
    assertTrue(Files.list(DIR.resolve("cache")).findAny().isPresent(), "the prefix cache was written");
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
