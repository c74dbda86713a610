#!/usr/bin/env bash
# Make sure LibreOffice Writer (headless) is installed for the document-format tests
# (tests/test_readers.py builds Word and PDF versions of the test documents with it), with the
# CJK font for the Chinese documents. About 150 MB of Debian packages, a minute or two.
set -euo pipefail
. "$(dirname "$0")/apt.sh"
missing=()
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui)
fc-list 2>/dev/null | grep -qi "noto serif cjk" || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "install LibreOffice yourself (soffice on PATH); without it the format tests are skipped" "${missing[@]}"
fi
echo "LibreOffice ready: $(soffice --version 2>/dev/null | head -1)"
