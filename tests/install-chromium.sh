#!/usr/bin/env bash
# Install Debian's Chromium and its WebDriver (chromedriver) for the dashboard
# browser test (tests/tests/dashboard_browser.rs), plus one small CJK font so
# the screenshots under target/browser-screenshots/ show Chinese text rather
# than empty boxes. Does nothing when all three are already there. Uses sudo
# only when not running as root.
set -euo pipefail

font=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && [ -f "$font" ]; then
    echo "chromium, chromedriver and a CJK font are already installed"
else
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver fonts-wqy-microhei >/dev/null
fi

# (Debian's /usr/bin/chromium wrapper may print a harmless shell warning.)
/usr/bin/chromium --version 2>/dev/null
/usr/bin/chromedriver --version
