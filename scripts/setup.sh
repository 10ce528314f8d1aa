#!/usr/bin/env bash
# Installs the system packages mqscope builds and tests with, only those still missing.
# Idempotent; needs root (or sudo) on Debian/Ubuntu. Safe to run on every build.
set -euo pipefail

packages=(
  # building the capture crate (pcap crate links libpcap)
  libpcap-dev pkg-config
  # tests: tshark is the decoding oracle; a real broker and real clients; live capture on lo
  tshark mosquitto mosquitto-clients tcpdump
  # the GUI in a real window under Xvfb, and its screenshot
  xvfb xauth libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 libx11-6 libx11-xcb1 libxcursor1
  libxi6 libxrandr2 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 imagemagick xdotool
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found. mqscope needs Rust 1.95 (rustup: https://rustup.rs)." >&2
  exit 2
fi
