# Installs the Debian packages Josi builds and tests with, only those missing.
# Sourced by scripts/test.sh and scripts/demo.sh; safe to run again.

JOSI_DEBIAN_PACKAGES=(
  cmake ninja-build g++ pkg-config
  nlohmann-json3-dev libvalijson-dev libcli11-dev libfmt-dev libpcre2-dev
  libgtest-dev json-schema-test-suite
)

josi_install_deps() {
  local missing=()
  for pkg in "${JOSI_DEBIAN_PACKAGES[@]}"; do
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

# Configures and builds into $1 with build type $2.
josi_build() {
  local dir="$1" type="$2"
  cmake -S "$JOSI_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" -DJOSI_WERROR=ON >/dev/null
  ninja -C "$dir" "${@:3}"
}
