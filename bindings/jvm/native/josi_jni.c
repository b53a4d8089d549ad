/* libjosi_jni: the native methods of dev.josi.JosiCoach over libjosi's C API.
 * Strings cross as UTF-8 byte arrays (see JosiCoach.utf8); a failed call
 * throws dev.josi.JosiException with libjosi's status and message. */
#include <jni.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "josi/josi.h"

static jclass coach_class;     /* dev.josi.JosiCoach */
static jmethodID deliver;      /* JosiCoach.deliver(TextListener, byte[]) */
static jclass exception_class; /* dev.josi.JosiException */
static jmethodID from_native;  /* JosiException.fromNative(int, byte[]) */

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM* vm, void* reserved) {
  (void)reserved;
  JNIEnv* env;
  if ((*vm)->GetEnv(vm, (void**)&env, JNI_VERSION_1_6) != JNI_OK) return JNI_ERR;
  jclass coach = (*env)->FindClass(env, "dev/josi/JosiCoach");
  jclass exception = coach ? (*env)->FindClass(env, "dev/josi/JosiException") : NULL;
  if (!exception) return JNI_ERR;
  coach_class = (*env)->NewGlobalRef(env, coach);
  exception_class = (*env)->NewGlobalRef(env, exception);
  deliver = (*env)->GetStaticMethodID(env, coach, "deliver", "(Ldev/josi/TextListener;[B)V");
  from_native = (*env)->GetStaticMethodID(env, exception, "fromNative", "(I[B)Ldev/josi/JosiException;");
  if (!coach_class || !exception_class || !deliver || !from_native) return JNI_ERR;
  return JNI_VERSION_1_6;
}

static jbyteArray byte_array(JNIEnv* env, const char* text) {
  const jsize size = (jsize)strlen(text);
  jbyteArray bytes = (*env)->NewByteArray(env, size);
  if (bytes) (*env)->SetByteArrayRegion(env, bytes, 0, size, (const jbyte*)text);
  return bytes; /* NULL with OutOfMemoryError pending */
}

static void throw_status(JNIEnv* env, josi_status status, const char* message) {
  if ((*env)->ExceptionCheck(env)) return; /* one already pending says more */
  jbyteArray bytes = byte_array(env, message);
  if (!bytes) return;
  jobject exception = (*env)->CallStaticObjectMethod(env, exception_class, from_native, (jint)status, bytes);
  if (exception) (*env)->Throw(env, (jthrowable)exception);
}

/* A NUL-terminated copy of a Java byte[] (NULL for null), or NULL with an
 * exception pending. C strings end at the first NUL, so one inside is refused. */
static char* c_string(JNIEnv* env, jbyteArray bytes, const char* what, josi_status status, int* failed) {
  *failed = 0;
  if (!bytes) return NULL;
  const jsize size = (*env)->GetArrayLength(env, bytes);
  char* text = malloc((size_t)size + 1);
  if (!text) {
    throw_status(env, JOSI_ERR_INTERNAL, "out of memory");
    *failed = 1;
    return NULL;
  }
  (*env)->GetByteArrayRegion(env, bytes, 0, size, (jbyte*)text);
  text[size] = '\0';
  if (memchr(text, '\0', (size_t)size)) {
    char message[128];
    snprintf(message, sizeof message, "%s: contains a NUL character", what);
    throw_status(env, status, message);
    free(text);
    *failed = 1;
    return NULL;
  }
  return text;
}

/* A call's string result as a byte[] (and frees it), or NULL with the
 * call's error thrown. */
static jbyteArray take_result(JNIEnv* env, josi_status status, char* result, const char* error) {
  jbyteArray bytes = NULL;
  if (status == JOSI_OK) {
    bytes = byte_array(env, result);
  } else {
    throw_status(env, status, error);
  }
  josi_string_free(result);
  return bytes;
}

JNIEXPORT jstring JNICALL Java_dev_josi_JosiCoach_nativeVersion(JNIEnv* env, jclass cls) {
  (void)cls;
  return (*env)->NewStringUTF(env, josi_version()); /* ASCII */
}

JNIEXPORT jlong JNICALL Java_dev_josi_JosiCoach_nativeOpen(JNIEnv* env, jclass cls, jbyteArray interpreter_model,
                                                         jbyteArray explainer_model, jbyteArray interpreter_prompt,
                                                         jbyteArray explainer_prompt, jbyteArray cache_dir,
                                                         jbyteArray interpreter_adapter, jbyteArray explainer_adapter,
                                                         jbyteArray knowledge_path, jbyteArray preset,
                                                         jbyteArray kv_type, jint threads, jint context_length) {
  (void)cls;
  jbyteArray arrays[10] = {interpreter_model, explainer_model, interpreter_prompt, explainer_prompt, cache_dir,
                           interpreter_adapter, explainer_adapter, knowledge_path, preset, kv_type};
  static const char* names[10] = {"interpreterModel", "explainerModel",    "interpreterPrompt", "explainerPrompt",
                                  "cacheDir",         "interpreterAdapter", "explainerAdapter",  "knowledgePath",
                                  "preset",           "kvType"};
  char* strings[10] = {0};
  int failed = 0;
  for (int i = 0; i < 10 && !failed; ++i) strings[i] = c_string(env, arrays[i], names[i], JOSI_ERR_ARGUMENT, &failed);
  josi_coach* coach = NULL;
  if (!failed) {
    josi_options options;
    josi_options_init(&options);
    options.interpreter_model = strings[0];
    options.explainer_model = strings[1];
    options.interpreter_prompt = strings[2];
    options.explainer_prompt = strings[3];
    options.cache_dir = strings[4];
    options.interpreter_adapter = strings[5];
    options.explainer_adapter = strings[6];
    options.knowledge_path = strings[7];
    options.preset = strings[8];
    options.kv_type = strings[9];
    options.n_threads = threads;
    options.n_ctx = context_length;
    const josi_status status = josi_coach_open(&options, &coach);
    if (status != JOSI_OK) throw_status(env, status, josi_coach_last_error(NULL));
  }
  for (int i = 0; i < 10; ++i) free(strings[i]);
  return (jlong)(intptr_t)coach;
}

struct listener {
  JNIEnv* env;
  jobject listener;
};

/* Hands a piece to the Java listener; an exception it throws ends the turn
 * and stays pending, so turn() rethrows it. */
static int on_text(const char* piece, void* user) {
  struct listener* l = user;
  JNIEnv* env = l->env;
  if ((*env)->ExceptionCheck(env)) return 1; /* no JNI call while one is pending */
  jbyteArray bytes = byte_array(env, piece);
  if (bytes) {
    (*env)->CallStaticVoidMethod(env, coach_class, deliver, l->listener, bytes);
    (*env)->DeleteLocalRef(env, bytes);
  }
  return (*env)->ExceptionCheck(env) ? 1 : 0;
}

JNIEXPORT jbyteArray JNICALL Java_dev_josi_JosiCoach_nativeTurn(JNIEnv* env, jclass cls, jlong handle,
                                                              jbyteArray turn_json, jobject listener) {
  (void)cls;
  josi_coach* coach = (josi_coach*)(intptr_t)handle;
  int failed;
  char* turn = c_string(env, turn_json, "turnJson", JOSI_ERR_INPUT, &failed);
  if (failed) return NULL;
  struct listener l = {env, listener};
  char* result = NULL;
  const josi_status status = josi_coach_turn(coach, turn, listener ? on_text : NULL, &l, &result);
  free(turn);
  return take_result(env, status, result, josi_coach_last_error(coach));
}

JNIEXPORT void JNICALL Java_dev_josi_JosiCoach_nativeCancel(JNIEnv* env, jclass cls, jlong handle) {
  (void)env, (void)cls;
  josi_coach_cancel((josi_coach*)(intptr_t)handle);
}

JNIEXPORT void JNICALL Java_dev_josi_JosiCoach_nativeForget(JNIEnv* env, jclass cls, jlong handle) {
  (void)env, (void)cls;
  josi_coach_forget((josi_coach*)(intptr_t)handle);
}

JNIEXPORT void JNICALL Java_dev_josi_JosiCoach_nativeClose(JNIEnv* env, jclass cls, jlong handle) {
  (void)env, (void)cls;
  josi_coach_close((josi_coach*)(intptr_t)handle);
}

JNIEXPORT jbyteArray JNICALL Java_dev_josi_JosiCoach_nativeMemoryUpdate(JNIEnv* env, jclass cls, jbyteArray memory_json,
                                                                      jbyteArray history_json) {
  (void)cls;
  int failed;
  char* memory = c_string(env, memory_json, "memoryJson", JOSI_ERR_INPUT, &failed);
  if (failed) return NULL;
  char* history = c_string(env, history_json, "historyJson", JOSI_ERR_INPUT, &failed);
  if (failed) {
    free(memory);
    return NULL;
  }
  char* merged = NULL;
  const josi_status status = josi_memory_update(memory, history, &merged);
  free(memory);
  free(history);
  return take_result(env, status, merged, josi_coach_last_error(NULL));
}
