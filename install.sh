#!/bin/sh
# Installs llmload from a GitHub release: picks the binary for this OS and CPU, checks it against
# the release's SHA256SUMS, and puts it in ~/.local/bin (or PREFIX/bin).
#
#   curl -fsSL https://github.com/OWNER/llmload/releases/latest/download/install.sh | sh
#   sh install.sh [--prefix DIR] [--version vX.Y.Z]
#
# Environment: LLMLOAD_INSTALL_PREFIX (as --prefix), LLMLOAD_INSTALL_VERSION (as --version),
# LLMLOAD_INSTALL_REPO (owner/name on GitHub), LLMLOAD_INSTALL_BASE_URL (where the release
# assets are, overriding the repository and version: a mirror, or a test server).
set -eu

# The release workflow writes its repository here in the copy it attaches to a release.
repo="${LLMLOAD_INSTALL_REPO:-OWNER/llmload}"
prefix="${LLMLOAD_INSTALL_PREFIX:-${HOME:-}/.local}"
version="${LLMLOAD_INSTALL_VERSION:-latest}"

fail() {
  echo "install.sh: $*" >&2
  exit 1
}

usage() {
  echo "Usage: install.sh [--prefix DIR] [--version vX.Y.Z]"
  echo "Installs the llmload binary into DIR/bin (default: ~/.local/bin)."
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || fail "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --version) [ $# -ge 2 ] || fail "--version needs a release tag such as v0.1.0"; version="$2"; shift 2 ;;
    --version=*) version="${1#--version=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) fail "Unknown option '$1': expected --prefix DIR or --version vX.Y.Z" ;;
  esac
done
[ -n "$prefix" ] || fail "Cannot tell where to install: HOME is not set; pass --prefix DIR"

# The release target triple of this machine, or an explanation of why there is none.
detect_target() {
  os="$(uname -s)"
  arch="$(uname -m)"
  case "$arch" in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
  esac
  case "$os" in
    Linux)
      # deno compile binaries need glibc; musl systems (Alpine) cannot run them.
      for loader in /lib/ld-musl-*; do
        [ -e "$loader" ] || continue
        fail "Cannot install llmload on this Linux: it uses musl libc, and the release binaries need glibc; run the container image (ghcr.io/${repo}) or build from source with Deno"
      done
      case "$arch" in
        x86_64 | aarch64) echo "${arch}-unknown-linux-gnu"; return ;;
      esac
      ;;
    Darwin)
      # A shell under Rosetta reports x86_64 on Apple silicon; the native binary is better.
      if [ "$arch" = x86_64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then
        arch=aarch64
      fi
      case "$arch" in
        x86_64 | aarch64) echo "${arch}-apple-darwin"; return ;;
      esac
      ;;
    MINGW* | MSYS* | CYGWIN* | Windows_NT)
      fail "Cannot install with install.sh on Windows: download llmload-x86_64-pc-windows-msvc.exe and SHA256SUMS from the release page, and compare (Get-FileHash llmload-x86_64-pc-windows-msvc.exe).Hash with its line in SHA256SUMS"
      ;;
  esac
  fail "Cannot install llmload on ${os} ${arch}: release binaries exist for Linux (x86_64, aarch64; glibc), macOS (x86_64, arm64) and Windows (x86_64); on other platforms build from source with Deno (see the README)"
}

# Downloads $1 to the file $2.
download() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 2 -o "$2" "$1" || fail "Cannot download $1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1" || fail "Cannot download $1"
  else
    fail "Cannot download $1: neither curl nor wget is installed"
  fi
}

# Prints the SHA-256 of the file $1.
sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    fail "Cannot check the download: none of sha256sum, shasum or openssl is installed"
  fi
}

target="$(detect_target)"
asset="llmload-${target}"
if [ -n "${LLMLOAD_INSTALL_BASE_URL:-}" ]; then
  base_url="${LLMLOAD_INSTALL_BASE_URL%/}"
elif [ "$version" = latest ]; then
  base_url="https://github.com/${repo}/releases/latest/download"
else
  base_url="https://github.com/${repo}/releases/download/${version}"
fi

tmp="$(mktemp -d 2>/dev/null || mktemp -d -t llmload)"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

echo "Downloading ${asset} from ${base_url}" >&2
download "${base_url}/SHA256SUMS" "${tmp}/SHA256SUMS"
download "${base_url}/${asset}" "${tmp}/${asset}"

# SHA256SUMS lines are "<hash>  <name>" (or "<hash> *<name>" in binary mode).
expected="$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "${tmp}/SHA256SUMS")"
[ -n "$expected" ] || fail "Cannot check ${asset}: SHA256SUMS has no line for it"
actual="$(sha256_of "${tmp}/${asset}")"
if [ "$actual" != "$expected" ]; then
  fail "Checksum mismatch for ${asset}: SHA256SUMS says ${expected}, the download is ${actual}; not installing it"
fi

bin_dir="${prefix}/bin"
mkdir -p "$bin_dir" || fail "Cannot create ${bin_dir}"
chmod 755 "${tmp}/${asset}"
# Copy next to the destination, then rename: a running llmload is never half overwritten.
cp "${tmp}/${asset}" "${bin_dir}/.llmload.new" || fail "Cannot write to ${bin_dir}"
mv -f "${bin_dir}/.llmload.new" "${bin_dir}/llmload" || fail "Cannot write to ${bin_dir}"

echo "Installed ${asset} (sha256 ${actual}) as ${bin_dir}/llmload" >&2
case ":${PATH:-}:" in
  *":${bin_dir}:"*) ;;
  *) echo "${bin_dir} is not on your PATH; add it, e.g. export PATH=\"${bin_dir}:\$PATH\"" >&2 ;;
esac
