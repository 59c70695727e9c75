#!/usr/bin/env bash
# Runs every test suite: the xunit suite (dotnet test) and, where pwsh exists, the Pester suite.
# Installs what the tests need when missing: haproxy, openssl, Graphviz and Node.js (Debian packages), tree-sitter and
# tree-sitter-powershell (npm, for the static PowerShell check); packs the module and the dotnet tool first (the
# packaging tests open the packages). kubectl is expected on PATH (it is on these machines).
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

config="${CONFIGURATION:-Release}"
export CONFIGURATION="$config"

echo "test.sh: installing the static-check packages (npm ci tests/static)"
npm ci --no-audit --no-fund --prefix tests/static >/dev/null
echo "test.sh: assembling and packing the module (tools/package.sh)"
./tools/package.sh
results="$(pwd)/TestResults"
rm -rf "$results"

status=0
dotnet test MeshFederation.sln -c "$config" --logger "trx;LogFileName=xunit.trx" --results-directory "$results" || status=$?

passed=0; failed=0
if [ -f "$results/xunit.trx" ]; then
  counters=$(grep -o '<Counters [^>]*>' "$results/xunit.trx" | head -1)
  passed=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
  failed=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
fi

if command -v pwsh >/dev/null 2>&1; then
  echo "test.sh: running the Pester suite"
  version=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)
  MESHFED_MODULE_PATH="$(pwd)/out/MeshFederation/$version/MeshFederation.psd1" \
    pwsh -NoProfile -NonInteractive -Command '
      if (-not (Get-Module -ListAvailable Pester | Where-Object Version -ge 5.5)) { Install-Module Pester -MinimumVersion 5.5 -Force -Scope CurrentUser -SkipPublisherCheck }
      $c = New-PesterConfiguration; $c.Run.Path = "tests/pester"; $c.Run.PassThru = $true; $c.Output.Verbosity = "Detailed"
      $r = Invoke-Pester -Configuration $c
      "pester-counts {0} {1}" -f $r.PassedCount, $r.FailedCount
      exit $r.FailedCount' | tee "$results/pester.log" || status=$?
  read -r pp pf < <(grep -o 'pester-counts [0-9]* [0-9]*' "$results/pester.log" | awk '{print $2, $3}') || true
  passed=$((passed + ${pp:-0})); failed=$((failed + ${pf:-0}))
else
  echo "test.sh: pwsh is not installed; the Pester suite (tests/pester) runs wherever it is"
fi

if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then status=1; echo "test.sh: no test ran"; fi
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
