#!/usr/bin/env bash
# Runs every test suite: the xunit suite (dotnet test) and the Pester suite (always; pwsh and Pester are installed here).
# Installs what the tests need when missing: haproxy, openssl, Graphviz, clang and zlib1g-dev (Debian packages), pwsh and
# Pester (below); packs the module and the dotnet tool and builds the native meshfed first (the packaging tests open the
# packages, the native CLI tests run out/cli/meshfed; Pester tests the assembled module).
# kubectl is expected on PATH (it is on these machines).
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v dot >/dev/null 2>&1 || need+=(graphviz)
# The native (AOT) meshfed that tools/package.sh builds links with clang against zlib.
command -v clang >/dev/null 2>&1 || need+=(clang)
[ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

config="${CONFIGURATION:-Release}"
export CONFIGURATION="$config"

# pwsh 7.6.9 (pinned) as a dotnet tool in a local tool path, and Pester 5.7.1 from NuGet (PSGallery is not reachable).
PWSH_VERSION=7.6.9
PESTER_VERSION=5.7.1
tooldir="$(pwd)/.tools/pwsh"
if [ -x "$tooldir/pwsh" ] && "$tooldir/pwsh" -v 2>/dev/null | grep -q "PowerShell $PWSH_VERSION"; then :; else
  echo "test.sh: installing pwsh $PWSH_VERSION (dotnet tool install --tool-path .tools/pwsh PowerShell)"
  rm -rf "$tooldir"
  dotnet tool install --tool-path "$tooldir" PowerShell --version "$PWSH_VERSION" >/dev/null
fi
PWSH="$tooldir/pwsh"
"$PWSH" -v | grep -q "PowerShell $PWSH_VERSION" || { echo "test.sh: pwsh $PWSH_VERSION did not install"; exit 1; }
nuget_root="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
PESTER_MODULE="$nuget_root/pester/$PESTER_VERSION/tools/Pester.psd1"
if [ ! -f "$PESTER_MODULE" ] || [ ! -d "$nuget_root/yamldotnet/18.1.0" ]; then
  echo "test.sh: restoring Pester $PESTER_VERSION and YamlDotNet 18.1.0 from NuGet (tools/pester/PesterRestore.csproj)"
  dotnet restore tools/pester/PesterRestore.csproj --nologo -v quiet >/dev/null
fi
[ -f "$PESTER_MODULE" ] || { echo "test.sh: Pester $PESTER_VERSION is missing at $PESTER_MODULE"; exit 1; }
export PWSH

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

echo "test.sh: running the Pester suite (pwsh $("$PWSH" -NoProfile -Command '$PSVersionTable.PSVersion.ToString()'), Pester $PESTER_VERSION)"
version=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)
pester_status=0
MESHFED_MODULE_PATH="$(pwd)/out/MeshFederation/$version/MeshFederation.psd1" PESTER_MODULE="$PESTER_MODULE" PESTER_RESULTS="$results" \
  "$PWSH" -NoProfile -NonInteractive -File tests/pester/Invoke-PesterSuite.ps1 2>&1 | tee "$results/pester.log" || pester_status=$?
[ "$pester_status" -ne 0 ] && status=$pester_status
pp=0; pf=0
if grep -q 'pester-counts' "$results/pester.log"; then
  read -r pp pf < <(grep -o 'pester-counts [0-9]* [0-9]*' "$results/pester.log" | tail -1 | awk '{print $2, $3}')
else
  echo "test.sh: the Pester suite did not report its counts"; status=1
fi
[ "${pf:-0}" -gt 0 ] && status=1
passed=$((passed + ${pp:-0})); failed=$((failed + ${pf:-0}))

# CI shows only the tail of the output: name the failed xunit tests here again (the Pester suite repeats its own above).
if [ "${failed:-0}" -gt 0 ] && [ -f "$results/xunit.trx" ]; then
  echo "xunit-failures:"
  grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$results/xunit.trx" | sed -E 's/.*testName="([^"]*)".*/  [-] \1/' | head -50 || true
fi
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then status=1; echo "test.sh: no test ran"; fi
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
