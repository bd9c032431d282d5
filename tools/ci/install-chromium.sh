#!/usr/bin/env bash
# Installs Debian's Chromium and its WebDriver when missing: the approval page is tested in a
# real headless browser (tests/integration/test_approval_page_browser.py), driven by Selenium.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "chromium: present"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "chromium: missing; run as root (apt-get install chromium chromium-driver)" >&2
    exit 1
fi
echo "chromium: installing Debian's chromium and chromium-driver"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver >/dev/null
